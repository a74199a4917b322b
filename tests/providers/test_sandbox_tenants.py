"""Sandbox tenant providers persist what they make, once; removing twice is a no-op."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from backend.domains.tenants.model import TenantPlan, TenantRegion
from backend.domains.tenants.providers.protocol import Email, TenantRef
from backend.domains.tenants.providers.sandbox import (
    INFRASTRUCTURE,
    SandboxBackups,
    SandboxDeployments,
    SandboxDns,
    SandboxIdentityProvider,
    SandboxInfrastructure,
    SandboxNotifier,
    SandboxTenantResources,
    SandboxTenantWorld,
)

TENANT = TenantRef(
    tenant_id="t1",
    name="acme",
    plan=TenantPlan.PREMIUM,
    region=TenantRegion.EU_WEST_1,
    admin_email="ops@acme.example",
)


@pytest.fixture
def world(tmp_path: Path) -> SandboxTenantWorld:
    return SandboxTenantWorld(tmp_path)


class Beats:
    """Records the (done, total) progress a provider reports."""

    def __init__(self) -> None:
        self.seen: list[tuple[int, int]] = []

    def __call__(self, done: int, total: int) -> None:
        self.seen.append((done, total))


async def test_idp_organization_is_created_once_and_deleted_once(
    world: SandboxTenantWorld,
) -> None:
    idp = SandboxIdentityProvider(world)
    first = await idp.create_organization(TENANT)
    assert await idp.create_organization(TENANT) == first
    assert (await world.holdings("t1"))["idp_organizations"] == [first.id]
    assert await idp.delete_organization(TENANT)
    assert not await idp.delete_organization(TENANT)
    assert await world.events("t1") == [
        f"created idp organization {first.id}",
        "removed idp organization",
    ]


async def test_infrastructure_is_provisioned_once_with_progress_and_destroyed_once(
    world: SandboxTenantWorld,
) -> None:
    infra = SandboxInfrastructure(world)
    beats = Beats()
    stack = await infra.provision(TENANT, beats)
    wanted = list(INFRASTRUCTURE[TenantPlan.PREMIUM])
    assert stack.resources == wanted
    assert beats.seen[-1] == (len(wanted), len(wanted))
    again = await infra.provision(TENANT, Beats())
    assert again == stack
    holdings = await world.holdings("t1")
    assert holdings["infrastructure_stacks"] == [stack.stack_id]
    assert holdings["infrastructure_resources"] == wanted
    created = [e for e in await world.events("t1") if e.startswith("created")]
    assert len(created) == len(wanted) + 1

    beats = Beats()
    assert await infra.destroy(TENANT, beats)
    assert beats.seen[-1] == (len(wanted), len(wanted))
    assert not await infra.destroy(TENANT, Beats())
    holdings = await world.holdings("t1")
    assert holdings["infrastructure_stacks"] == [] and holdings["infrastructure_resources"] == []
    removed = [e for e in await world.events("t1") if e.startswith("removed")]
    assert removed[0] == f"removed infrastructure {wanted[-1]}"  # newest first


async def test_a_partly_provisioned_stack_is_completed_not_duplicated(
    world: SandboxTenantWorld,
) -> None:
    await world.insert_once(
        "infrastructure_resources", {"tenant_id": "t1", "name": "network"}, "created network"
    )
    await SandboxInfrastructure(world).provision(TENANT, Beats())
    names = (await world.holdings("t1"))["infrastructure_resources"]
    assert sorted(names) == sorted(INFRASTRUCTURE[TenantPlan.PREMIUM])


async def test_deployment_is_made_once_and_rollback_or_remove_is_idempotent(
    world: SandboxTenantWorld,
) -> None:
    deployments = SandboxDeployments(world)
    first = await deployments.deploy(TENANT, Beats())
    assert await deployments.deploy(TENANT, Beats()) == first
    assert (await world.holdings("t1"))["deployments"] == [first.deployment_id]
    assert await deployments.rollback(TENANT)
    assert not await deployments.rollback(TENANT)
    assert not await deployments.remove(TENANT)
    await deployments.deploy(TENANT, Beats())
    assert await deployments.remove(TENANT)
    assert not await deployments.remove(TENANT)
    assert (await world.holdings("t1"))["deployments"] == []


async def test_dns_records_are_configured_once_and_removed_once(
    world: SandboxTenantWorld,
) -> None:
    dns = SandboxDns(world)
    records = await dns.configure(TENANT)
    assert await dns.configure(TENANT) == records
    assert {r.type for r in records} == {"A", "TXT"}
    assert records[0].name == "acme.tenants.flightdeck.example"
    assert len((await world.holdings("t1"))["dns_records"]) == 2
    assert await dns.remove(TENANT) == 2
    assert await dns.remove(TENANT) == 0


async def test_resource_records_are_created_once_and_deleted_once(
    world: SandboxTenantWorld,
) -> None:
    resources = SandboxTenantResources(world)
    names = await resources.create(TENANT)
    assert await resources.create(TENANT) == names
    assert (await world.holdings("t1"))["resource_records"] == names
    assert await resources.delete(TENANT) == len(names)
    assert await resources.delete(TENANT) == 0


async def test_an_email_is_delivered_once_per_key(world: SandboxTenantWorld) -> None:
    notifier = SandboxNotifier(world)
    email = Email(key="tenant-t1/run/welcome", to=["ops@acme.example"], subject="Hi", body="Hello")
    first = await notifier.send(email)
    assert await notifier.send(email.model_copy(update={"body": "again"})) == first
    other = await notifier.send(email.model_copy(update={"key": "tenant-t1/run/other"}))
    assert other != first
    sent = await world.emails()
    assert [m["X-Flightdeck-Key"] for m in sent] == ["tenant-t1/run/welcome", "tenant-t1/run/other"]
    assert sent[0]["To"] == "ops@acme.example" and sent[0]["Message-ID"] == first
    assert sent[0].get_content().strip() == "Hello"


async def test_backup_writes_what_the_sandbox_holds_for_the_tenant(
    world: SandboxTenantWorld,
) -> None:
    await SandboxIdentityProvider(world).create_organization(TENANT)
    await SandboxDns(world).configure(TENANT)
    backups = SandboxBackups(world)
    backup = await backups.backup(TENANT)
    again = await backups.backup(TENANT)
    assert again.location == backup.location
    assert await world.backup_files() == [Path(backup.location)]
    content = json.loads(Path(backup.location).read_text())
    assert content["tenant"]["tenant_id"] == "t1"
    assert [r["org_id"] for r in content["holdings"]["idp_organizations"]] == ["org_t1"]
    assert len(content["holdings"]["dns_records"]) == 2
    assert backup.size_bytes == Path(backup.location).stat().st_size


async def test_tenants_are_kept_apart(world: SandboxTenantWorld) -> None:
    other = TENANT.model_copy(update={"tenant_id": "t2", "name": "globex"})
    await SandboxTenantResources(world).create(TENANT)
    await SandboxTenantResources(world).create(other)
    assert await SandboxTenantResources(world).delete(other) == 4
    assert len((await world.holdings("t1"))["resource_records"]) == 4
    assert not any((await world.holdings("t2")).values())
