"""Inputs and results of the tenant activities, and what the tenant workflows return.

Kept beside the contract (`messages.py`) rather than in it: these only cross the boundary between
the tenant workflows and their own activities.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from backend.domains.tenants.messages import TenantDeprovisionParams, TenantProvisionParams
from backend.domains.tenants.model import TenantStatus
from backend.domains.tenants.providers.protocol import DnsRecord, TenantRef


class StatusUpdate(BaseModel):
    """updateTenantStatus input: the status the workflow is about to put the tenant in."""

    tenant_id: str
    status: TenantStatus


class WelcomeInput(BaseModel):
    """sendWelcomeEmail input: the tenant and where it can be reached."""

    tenant: TenantRef
    domain: str
    idp_organization: str


class FailureNotice(BaseModel):
    """sendProvisioningFailedEmail input: the tenant and why provisioning failed."""

    tenant: TenantRef
    reason: str


class DeprovisionNotice(BaseModel):
    """sendDeprovisioningNotification input: the tenant and when removal starts."""

    tenant: TenantRef
    removal_after: datetime | None = None
    """End of the grace period; None when removal starts at once."""


class DnsResult(BaseModel):
    """What configureDns made."""

    records: list[DnsRecord] = Field(default_factory=list)

    @property
    def domain(self) -> str:
        """The tenant's DNS name (its address record)."""
        named = [r.name for r in self.records if r.type in ("A", "AAAA", "CNAME")]
        return named[0] if named else (self.records[0].name if self.records else "")


class ResourcesResult(BaseModel):
    """What createResources made."""

    names: list[str] = Field(default_factory=list)


class RemovalResult(BaseModel):
    """What a removal (compensation or deprovision step) took away; 0 when nothing was left."""

    removed: int


class EmailResult(BaseModel):
    """A notification e-mail handed over for delivery."""

    message_id: str


class TenantResult(BaseModel):
    """How a tenant workflow ended."""

    tenant_id: str
    status: TenantStatus
    reason: str | None = None


def tenant_ref(params: TenantProvisionParams | TenantDeprovisionParams) -> TenantRef:
    """What providers are told about the tenant a workflow works on."""
    return TenantRef(
        tenant_id=params.tenant_id,
        name=params.name,
        plan=params.plan,
        region=params.region,
        admin_email=params.admin_email,
    )
