"""Hosts and placement (specs/titan-placement-architecture.md): hosts, workloads, templates,
targets, deployments and assignments; the per-host change feed; the change processor."""
