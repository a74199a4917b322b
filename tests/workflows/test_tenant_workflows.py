"""Both tenant workflows on real Temporal servers: provisioning, saga rollback, people answering
stuck steps, and deprovisioning with grace period, backup and abort."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio.client import WorkflowFailureError
from temporalio.testing import WorkflowEnvironment

from backend.domain.progress import Progress, StepState
from backend.domains.tenants.messages import TenantDeprovisionParams
from backend.domains.tenants.model import (
    INTERVENTION,
    CreateTenant,
    DeprovisionTenant,
    StepIntervention,
    Tenant,
    TenantPlan,
    TenantReason,
    TenantRegion,
    TenantStatus,
    TenantStep,
)
from backend.domains.tenants.payloads import TenantResult
from backend.domains.tenants.providers.sandbox import SandboxTenantWorld
from tests.stack import Stack, eventually, platform_stack

ADMIN = "ops@acme.example"
FORWARD = [
    TenantStep.MARK_PROVISIONING,
    TenantStep.CREATE_IDP_ORG,
    TenantStep.PROVISION_INFRA,
    TenantStep.DEPLOY,
    TenantStep.CONFIGURE_DNS,
    TenantStep.CREATE_RESOURCES,
    TenantStep.MARK_ACTIVE,
    TenantStep.WELCOME,
]


def world(stack: Stack) -> SandboxTenantWorld:
    """What the tenant sandbox of this stack holds."""
    return SandboxTenantWorld(stack.settings.paths.sandbox)


async def create(stack: Stack, name: str, plan: TenantPlan = TenantPlan.STANDARD) -> Tenant:
    tenant = await stack.service("tenant").create(
        CreateTenant(name=name, plan=plan, admin_email=ADMIN, requested_by="alice")
    )
    assert isinstance(tenant, Tenant)
    return tenant


async def result_of(stack: Stack, tenant: Tenant) -> TenantResult:
    """The result of the tenant's latest workflow run."""
    handle = stack.client.get_workflow_handle(tenant.workflow_id, result_type=TenantResult)
    return await handle.result()


async def active(stack: Stack, name: str) -> Tenant:
    """A tenant provisioned to the end (welcome e-mail sent)."""
    tenant = await create(stack, name)
    assert (await result_of(stack, tenant)).status == TenantStatus.ACTIVE
    return tenant


async def holds_nothing(stack: Stack, tenant_id: str) -> None:
    holdings = await world(stack).holdings(tenant_id)
    assert not any(holdings.values()), holdings


async def subjects(stack: Stack) -> list[str]:
    return [str(m["Subject"]) for m in await world(stack).emails()]


def states(progress: Progress) -> dict[str, StepState]:
    return {s.name: s.state for s in progress.steps}


def awaiting_intervention(round_id: str) -> Callable[[Progress], bool]:
    def check(progress: Progress) -> bool:
        awaiting = progress.awaiting
        return (
            awaiting is not None
            and awaiting.kind == INTERVENTION
            and awaiting.request_id == round_id
        )

    return check


# -- provisioning ----------------------------------------------------------------------------


async def test_happy_path_makes_an_active_tenant_with_everything_in_the_sandbox(
    stack: Stack,
) -> None:
    tenant = await create(stack, "acme")
    result = await result_of(stack, tenant)
    assert result.status == TenantStatus.ACTIVE
    progress = await stack.progress(tenant)
    assert progress.percent == 100 and progress.done and progress.phase == TenantStatus.ACTIVE
    assert [s.name for s in progress.steps] == FORWARD
    assert all(s.state == StepState.COMPLETED for s in progress.steps), progress.steps

    record = await stack.wait_status("tenant", tenant.id, TenantStatus.ACTIVE)
    assert record.percent == 100 and record.accepts == []
    assert record.fields["domain"] == "acme.tenants.flightdeck.example"
    assert record.fields["idp_organization"] == f"org_{tenant.id}"
    got = await stack.service("tenant").get(tenant.id)
    assert isinstance(got, Tenant) and got.domain == record.fields["domain"]

    holdings = await world(stack).holdings(tenant.id)
    assert holdings["idp_organizations"] == [f"org_{tenant.id}"]
    assert holdings["infrastructure_stacks"] == [f"stack-{tenant.id}"]
    assert len(holdings["infrastructure_resources"]) == 4
    assert holdings["deployments"] == [f"dep-{tenant.id}"]
    assert len(holdings["dns_records"]) == 2
    assert len(holdings["resource_records"]) == 4
    (welcome,) = await world(stack).emails()
    assert welcome["To"] == ADMIN and welcome["Subject"] == "Welcome to Flightdeck, acme"
    assert "acme.tenants.flightdeck.example" in welcome.get_content()


UNDO = [
    TenantStep.DELETE_RESOURCES,
    TenantStep.REMOVE_DNS,
    TenantStep.ROLLBACK_DEPLOYMENT,
    TenantStep.DESTROY_INFRA,
    TenantStep.DELETE_IDP_ORG,
]
"""Every compensation, in the order a rollback after createResources runs them."""
FAILING = [
    ("idp", TenantStep.CREATE_IDP_ORG, UNDO[4:]),
    ("infrastructure", TenantStep.PROVISION_INFRA, UNDO[3:]),
    ("deploy", TenantStep.DEPLOY, UNDO[2:]),
    ("dns", TenantStep.CONFIGURE_DNS, UNDO[1:]),
    ("resources", TenantStep.CREATE_RESOURCES, UNDO),
]
"""Fault, the step it fails, and the compensations that follow: the failed step's own first
(it may have done part of its work), then the completed steps' newest first."""


@dataclass
class FaultRun:
    """One provisioning run with a step failing on every attempt, and how it ended."""

    stack: Stack
    tenant: Tenant
    outcome: TenantResult | BaseException


@pytest.fixture(scope="module")
async def fault_runs(
    dev_env: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[dict[str, FaultRun]]:
    """One provisioning per injected fault (`<step>:always`), all run side by side: each waits
    out its real retry backoff, so together they take the time of one."""
    faults = [fault for fault, _, _ in FAILING] + ["welcome"]
    async with AsyncExitStack() as stacks:
        started = {}
        for fault in faults:
            stack = await stacks.enter_async_context(
                platform_stack(
                    dev_env.client,
                    tmp_path_factory.mktemp(fault),
                    f"test-{uuid.uuid4().hex[:8]}",
                    faults=f"{fault}:always",
                )
            )
            started[fault] = (stack, await create(stack, f"fail-{fault}"))
        outcomes = await asyncio.gather(
            *(result_of(stack, tenant) for stack, tenant in started.values()),
            return_exceptions=True,
        )
        yield {
            fault: FaultRun(stack, tenant, outcome)
            for (fault, (stack, tenant)), outcome in zip(started.items(), outcomes, strict=True)
        }


@pytest.mark.parametrize(("fault", "failed", "compensations"), FAILING, ids=[f[0] for f in FAILING])
async def test_a_failing_step_rolls_back_exactly_what_was_made(
    fault_runs: dict[str, FaultRun], fault: str, failed: str, compensations: list[str]
) -> None:
    run = fault_runs[fault]
    stack, tenant = run.stack, run.tenant
    assert isinstance(run.outcome, WorkflowFailureError), run.outcome
    await holds_nothing(stack, tenant.id)

    record = await stack.wait_status("tenant", tenant.id, TenantStatus.PROVISION_FAILED)
    assert record.ended
    assert (record.status_reason or "").startswith(f"{failed} failed: {fault} failed on attempt 3")
    assert "idp_organization" not in record.fields and "domain" not in record.fields

    progress = await stack.progress(tenant)
    assert progress.phase == TenantStatus.PROVISION_FAILED and progress.done
    step = progress.step(failed)
    assert step is not None and step.state == StepState.FAILED
    undone = [s for s in progress.steps if s.compensates is not None]
    assert [s.name for s in undone] == compensations
    assert all(s.state == StepState.COMPLETED for s in undone)
    assert [s.compensates for s in undone] == FORWARD[FORWARD.index(failed) : 0 : -1]
    later = FORWARD[FORWARD.index(failed) + 1 :]
    assert all(states(progress)[name] == StepState.SKIPPED for name in later)
    assert states(progress)[TenantStep.MARK_FAILED] == StepState.COMPLETED
    assert states(progress)[TenantStep.FAILURE_EMAIL] == StepState.COMPLETED
    (email,) = await world(stack).emails()
    assert email["To"] == ADMIN and email["Subject"] == f"Provisioning of fail-{fault} failed"
    assert f"{failed} failed" in email.get_content()


async def test_a_welcome_email_that_cannot_be_sent_leaves_the_tenant_active(
    fault_runs: dict[str, FaultRun],
) -> None:
    run = fault_runs["welcome"]
    stack, tenant = run.stack, run.tenant
    assert isinstance(run.outcome, TenantResult) and run.outcome.status == TenantStatus.ACTIVE
    record = await stack.wait_status("tenant", tenant.id, TenantStatus.ACTIVE)
    assert "welcome failed on attempt 3" in (record.last_error or "")
    assert "welcome e-mail was not sent" in (record.status_reason or "")
    progress = await stack.progress(tenant)
    assert states(progress)[TenantStep.WELCOME] == StepState.FAILED
    assert progress.percent == 100 and record.percent == 100
    assert not any(s.compensates for s in progress.steps)
    assert (await world(stack).holdings(tenant.id))["deployments"] == [f"dep-{tenant.id}"]
    assert await world(stack).emails() == []


async def infra_half_made(stack: Stack, tenant: Tenant) -> None:
    await eventually(
        lambda: world(stack).holdings(tenant.id),
        lambda h: len(h["infrastructure_resources"]) >= 2,
    )


async def test_cancel_during_provisioning_rolls_back_and_fails_the_tenant(
    dev_env: WorkflowEnvironment, tmp_path: Path, task_queue: str
) -> None:
    async with platform_stack(dev_env.client, tmp_path, task_queue, step_seconds=0.2) as stack:
        tenant = await create(stack, "hasty", TenantPlan.ENTERPRISE)
        await infra_half_made(stack, tenant)
        answer = await stack.act(
            "tenant", "cancel", tenant.id, TenantReason(reason="wrong region", actor="carol")
        )
        assert answer.status_code == 200, answer.body
        result = await result_of(stack, tenant)
        assert result.status == TenantStatus.PROVISION_FAILED
        assert result.reason == "cancelled by carol: wrong region"
        record = await stack.record("tenant", tenant.id)
        assert record.status == TenantStatus.PROVISION_FAILED
        assert record.status_reason == "cancelled by carol: wrong region"
        await holds_nothing(stack, tenant.id)
        progress = await stack.progress(tenant)
        infra = progress.step(TenantStep.PROVISION_INFRA)
        assert infra is not None and infra.state == StepState.CANCELLED
        destroy = progress.step(TenantStep.DESTROY_INFRA)
        assert destroy is not None and destroy.compensates == TenantStep.PROVISION_INFRA
        assert states(progress)[TenantStep.DEPLOY] == StepState.SKIPPED
        assert await subjects(stack) == ["Provisioning of hasty failed"]


async def test_temporal_cancel_also_rolls_back(
    dev_env: WorkflowEnvironment, tmp_path: Path, task_queue: str
) -> None:
    async with platform_stack(dev_env.client, tmp_path, task_queue, step_seconds=0.2) as stack:
        tenant = await create(stack, "external", TenantPlan.ENTERPRISE)
        await infra_half_made(stack, tenant)
        await stack.client.get_workflow_handle(tenant.workflow_id).cancel()
        with pytest.raises(WorkflowFailureError):
            await result_of(stack, tenant)
        record = await stack.record("tenant", tenant.id)
        assert record.status == TenantStatus.PROVISION_FAILED
        assert record.status_reason == "cancelled through Temporal"
        await holds_nothing(stack, tenant.id)


async def test_a_compensation_that_keeps_failing_waits_for_a_person_round_after_round(
    dev_env: WorkflowEnvironment, tmp_path: Path, task_queue: str
) -> None:
    async with platform_stack(
        dev_env.client, tmp_path, task_queue, faults="dns:always,remove_dns:always"
    ) as stack:
        tenant = await create(stack, "sticky")
        progress = await stack.wait_progress(tenant, awaiting_intervention("intervention-1"))
        assert progress.phase == TenantStatus.ROLLING_BACK
        assert sorted(progress.accepts) == ["resolve", "retry"]
        assert states(progress)[TenantStep.REMOVE_DNS] == StepState.WAITING
        assert "removeDnsRecords keeps failing" in (progress.awaiting.prompt or "")  # type: ignore[union-attr]
        needs = await eventually(stack.services.needs.list, lambda n: n.total == 1)
        assert needs.items[0].id == tenant.id and needs.items[0].actions == ["retry", "resolve"]

        retried = await stack.act(
            "tenant", "retry", tenant.id, StepIntervention(comment="try again", actor="dave")
        )
        assert retried.status_code == 200, retried.body
        progress = await stack.wait_progress(tenant, awaiting_intervention("intervention-2"))
        step = progress.step(TenantStep.REMOVE_DNS)
        assert step is not None and step.attempt == 2

        stale = await stack.act(
            "tenant",
            "resolve",
            tenant.id,
            StepIntervention(comment="old", actor="dave", request_id="intervention-1"),
        )
        assert stale.status_code == 409, stale.body
        resolved = await stack.act(
            "tenant",
            "resolve",
            tenant.id,
            StepIntervention(comment="removed by hand", actor="erin"),
        )
        assert resolved.status_code == 200, resolved.body
        with pytest.raises(WorkflowFailureError):
            await result_of(stack, tenant)
        progress = await stack.progress(tenant)
        step = progress.step(TenantStep.REMOVE_DNS)
        assert step is not None and step.state == StepState.COMPLETED
        assert step.detail == "resolved by erin: removed by hand"
        record = await stack.wait_status("tenant", tenant.id, TenantStatus.PROVISION_FAILED)
        assert record.awaiting is None
        assert (record.status_reason or "").startswith("configureDns failed: dns failed on")
        await holds_nothing(stack, tenant.id)
        taken = [(d.kind, d.actor, d.accepted) for d in progress.decisions]
        assert taken == [("retry", "dave", True), ("resolve", "erin", True)]
        audited = [
            (e.action, e.outcome.value)
            for e in await stack.services.audit.list()
            if e.action in ("retry", "resolve")
        ]
        assert sorted(audited) == [
            ("resolve", "accepted"),
            ("resolve", "refused"),
            ("retry", "accepted"),
        ]


async def test_a_second_workflow_for_the_same_tenant_is_refused_and_touches_nothing(
    stack: Stack,
) -> None:
    tenant = await active(stack, "owned")
    before = await world(stack).holdings(tenant.id)
    intruder = await stack.client.start_workflow(
        "TenantDeprovisionWorkflow",
        TenantDeprovisionParams(
            tenant_id=tenant.id,
            name="owned",
            plan=TenantPlan.STANDARD,
            admin_email=ADMIN,
            region=TenantRegion.US_EAST_1,
            requested_by="mallory",
        ),
        id=f"intruder-{tenant.id}",
        task_queue=stack.task_queue,
    )
    with pytest.raises(WorkflowFailureError):
        await intruder.result()
    record = await stack.record("tenant", tenant.id)
    assert record.status == TenantStatus.ACTIVE and record.percent == 100
    assert await world(stack).holdings(tenant.id) == before


async def test_cancel_once_active_is_refused(stack: Stack) -> None:
    tenant = await active(stack, "settled")
    answer = await stack.act(
        "tenant", "cancel", tenant.id, TenantReason(reason="too late", actor="carol")
    )
    assert answer.status_code == 409
    assert (await stack.record("tenant", tenant.id)).status == TenantStatus.ACTIVE


# -- deprovisioning --------------------------------------------------------------------------


def deprovision(hours: int = 0, *, backup: bool = True, notify: bool = True) -> DeprovisionTenant:
    return DeprovisionTenant(
        grace_period_hours=hours, backup=backup, notify_users=notify, actor="frank"
    )


async def test_deprovision_backs_up_notifies_and_removes_everything(stack: Stack) -> None:
    tenant = await active(stack, "leaving")
    answer = await stack.act("tenant", "deprovision", tenant.id, deprovision())
    assert answer.status_code == 200, answer.body
    result = await result_of(stack, tenant)
    assert result.status == TenantStatus.DEPROVISIONED
    record = await stack.wait_status("tenant", tenant.id, TenantStatus.DEPROVISIONED)
    assert record.ended and record.percent == 100
    assert "domain" not in record.fields and "idp_organization" not in record.fields
    await holds_nothing(stack, tenant.id)

    progress = await stack.progress(tenant)
    assert progress.percent == 100
    assert states(progress)[TenantStep.GRACE_PERIOD] == StepState.SKIPPED
    assert all(
        s.state == StepState.COMPLETED for s in progress.steps if s.name != TenantStep.GRACE_PERIOD
    )
    (backup,) = await world(stack).backup_files()
    content = json.loads(backup.read_text())
    assert content["holdings"]["deployments"][0]["deployment_id"] == f"dep-{tenant.id}"
    assert await subjects(stack) == [
        "Welcome to Flightdeck, leaving",
        "Tenant leaving is being removed",
    ]


async def test_deprovision_without_backup_or_notice_skips_them(stack: Stack) -> None:
    tenant = await active(stack, "bare")
    await stack.act("tenant", "deprovision", tenant.id, deprovision(backup=False, notify=False))
    assert (await result_of(stack, tenant)).status == TenantStatus.DEPROVISIONED
    progress = await stack.progress(tenant)
    assert progress.percent == 100
    for name in (TenantStep.NOTIFY_USERS, TenantStep.BACKUP):
        assert states(progress)[name] == StepState.SKIPPED
    assert await world(stack).backup_files() == []
    await holds_nothing(stack, tenant.id)


async def test_grace_period_is_a_durable_timer_before_removal(
    skipping_env: WorkflowEnvironment, skipping_stack: Stack
) -> None:
    stack = skipping_stack
    tenant = await active(stack, "graceful")
    await stack.act("tenant", "deprovision", tenant.id, deprovision(hours=48))
    progress = await stack.wait_progress(
        tenant, lambda p: states(p)[TenantStep.GRACE_PERIOD] == StepState.WAITING
    )
    assert sorted(progress.accepts) == ["abort-deprovision", "skip-grace"]
    assert (progress.step(TenantStep.GRACE_PERIOD).detail or "").startswith("until ")  # type: ignore[union-attr]
    record = await eventually(
        lambda: stack.record("tenant", tenant.id), lambda r: "grace_until" in r.fields
    )
    assert record.status == TenantStatus.DEPROVISIONING
    assert (await world(stack).holdings(tenant.id))["deployments"] == [f"dep-{tenant.id}"]

    await skipping_env.sleep(timedelta(hours=48, minutes=1))
    assert (await result_of(stack, tenant)).status == TenantStatus.DEPROVISIONED
    await holds_nothing(stack, tenant.id)


async def test_skip_grace_starts_removal_now(stack: Stack) -> None:
    tenant = await active(stack, "impatient")
    await stack.act("tenant", "deprovision", tenant.id, deprovision(hours=24))
    await stack.wait_progress(tenant, lambda p: "skip-grace" in p.accepts)
    answer = await stack.act(
        "tenant", "skip-grace", tenant.id, TenantReason(reason="customer asked", actor="gina")
    )
    assert answer.status_code == 200, answer.body
    assert (await result_of(stack, tenant)).status == TenantStatus.DEPROVISIONED
    progress = await stack.progress(tenant)
    grace = progress.step(TenantStep.GRACE_PERIOD)
    assert grace is not None and grace.detail == "skipped by gina: customer asked"
    await holds_nothing(stack, tenant.id)


async def test_abort_during_grace_keeps_the_tenant_active_and_whole(stack: Stack) -> None:
    tenant = await active(stack, "stays")
    before = await world(stack).holdings(tenant.id)
    await stack.act("tenant", "deprovision", tenant.id, deprovision(hours=24))
    await stack.wait_progress(tenant, lambda p: "abort-deprovision" in p.accepts)
    answer = await stack.act(
        "tenant", "abort-deprovision", tenant.id, TenantReason(reason="they paid", actor="hank")
    )
    assert answer.status_code == 200, answer.body
    result = await result_of(stack, tenant)
    assert result.status == TenantStatus.ACTIVE
    record = await stack.wait_status("tenant", tenant.id, TenantStatus.ACTIVE)
    assert record.status_reason == "deprovision aborted by hank: they paid"
    assert not record.ended and "grace_until" not in record.fields
    assert await world(stack).holdings(tenant.id) == before
    assert await world(stack).backup_files() == []
    progress = await stack.progress(tenant)
    assert states(progress)[TenantStep.DESTROY_INFRA] == StepState.SKIPPED

    # Still an active tenant: it can be deprovisioned later, and its users are told again.
    again = await stack.act("tenant", "deprovision", tenant.id, deprovision())
    assert again.status_code == 200, again.body
    assert (await result_of(stack, tenant)).status == TenantStatus.DEPROVISIONED
    notices = [s for s in await subjects(stack) if "being removed" in s]
    assert len(notices) == 2


async def test_temporal_cancel_during_grace_removes_nothing(stack: Stack) -> None:
    tenant = await active(stack, "spared")
    before = await world(stack).holdings(tenant.id)
    await stack.act("tenant", "deprovision", tenant.id, deprovision(hours=24))
    await stack.wait_progress(tenant, lambda p: "abort-deprovision" in p.accepts)
    await stack.client.get_workflow_handle(tenant.workflow_id).cancel()
    with pytest.raises(WorkflowFailureError):
        await result_of(stack, tenant)
    record = await stack.wait_status("tenant", tenant.id, TenantStatus.ACTIVE)
    assert "cancelled through Temporal; nothing was removed" in (record.status_reason or "")
    assert await world(stack).holdings(tenant.id) == before


async def test_deprovision_is_refused_unless_the_tenant_is_active(
    dev_env: WorkflowEnvironment, tmp_path: Path, task_queue: str
) -> None:
    async with platform_stack(dev_env.client, tmp_path, task_queue, step_seconds=0.2) as stack:
        tenant = await create(stack, "young", TenantPlan.ENTERPRISE)
        await stack.wait_status("tenant", tenant.id, TenantStatus.PROVISIONING)
        early = await stack.act("tenant", "deprovision", tenant.id, deprovision())
        assert early.status_code == 409
        assert "PROVISIONING; deprovision needs ACTIVE" in early.body["detail"]

        await stack.act("tenant", "cancel", tenant.id, TenantReason(reason="stop", actor="carol"))
        await result_of(stack, tenant)
        failed = await stack.act("tenant", "deprovision", tenant.id, deprovision())
        assert failed.status_code == 409
        assert "PROVISION_FAILED" in failed.body["detail"]


async def test_a_removal_that_keeps_failing_waits_for_a_person(
    dev_env: WorkflowEnvironment, tmp_path: Path, task_queue: str
) -> None:
    async with platform_stack(
        dev_env.client, tmp_path, task_queue, faults="delete_idp:always"
    ) as stack:
        tenant = await active(stack, "stubborn")
        await stack.act("tenant", "deprovision", tenant.id, deprovision(backup=False))
        progress = await stack.wait_progress(tenant, awaiting_intervention("intervention-1"))
        assert progress.phase == TenantStatus.DEPROVISIONING
        assert states(progress)[TenantStep.DELETE_IDP_ORG] == StepState.WAITING
        assert states(progress)[TenantStep.DELETE_RESOURCES] == StepState.PENDING
        await stack.act(
            "tenant", "resolve", tenant.id, StepIntervention(comment="deleted in IdP", actor="ivy")
        )
        assert (await result_of(stack, tenant)).status == TenantStatus.DEPROVISIONED
        holdings = await world(stack).holdings(tenant.id)
        assert holdings.pop("idp_organizations") == [f"org_{tenant.id}"]
        assert not any(holdings.values()), holdings
