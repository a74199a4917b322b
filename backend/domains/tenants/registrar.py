"""The tenants registrar: both tenant workflows and their activities on the tenants task queue."""

from __future__ import annotations

import logging

from backend.domains.tenants.activities import TenantActivities, TenantDependencies
from backend.domains.tenants.deprovision_workflow import TenantDeprovisionWorkflow
from backend.domains.tenants.providers.config import (
    close_adapters,
    describe,
    identity_provider,
    load_tenant_provider_settings,
    notifier,
)
from backend.domains.tenants.providers.sandbox import (
    SandboxBackups,
    SandboxDeployments,
    SandboxDns,
    SandboxIdentityProvider,
    SandboxInfrastructure,
    SandboxNotifier,
    SandboxTenantResources,
    SandboxTenantWorld,
)
from backend.domains.tenants.provision_workflow import TenantProvisionWorkflow
from backend.workflows.registry import Registrar, WorkerContext

log = logging.getLogger(__name__)


def tenant_dependencies(context: WorkerContext) -> TenantDependencies:
    """The tenant activities' providers, built in this one place: the sandbox under the data
    dir, unless AUTH0_* / KEYCLOAK_* / FLIGHTDECK_SMTP_* / FLIGHTDECK_NOTIFY_WEBHOOK_URL choose
    a real IdP or notifier (a bad setting stops the worker at start with one readable line)."""
    settings = context.settings
    adapters = load_tenant_provider_settings()
    for line in describe(adapters):
        log.info("tenants: %s", line)
    world = SandboxTenantWorld(settings.paths.sandbox, settings.sandbox_step_seconds)
    return TenantDependencies(
        status=context.status,
        identity=identity_provider(adapters, sandbox=SandboxIdentityProvider(world)),
        infrastructure=SandboxInfrastructure(world),
        deployments=SandboxDeployments(world),
        dns=SandboxDns(world),
        resources=SandboxTenantResources(world),
        notifier=notifier(adapters, sandbox=SandboxNotifier(world)),
        backups=SandboxBackups(world),
        faults=context.faults,
    )


def new_registrar(context: WorkerContext) -> Registrar:
    """Build the tenants registrar with its dependencies."""
    deps = tenant_dependencies(context)

    async def close() -> None:
        await close_adapters(deps.identity, deps.notifier)

    return Registrar(
        name="tenants",
        task_queue=context.task_queue,
        workflows=[TenantProvisionWorkflow, TenantDeprovisionWorkflow],
        activities=TenantActivities(deps).all(),
        on_shutdown=[close],
    )
