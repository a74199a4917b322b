"""InfraProvisionWorkflow on a real Temporal server with the sandbox runner and the shipped
policy: policy pass applies at once; a policy failure waits for a person who approves (applied)
or denies (rejected, nothing applied); reasons through both spec queries; approval timeout;
cancel mid-apply; a broken directory fails without retries; the workflow as a child."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel
from temporalio import workflow
from temporalio.client import WorkflowFailureError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from backend.domain.progress import StepState
from backend.domains.infra.messages import (
    CURRENT_STATE_QUERY,
    SIGNAL_REASON_QUERY,
    InfraProvisionParams,
    InfraResult,
)
from backend.domains.infra.model import (
    APPROVAL,
    CancelInfraRun,
    CreateInfraRun,
    InfraDecision,
    InfraRun,
    InfraStatus,
    InfraStep,
)
from backend.domains.infra.sandbox_runner import SandboxTerraformRunner
from tests.stack import Stack, eventually, platform_stack

KIND = "infra-run"


async def create(stack: Stack, directory: str | Path, **fields: Any) -> InfraRun:
    run = await stack.service(KIND).create(
        CreateInfraRun(
            name=fields.pop("name", "run"),
            directory=str(directory),
            requested_by="alice",
            **fields,
        )
    )
    assert isinstance(run, InfraRun)
    return run


async def result_of(stack: Stack, run: InfraRun) -> InfraResult:
    handle = stack.client.get_workflow_handle(run.workflow_id, result_type=InfraResult)
    return await handle.result()


async def query(stack: Stack, run: InfraRun, name: str) -> str:
    answer: str = await stack.client.get_workflow_handle(run.workflow_id).query(
        name, result_type=str
    )
    return answer


async def get(stack: Stack, run: InfraRun) -> InfraRun:
    found = await stack.service(KIND).get(run.id)
    assert isinstance(found, InfraRun)
    return found


def state_of(stack: Stack, directory: Path) -> list[str]:
    """Addresses the sandbox state of `directory` holds (what was really applied)."""
    runner = SandboxTerraformRunner(stack.settings.paths.sandbox / "infra-state")
    path = runner.state_path(directory)
    if not path.exists():
        return []
    resources = json.loads(path.read_text())["resources"]
    return sorted(f"{r['type']}.{r['name']}" for r in resources)


def examples(name: str) -> Path:
    from backend.domains.infra.config import EXAMPLES_DIR

    return EXAMPLES_DIR / name


def write_config(tmp_path: Path, users: int, *, admin: bool = False) -> Path:
    """A configuration directory with `users` developer users (and maybe an admin)."""
    directory = tmp_path / f"config-{uuid.uuid4().hex[:6]}"
    directory.mkdir()
    resources = [
        {
            "type": "temporalcloud_user",
            "name": f"user{i}",
            "attributes": {"email": f"user{i}@example.com", "account_access": "developer"},
        }
        for i in range(users)
    ]
    if admin:
        resources.append(
            {
                "type": "temporalcloud_user",
                "name": "root",
                "attributes": {"email": "root@example.com", "account_access": "admin"},
            }
        )
    (directory / "resources.yaml").write_text(yaml.safe_dump({"resources": resources}))
    return directory


async def test_a_run_that_passes_policy_applies_without_waiting(stack: Stack) -> None:
    run = await create(stack, "namespace", variables={"environment": "staging"})
    assert run.status == InfraStatus.UNINITIALIZED and run.workflow_id == f"infra-run-{run.id}"

    result = await result_of(stack, run)

    assert result.status == InfraStatus.APPLIED
    assert result.outputs["namespace_id"]
    done = await stack.wait_status(KIND, run.id, InfraStatus.APPLIED)
    assert done.percent == 100
    record = await get(stack, run)
    assert record.plan is not None and record.plan.summary.add == 2
    assert record.changes == "+2 ~0 -0" and record.policy_verdict == "passed"
    assert record.policy and all(r.passed for r in record.policy)
    assert record.outputs["namespace_id"] == result.outputs["namespace_id"]
    assert record.runner == "sandbox"
    progress = await stack.progress(run)
    steps = {s.name: s for s in progress.steps}
    assert steps[InfraStep.APPROVAL].state == StepState.COMPLETED
    assert "not needed" in (steps[InfraStep.APPROVAL].detail or "")
    assert not progress.decisions
    assert state_of(stack, examples("namespace")) == [
        "temporalcloud_namespace.payments",
        "temporalcloud_user.oncall",
    ]
    assert await query(stack, run, CURRENT_STATE_QUERY) == "applied"
    assert await query(stack, run, SIGNAL_REASON_QUERY) == ""


async def test_a_policy_failure_waits_and_an_approval_applies(stack: Stack) -> None:
    run = await create(stack, "admin-user", name="with-admin")

    waiting = await stack.wait_status(KIND, run.id, InfraStatus.AWAITING_APPROVAL)
    assert waiting.awaiting is not None and waiting.awaiting.kind == APPROVAL
    assert "no-admin-principals" in (waiting.awaiting.prompt or "")
    record = await get(stack, run)
    assert record.policy_verdict == "1 failed"
    [failed] = [r for r in record.policy if not r.passed]
    assert failed.id == "no-admin-principals"
    assert failed.resources == ["temporalcloud_user.platform_admin"]
    assert state_of(stack, examples("admin-user")) == []
    assert await query(stack, run, CURRENT_STATE_QUERY) == "awaiting_approval"

    answer = await stack.act(
        KIND, "approve", run.id, InfraDecision(reason="break-glass for INC-42", actor="bob")
    )
    assert answer.status_code == 200, answer.body

    assert (await result_of(stack, run)).status == InfraStatus.APPLIED
    assert len(state_of(stack, examples("admin-user"))) == 3
    assert await query(stack, run, SIGNAL_REASON_QUERY) == "break-glass for INC-42"
    record = await stack.wait_status(KIND, run.id, InfraStatus.APPLIED)
    final = await get(stack, run)
    assert final.decision_reason == "break-glass for INC-42"
    audit = await stack.services.audit.list(target_id=run.id)
    approvals = [e for e in audit if e.action == "approve"]
    assert approvals and approvals[0].actor == "bob"
    assert approvals[0].reason == "break-glass for INC-42"
    assert record.percent == 100


async def test_a_denial_ends_rejected_and_applies_nothing(stack: Stack, tmp_path: Path) -> None:
    directory = write_config(tmp_path, 1, admin=True)
    run = await create(stack, directory, name="denied")
    await stack.wait_status(KIND, run.id, InfraStatus.AWAITING_APPROVAL)

    answer = await stack.act(
        KIND, "deny", run.id, InfraDecision(reason="no admins in prod", actor="carol")
    )
    assert answer.status_code == 200, answer.body

    result = await result_of(stack, run)
    assert result.status == InfraStatus.REJECTED
    assert result.reason == "denied by carol: no admins in prod"
    assert state_of(stack, directory) == []
    assert await query(stack, run, SIGNAL_REASON_QUERY) == "no admins in prod"
    assert await query(stack, run, CURRENT_STATE_QUERY) == "rejected"
    progress = await stack.progress(run)
    steps = {s.name: s.state for s in progress.steps}
    assert steps[InfraStep.APPLY] == StepState.SKIPPED
    record = await stack.wait_status(KIND, run.id, InfraStatus.REJECTED)
    assert record.status_reason == "denied by carol: no admins in prod"

    # The round is over: a late approval is refused, and says why.
    late = await stack.act(KIND, "approve", run.id, InfraDecision(reason="oops", actor="dave"))
    assert late.status_code == 409, late.body


async def test_required_approval_without_a_decision_expires(
    skipping_env: WorkflowEnvironment, tmp_path: Path, task_queue: str
) -> None:
    async with platform_stack(skipping_env.client, tmp_path, task_queue) as stack:
        directory = write_config(tmp_path, 1)
        run = await create(
            stack, directory, name="slow", require_approval=True, approval_timeout_minutes=30
        )
        waiting = await stack.wait_status(KIND, run.id, InfraStatus.AWAITING_APPROVAL)
        assert waiting.awaiting is not None
        assert "requires approval" in (waiting.awaiting.prompt or "")
        await skipping_env.sleep(timedelta(minutes=31))
        result = await result_of(stack, run)
        assert result.status == InfraStatus.EXPIRED
        assert result.reason == "nobody decided within 30 min"
        assert state_of(stack, directory) == []


async def test_cancel_mid_apply_interrupts_it(
    dev_env: WorkflowEnvironment, tmp_path: Path, task_queue: str
) -> None:
    async with platform_stack(dev_env.client, tmp_path, task_queue, step_seconds=0.4) as stack:
        directory = write_config(tmp_path, 8)
        run = await create(stack, directory, name="big")
        await stack.wait_status(KIND, run.id, InfraStatus.APPLYING, timeout=60)

        answer = await stack.act(
            KIND, "cancel", run.id, CancelInfraRun(reason="wrong account", actor="erin")
        )
        assert answer.status_code == 200, answer.body

        result = await result_of(stack, run)
        assert result.status == InfraStatus.CANCELLED
        assert result.reason == "cancelled by erin: wrong account"
        assert len(state_of(stack, directory)) < 8
        progress = await stack.progress(run)
        steps = {s.name: s.state for s in progress.steps}
        assert steps[InfraStep.APPLY] == StepState.CANCELLED
        assert steps[InfraStep.SHOW] == StepState.SKIPPED


async def test_a_missing_directory_fails_at_init_without_retries(stack: Stack) -> None:
    run = await create(stack, "no-such-dir", name="typo")

    with pytest.raises(WorkflowFailureError):
        await result_of(stack, run)

    record = await stack.wait_status(KIND, run.id, InfraStatus.FAILED)
    assert "no-such-dir" in (record.status_reason or "")
    progress = await stack.progress(run)
    init = progress.step(InfraStep.INIT)
    assert init is not None and init.state == StepState.FAILED and init.attempt == 1
    plan = progress.step(InfraStep.PLAN)
    assert plan is not None and plan.state == StepState.SKIPPED


class ParentInput(BaseModel):
    params: InfraProvisionParams
    infra_queue: str


@workflow.defn(name="InfraParentForTest", sandboxed=False)
class InfraParent:
    """A workflow that runs an infra run as its child (as tenant provisioning can)."""

    @workflow.run
    async def run(self, request: ParentInput) -> InfraResult:
        result: InfraResult = await workflow.execute_child_workflow(
            "InfraProvisionWorkflow",
            request.params,
            id=f"{workflow.info().workflow_id}-infra",
            result_type=InfraResult,
            task_queue=request.infra_queue,
        )
        return result


async def test_a_child_run_is_an_infra_run_of_its_own_and_is_approved_like_one(
    stack: Stack, tmp_path: Path
) -> None:
    """Run by another workflow (as tenant provisioning can), the infra run registers itself:
    it is listed, waits in Needs you, and a person approves it through the platform."""
    directory = write_config(tmp_path, 1, admin=True)
    parent_queue = f"{stack.task_queue}-parent"
    parent_id = f"parent-{uuid.uuid4().hex[:8]}"
    async with Worker(stack.client, task_queue=parent_queue, workflows=[InfraParent]):
        parent = await stack.client.start_workflow(
            "InfraParentForTest",
            ParentInput(
                params=InfraProvisionParams(directory=str(directory), requested_by="tenant-wf"),
                infra_queue=stack.task_queue,
            ),
            id=parent_id,
            task_queue=parent_queue,
            result_type=InfraResult,
            execution_timeout=timedelta(seconds=60),
        )
        needs = await eventually(
            stack.services.needs.list, lambda page: any(i.kind == KIND for i in page.items)
        )
        [item] = [i for i in needs.items if i.kind == KIND]
        assert item.name.startswith(f"{directory.name}-") and item.awaiting.kind == APPROVAL
        record = await stack.record(KIND, item.id)
        assert record.workflow_id == f"{parent_id}-infra" and record.requested_by == "tenant-wf"

        answer = await stack.act(
            KIND, "approve", item.id, InfraDecision(reason="tenant needs it", actor="bob")
        )
        assert answer.status_code == 200, answer.body
        result = await parent.result()

    assert result.status == InfraStatus.APPLIED
    assert state_of(stack, directory) == ["temporalcloud_user.root", "temporalcloud_user.user0"]
    done = await stack.wait_status(KIND, item.id, InfraStatus.APPLIED)
    assert done.percent == 100
    audit = await stack.services.audit.list(target_id=item.id)
    [created] = [e for e in audit if e.action == "create"]
    assert created.source == "workflow" and parent_id in created.message


async def test_reasons_are_visible_to_any_temporal_client(stack: Stack, tmp_path: Path) -> None:
    """The spec's signals work without Flightdeck: a plain client approves with a reason."""
    directory = write_config(tmp_path, 1, admin=True)
    run = await create(stack, directory, name="outside")
    await stack.wait_status(KIND, run.id, InfraStatus.AWAITING_APPROVAL)
    handle = stack.client.get_workflow_handle(run.workflow_id)
    await handle.signal("approve_apply", {"reason": "ok from the CLI", "actor": "temporal-cli"})
    assert (await result_of(stack, run)).status == InfraStatus.APPLIED
    assert await query(stack, run, SIGNAL_REASON_QUERY) == "ok from the CLI"
    record = await eventually(
        lambda: stack.services.audit.list(target_id=run.id),
        lambda entries: any(e.action == "approve" for e in entries),
    )
    [entry] = [e for e in record if e.action == "approve"]
    assert entry.actor == "temporal-cli"
