"""Tenant provisioning and deprovisioning with saga compensation (specs/tenant-provisioning-worker.md)."""
