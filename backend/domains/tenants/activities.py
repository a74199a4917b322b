"""Tenant activities (the spec's activity names): each idempotent, keyed by tenant id.

They call the providers (sandbox or real adapters) and never write the API's database: the
tenant's status travels with the workflow's status reports, and `updateTenantStatus` claims the
tenant for its workflow through the same status path. E-mails are keyed by workflow run and
purpose, so a retried activity never sends one twice.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from temporalio import activity
from temporalio.exceptions import ApplicationError

from backend.domain.status import ClaimRequest
from backend.domains.tenants.model import TENANT_KIND
from backend.domains.tenants.payloads import (
    DeprovisionNotice,
    DnsResult,
    EmailResult,
    FailureNotice,
    RemovalResult,
    ResourcesResult,
    StatusUpdate,
    WelcomeInput,
)
from backend.domains.tenants.providers.protocol import (
    Backup,
    Backups,
    Deployment,
    Deployments,
    Dns,
    Email,
    IdentityProvider,
    IdpOrganization,
    Infrastructure,
    InfrastructureStack,
    Notifier,
    PermanentProviderError,
    ProviderError,
    TenantRef,
    TenantResources,
)
from backend.providers.faults import FaultPlan
from backend.providers.status import StatusSink
from backend.workflows.activity_steps import StepActivities, beat, step
from backend.workflows.platform_activities import claim

PERMANENT_PROVIDER_ERROR = "PermanentProviderError"
"""ApplicationError type of a provider's refusal for good (never retried)."""
PROVIDER_ERROR = "ProviderError"

UPDATE_TENANT_STATUS = "updateTenantStatus"


@dataclass
class TenantDependencies:
    """What the tenant activities are built with (no globals)."""

    status: StatusSink
    identity: IdentityProvider
    infrastructure: Infrastructure
    deployments: Deployments
    dns: Dns
    resources: TenantResources
    notifier: Notifier
    backups: Backups
    faults: FaultPlan


class TenantActivities(StepActivities):
    """The activities of both tenant workflows, bound to their providers."""

    def __init__(self, deps: TenantDependencies) -> None:
        super().__init__(deps.faults)
        self._deps = deps

    # -- status ----------------------------------------------------------------------------

    @step(UPDATE_TENANT_STATUS)
    async def update_tenant_status(self, data: StatusUpdate) -> None:
        """Claim the tenant for this workflow before it enters `status` (the status itself
        travels with the workflow's report); refused when another workflow owns it."""
        await claim(
            self._deps.status,
            ClaimRequest(
                kind=TENANT_KIND, entity_id=data.tenant_id, workflow_id=activity.info().workflow_id
            ),
        )
        activity.logger.info("tenant %s: %s", data.tenant_id, data.status.value)

    # -- provisioning ----------------------------------------------------------------------

    @step("createIdPOrganization", fault="idp")
    async def create_idp_organization(self, tenant: TenantRef) -> IdpOrganization:
        """The tenant's IdP organization (Auth0 org / Keycloak realm), made unless it exists."""
        with _provider_errors():
            return await self._deps.identity.create_organization(tenant)

    @step("provisionInfrastructure", fault="infrastructure")
    async def provision_infrastructure(self, tenant: TenantRef) -> InfrastructureStack:
        """Apply the tenant's infrastructure stack, heartbeating how far it got."""
        with _provider_errors():
            return await self._deps.infrastructure.provision(tenant, beat)

    @step("deployApplication", fault="deploy")
    async def deploy_application(self, tenant: TenantRef) -> Deployment:
        """Deploy the tenant's application, heartbeating its stages."""
        with _provider_errors():
            return await self._deps.deployments.deploy(tenant, beat)

    @step("configureDns", fault="dns")
    async def configure_dns(self, tenant: TenantRef) -> DnsResult:
        """Create the tenant's DNS records."""
        with _provider_errors():
            return DnsResult(records=await self._deps.dns.configure(tenant))

    @step("createResources", fault="resources")
    async def create_resources(self, tenant: TenantRef) -> ResourcesResult:
        """Create the tenant's resource records."""
        with _provider_errors():
            return ResourcesResult(names=await self._deps.resources.create(tenant))

    @step("sendWelcomeEmail", fault="welcome")
    async def send_welcome_email(self, data: WelcomeInput) -> EmailResult:
        """Welcome the tenant's admin (once per run)."""
        tenant = data.tenant
        return await self._send(
            "welcome",
            tenant.admin_email,
            f"Welcome to Flightdeck, {tenant.name}",
            f"Your tenant {tenant.name} ({tenant.plan.value}, {tenant.region.value}) is ready.\n"
            f"Address: https://{data.domain}\n"
            f"Sign-in organization: {data.idp_organization}\n",
        )

    # -- compensations and removal (shared by rollback and deprovisioning) -----------------

    @step("deleteResources", fault="delete_resources")
    async def delete_resources(self, tenant: TenantRef) -> RemovalResult:
        """Delete the tenant's resource records (nothing left: a no-op)."""
        with _provider_errors():
            return RemovalResult(removed=await self._deps.resources.delete(tenant))

    @step("removeDnsRecords", fault="remove_dns")
    async def remove_dns_records(self, tenant: TenantRef) -> RemovalResult:
        """Remove the tenant's DNS records."""
        with _provider_errors():
            return RemovalResult(removed=await self._deps.dns.remove(tenant))

    @step("rollbackDeployment", fault="rollback_deployment")
    async def rollback_deployment(self, tenant: TenantRef) -> RemovalResult:
        """Undo the deployment provisioning made."""
        with _provider_errors():
            return RemovalResult(removed=int(await self._deps.deployments.rollback(tenant)))

    @step("destroyInfrastructure", fault="destroy_infrastructure")
    async def destroy_infrastructure(self, tenant: TenantRef) -> RemovalResult:
        """Destroy the tenant's infrastructure stack, heartbeating how far it got."""
        with _provider_errors():
            return RemovalResult(removed=int(await self._deps.infrastructure.destroy(tenant, beat)))

    @step("deleteIdPOrganization", fault="delete_idp")
    async def delete_idp_organization(self, tenant: TenantRef) -> RemovalResult:
        """Delete the tenant's IdP organization."""
        with _provider_errors():
            return RemovalResult(removed=int(await self._deps.identity.delete_organization(tenant)))

    @step("sendProvisioningFailedEmail", fault="failure_email")
    async def send_provisioning_failed_email(self, data: FailureNotice) -> EmailResult:
        """Tell the tenant's admin that provisioning failed, and why (once per run)."""
        tenant = data.tenant
        return await self._send(
            "provisioning-failed",
            tenant.admin_email,
            f"Provisioning of {tenant.name} failed",
            f"Your tenant {tenant.name} could not be provisioned: {data.reason}\n"
            "Everything made for it so far has been removed.\n",
        )

    # -- deprovisioning --------------------------------------------------------------------

    @step("sendDeprovisioningNotification", fault="notify_users")
    async def send_deprovisioning_notification(self, data: DeprovisionNotice) -> EmailResult:
        """Tell the tenant's users it is being removed, and when (once per run)."""
        tenant = data.tenant
        when = (
            f"after {data.removal_after:%Y-%m-%d %H:%M} UTC"
            if data.removal_after is not None
            else "now"
        )
        return await self._send(
            "deprovisioning-notice",
            tenant.admin_email,
            f"Tenant {tenant.name} is being removed",
            f"Your tenant {tenant.name} is being deprovisioned; removal starts {when}.\n",
        )

    @step("backupTenantData", fault="backup")
    async def backup_tenant_data(self, tenant: TenantRef) -> Backup:
        """Back up the tenant's data before anything is removed."""
        with _provider_errors():
            return await self._deps.backups.backup(tenant)

    @step("removeDeployment", fault="remove_deployment")
    async def remove_deployment(self, tenant: TenantRef) -> RemovalResult:
        """Remove the tenant's running application."""
        with _provider_errors():
            return RemovalResult(removed=int(await self._deps.deployments.remove(tenant)))

    # -- helpers ---------------------------------------------------------------------------

    async def _send(self, purpose: str, to: str, subject: str, body: str) -> EmailResult:
        info = activity.info()
        email = Email(
            key=f"{info.workflow_id}/{info.workflow_run_id}/{purpose}",
            to=[to],
            subject=subject,
            body=body,
        )
        with _provider_errors():
            return EmailResult(message_id=await self._deps.notifier.send(email))


@contextmanager
def _provider_errors() -> Iterator[None]:
    """Provider errors as activity failures: a permanent one is never retried."""
    try:
        yield
    except PermanentProviderError as err:
        raise ApplicationError(str(err), type=PERMANENT_PROVIDER_ERROR, non_retryable=True) from err
    except ProviderError as err:
        raise ApplicationError(str(err), type=PROVIDER_ERROR) from err
