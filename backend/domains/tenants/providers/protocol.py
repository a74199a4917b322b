"""The tenant workflows' side effects, each behind a small protocol. Every call is idempotent,
keyed by tenant id: creating what exists returns it, removing what is gone is a no-op."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from pydantic import BaseModel, Field

from backend.domains.tenants.model import TenantPlan, TenantRegion

Progress = Callable[[int, int], None]
"""Called with (done, total) as a long operation moves (the activity heartbeats it)."""


class TenantRef(BaseModel):
    """What providers know of a tenant."""

    tenant_id: str
    name: str
    plan: TenantPlan
    region: TenantRegion
    admin_email: str


class IdpOrganization(BaseModel):
    """An organization (Auth0) or realm (Keycloak) for one tenant."""

    id: str
    name: str
    provider: str


class InfrastructureStack(BaseModel):
    """What provisioning the tenant's infrastructure made."""

    stack_id: str
    resources: list[str] = Field(default_factory=list)
    outputs: dict[str, str] = Field(default_factory=dict)


class Deployment(BaseModel):
    """The tenant's running application."""

    deployment_id: str
    version: str
    url: str


class DnsRecord(BaseModel):
    """One DNS record of the tenant."""

    name: str
    type: str
    value: str


class Backup(BaseModel):
    """A backup of the tenant's data."""

    location: str
    size_bytes: int
    created_at: datetime


class Email(BaseModel):
    """One notification e-mail."""

    key: str
    """Idempotency key (workflow id + purpose): the same key is delivered once."""
    to: list[str]
    subject: str
    body: str


class ProviderError(Exception):
    """A provider call failed in a way a retry may fix."""


class PermanentProviderError(Exception):
    """A provider refused the call for good (bad configuration, bad input): do not retry."""


class IdentityProvider(Protocol):
    """Creates and deletes the tenant's organization in the IdP (Auth0 org / Keycloak realm)."""

    async def create_organization(self, tenant: TenantRef) -> IdpOrganization:
        """The tenant's organization, created unless it exists."""
        ...

    async def delete_organization(self, tenant: TenantRef) -> bool:
        """Delete the tenant's organization; True when this call removed it."""
        ...


class Infrastructure(Protocol):
    """Provisions and destroys the tenant's infrastructure (Terraform in production)."""

    async def provision(self, tenant: TenantRef, progress: Progress) -> InfrastructureStack:
        """Apply the tenant's stack (idempotent); reports (done, total) as it goes."""
        ...

    async def destroy(self, tenant: TenantRef, progress: Progress) -> bool:
        """Destroy the tenant's stack; True when something was removed."""
        ...


class Deployments(Protocol):
    """Deploys, rolls back and removes the tenant's application."""

    async def deploy(self, tenant: TenantRef, progress: Progress) -> Deployment:
        """Deploy the application (idempotent)."""
        ...

    async def rollback(self, tenant: TenantRef) -> bool:
        """Undo a deployment made by provisioning; True when something was removed."""
        ...

    async def remove(self, tenant: TenantRef) -> bool:
        """Remove the running application; True when something was removed."""
        ...


class Dns(Protocol):
    """The tenant's DNS records."""

    async def configure(self, tenant: TenantRef) -> list[DnsRecord]:
        """Create the tenant's records (idempotent)."""
        ...

    async def remove(self, tenant: TenantRef) -> int:
        """Remove the tenant's records; how many were removed."""
        ...


class TenantResources(Protocol):
    """The tenant's resource records (the tenant database's rows for its resources)."""

    async def create(self, tenant: TenantRef) -> list[str]:
        """Create the resource records (idempotent); their names."""
        ...

    async def delete(self, tenant: TenantRef) -> int:
        """Delete the resource records; how many were deleted."""
        ...


class Notifier(Protocol):
    """Sends notification e-mails (welcome, failure, deprovisioning notice)."""

    async def send(self, email: Email) -> str:
        """Deliver the e-mail once per key; its message id."""
        ...


class Backups(Protocol):
    """Backs up the tenant's data before it is removed."""

    async def backup(self, tenant: TenantRef) -> Backup:
        """Write a backup of the tenant's data; where it is."""
        ...
