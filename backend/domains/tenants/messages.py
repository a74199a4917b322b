"""Inputs, signals and activity payloads of the tenant workflows."""

from __future__ import annotations

from pydantic import BaseModel

from backend.domains.tenants.model import TenantPlan, TenantRegion

# Signals, by name (any Temporal client can send them).
CANCEL_PROVISIONING_SIGNAL = "CancelProvisioning"
SKIP_GRACE_SIGNAL = "SkipGracePeriod"
ABORT_DEPROVISION_SIGNAL = "AbortDeprovision"
RETRY_STEP_SIGNAL = "RetryStep"
RESOLVE_STEP_SIGNAL = "ResolveStep"


class TenantProvisionParams(BaseModel):
    """Input of TenantProvisionWorkflow."""

    tenant_id: str
    name: str
    plan: TenantPlan
    admin_email: str
    region: TenantRegion
    requested_by: str


class TenantDeprovisionParams(BaseModel):
    """Input of TenantDeprovisionWorkflow."""

    tenant_id: str
    name: str
    plan: TenantPlan
    admin_email: str
    region: TenantRegion
    grace_period_hours: int = 0
    backup: bool = True
    notify_users: bool = True
    requested_by: str


class ReasonSignal(BaseModel):
    """Payload of CancelProvisioning, SkipGracePeriod and AbortDeprovision."""

    reason: str
    actor: str
    signal_id: str | None = None


class InterventionSignal(BaseModel):
    """Payload of RetryStep and ResolveStep: a person answers a step that keeps failing."""

    actor: str
    comment: str = ""
    request_id: str | None = None
    """The intervention round answered; None answers the current one."""
    signal_id: str | None = None
