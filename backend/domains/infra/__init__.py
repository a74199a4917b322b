"""Infra runs (specs/infra-provisioning-demo.md): terraform init, plan, policy, approval, apply."""
