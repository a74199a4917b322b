"""LabProvisionWorkflow on real Temporal servers: every path of spec §6."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio.client import WorkflowFailureError
from temporalio.testing import WorkflowEnvironment

from backend.domain.progress import Progress, StepState
from backend.domains.labs.messages import HumanReviewSignal, LabProvisionParams, LabResult
from backend.domains.labs.model import (
    CancelLab,
    Lab,
    LabSeverity,
    LabStatus,
    ReviewDecision,
    ReviewLab,
)
from tests.stack import Stack, eventually, platform_stack


def awaiting_review(progress: Progress) -> bool:
    return progress.awaiting is not None and progress.awaiting.kind == "review"


async def approve(stack: Stack, lab_id: str, reviewer: str = "bob") -> None:
    answer = await stack.act(
        "lab", "review", lab_id, ReviewLab(decision=ReviewDecision.APPROVE, reviewer=reviewer)
    )
    assert answer.status_code == 200, answer.body


async def test_happy_path_reaches_running_with_every_step_completed(stack: Stack) -> None:
    lab = await stack.create("happy", LabSeverity.MEDIUM)
    progress = await stack.wait_progress(lab, awaiting_review)
    assert progress.phase == "awaiting_review"
    assert progress.percent == 80
    await stack.wait_status("lab", lab.id, LabStatus.AWAITING_REVIEW)
    resources = await stack.lab_environments.list_resources(lab.id)
    assert [r.name for r in resources] == ["database", "dns", "network", "vm-1", "vm-2"]

    await approve(stack, lab.id)
    progress = await stack.wait_progress(lab, lambda p: p.phase == "running")
    assert progress.percent == 100
    states = {s.name: s.state for s in progress.steps}
    assert all(
        states[n] == StepState.COMPLETED
        for n in [
            "LockLab",
            "GenerateBlueprint",
            "ProvisionEnvironment",
            "RunValidation",
            "RequestHumanReview",
            "FinalizeLab",
        ]
    )
    record = await stack.wait_status("lab", lab.id, LabStatus.RUNNING)
    assert record.fields["expires_at"] is not None and record.percent == 100
    handle = stack.client.get_workflow_handle(lab.workflow_id)
    assert await handle.query("CurrentPhase") == "running"
    assert await handle.query("PercentComplete") == 100


async def test_request_changes_loops_back_to_validation_then_review(stack: Stack) -> None:
    lab = await stack.create("loop")
    await stack.wait_progress(lab, awaiting_review)
    await stack.act(
        "lab",
        "review",
        lab.id,
        ReviewLab(decision=ReviewDecision.REQUEST_CHANGES, reviewer="bob", comment="bigger vm"),
    )
    progress = await stack.wait_progress(
        lab,
        lambda p: (
            awaiting_review(p) and p.awaiting is not None and p.awaiting.request_id == "review-2"
        ),
    )
    validation = progress.step("RunValidation")
    assert validation is not None and validation.attempt == 2
    assert [d.decision for d in progress.decisions if d.accepted] == ["request_changes"]
    await approve(stack, lab.id)
    await stack.wait_progress(lab, lambda p: p.phase == "running")


async def test_review_signal_when_not_waiting_is_ignored_and_recorded(stack: Stack) -> None:
    lab = await stack.create("early")
    handle = stack.client.get_workflow_handle(lab.workflow_id)
    await stack.wait_progress(lab, awaiting_review)
    await approve(stack, lab.id)
    await stack.wait_progress(lab, lambda p: p.phase == "running")
    # A stray signal from any Temporal client (e.g. the CLI) once the lab runs:
    await handle.signal(
        "HumanReview", HumanReviewSignal(decision=ReviewDecision.APPROVE, reviewer="eve")
    )
    progress = await stack.wait_progress(lab, lambda p: len(p.decisions) == 2)
    ignored = progress.decisions[-1]
    assert not ignored.accepted and ignored.actor == "eve"
    assert "not waiting for review" in (ignored.note or "")
    assert progress.phase == "running"


async def test_validation_retries_then_succeeds(
    skipping_env: WorkflowEnvironment, tmp_path: Path, task_queue: str
) -> None:
    async with platform_stack(
        skipping_env.client, tmp_path, task_queue, faults="validation:2"
    ) as stack:
        lab = await stack.create("flaky")
        progress = await stack.wait_progress(lab, awaiting_review, timeout=60)
        step = progress.step("RunValidation")
        assert step is not None and "attempt 3" in (step.detail or "")


async def test_validation_failing_every_retry_fails_the_lab_and_tears_down(
    skipping_env: WorkflowEnvironment, tmp_path: Path, task_queue: str
) -> None:
    async with platform_stack(
        skipping_env.client, tmp_path, task_queue, faults="validation:always"
    ) as stack:
        lab = await stack.create("broken")
        handle = stack.client.get_workflow_handle(lab.workflow_id)
        with pytest.raises(WorkflowFailureError):
            await handle.result()
        progress = await stack.progress(lab)
        assert progress.phase == "failed" and progress.done
        assert "validation failed on attempt 4" in (progress.last_error or "")
        record = await stack.record("lab", lab.id)
        assert record is not None and record.status == LabStatus.FAILED
        assert await stack.lab_environments.list_resources(lab.id) == []


async def test_invalid_blueprint_fails_without_retrying(
    skipping_env: WorkflowEnvironment, tmp_path: Path, task_queue: str
) -> None:
    async with platform_stack(
        skipping_env.client, tmp_path, task_queue, faults="blueprint:invalid"
    ) as stack:
        lab = await stack.create("tampered")
        with pytest.raises(WorkflowFailureError):
            await stack.client.get_workflow_handle(lab.workflow_id).result()
        progress = await stack.progress(lab)
        step = progress.step("GenerateBlueprint")
        assert step is not None and step.state == StepState.FAILED and step.attempt == 1
        assert "blueprint refused as invalid" in (progress.last_error or "")
        assert (await stack.record("lab", lab.id)).status == LabStatus.FAILED  # type: ignore[union-attr]
        assert await stack.lab_environments.list_resources(lab.id) == []


async def test_ttl_expiry_tears_the_lab_down(
    skipping_env: WorkflowEnvironment, skipping_stack: Stack
) -> None:
    stack = skipping_stack
    lab = await stack.create("short", ttl_hours=3)
    await stack.wait_progress(lab, awaiting_review, timeout=60)
    await approve(stack, lab.id)
    await stack.wait_progress(lab, lambda p: p.phase == "running")
    await skipping_env.sleep(timedelta(hours=3, minutes=1))
    result = await stack.client.get_workflow_handle(lab.workflow_id, result_type=LabResult).result()
    assert result.status == LabStatus.EXPIRED
    record = await stack.record("lab", lab.id)
    assert record is not None and record.status == LabStatus.EXPIRED
    assert "TTL of 3 h" in (record.status_reason or "")
    assert await stack.lab_environments.list_resources(lab.id) == []
    assert "removed dns" in stack.labs_sandbox.events(lab.id)


async def _cancel_and_check(stack: Stack, lab_id: str, workflow_id: str) -> None:
    await stack.act("lab", "cancel", lab_id, CancelLab(reason="not needed", actor="carol"))
    result = await stack.client.get_workflow_handle(workflow_id, result_type=LabResult).result()
    assert result.status == LabStatus.CANCELLED
    assert "carol" in (result.reason or "")
    record = await stack.record("lab", lab_id)
    assert record is not None and record.status == LabStatus.CANCELLED
    assert await stack.lab_environments.list_resources(lab_id) == []
    created = [e for e in stack.labs_sandbox.events(lab_id) if e.startswith("created")]
    removed = [e for e in stack.labs_sandbox.events(lab_id) if e.startswith("removed")]
    assert sorted(e.split()[1] for e in created) == sorted(e.split()[1] for e in removed)


async def test_cancel_while_queued_before_any_worker_runs(
    dev_env: WorkflowEnvironment, tmp_path: Path, task_queue: str
) -> None:
    async with platform_stack(dev_env.client, tmp_path, task_queue, run_worker=False) as stack:
        lab = await stack.create("queued")
        await stack.act("lab", "cancel", lab.id, CancelLab(reason="changed my mind", actor="carol"))
        async with stack.worker():
            result = await stack.client.get_workflow_handle(
                lab.workflow_id, result_type=LabResult
            ).result()
            progress = await stack.progress(lab)
        assert result.status == LabStatus.CANCELLED
        assert progress.step("GenerateBlueprint").state == StepState.SKIPPED  # type: ignore[union-attr]
        assert stack.labs_sandbox.events(lab.id) == []


async def test_cancel_during_provisioning_stops_and_tears_down(
    dev_env: WorkflowEnvironment, tmp_path: Path, task_queue: str
) -> None:
    async with platform_stack(dev_env.client, tmp_path, task_queue, step_seconds=0.2) as stack:
        lab = await stack.create("mid", LabSeverity.CRITICAL)
        await eventually(
            lambda: stack.lab_environments.list_resources(lab.id), lambda r: len(r) >= 2
        )
        await _cancel_and_check(stack, lab.id, lab.workflow_id)
        created = [e for e in stack.labs_sandbox.events(lab.id) if e.startswith("created")]
        assert len(created) >= 2


async def test_cancel_while_awaiting_review_tears_down(stack: Stack) -> None:
    lab = await stack.create("review")
    await stack.wait_progress(lab, awaiting_review)
    await _cancel_and_check(stack, lab.id, lab.workflow_id)


async def test_cancel_while_running_tears_down(stack: Stack) -> None:
    lab = await stack.create("running")
    await stack.wait_progress(lab, awaiting_review)
    await approve(stack, lab.id)
    await stack.wait_progress(lab, lambda p: p.phase == "running")
    await _cancel_and_check(stack, lab.id, lab.workflow_id)


async def test_cancel_during_validation_retries_tears_down(
    dev_env: WorkflowEnvironment, tmp_path: Path, task_queue: str
) -> None:
    async with platform_stack(
        dev_env.client, tmp_path, task_queue, faults="validation:always"
    ) as stack:
        lab = await stack.create("validating")
        await stack.wait_progress(
            lab,
            lambda p: (s := p.step("RunValidation")) is not None and s.state == StepState.RUNNING,
        )
        await _cancel_and_check(stack, lab.id, lab.workflow_id)


async def _temporal_cancel_and_check(stack: Stack, lab: Lab) -> None:
    """Cancel through Temporal itself: the workflow ends Cancelled with everything torn down."""
    handle = stack.client.get_workflow_handle(lab.workflow_id)
    await handle.cancel()
    with pytest.raises(WorkflowFailureError):
        await handle.result()
    record = await stack.record("lab", lab.id)
    assert record is not None and record.status == LabStatus.CANCELLED
    assert await stack.lab_environments.list_resources(lab.id) == []


async def test_temporal_cancel_also_tears_down(stack: Stack) -> None:
    lab = await stack.create("external")
    await stack.wait_progress(lab, awaiting_review)
    await _temporal_cancel_and_check(stack, lab)


async def test_worker_restart_mid_provision_resumes_from_heartbeat(
    dev_env: WorkflowEnvironment, tmp_path: Path, task_queue: str
) -> None:
    async with platform_stack(
        dev_env.client, tmp_path, task_queue, step_seconds=0.25, run_worker=False
    ) as stack:
        lab = await stack.create("restart", LabSeverity.CRITICAL)
        first = stack.worker(graceful_seconds=0)
        async with first:
            await eventually(
                lambda: stack.lab_environments.list_resources(lab.id), lambda r: len(r) >= 3
            )
        # The first worker is gone mid-provision; a new one picks the activity up again.
        async with stack.worker():
            progress = await stack.wait_progress(lab, awaiting_review, timeout=60)
        step = progress.step("ProvisionEnvironment")
        assert step is not None and "resumed after" in (step.detail or "")
        created = [e for e in stack.labs_sandbox.events(lab.id) if e.startswith("created")]
        assert len(created) == 8 and len(set(created)) == 8, created


async def test_a_second_workflow_for_the_same_lab_is_refused_and_touches_nothing(
    stack: Stack,
) -> None:
    lab = await stack.create("owned")
    await stack.wait_progress(lab, awaiting_review)
    intruder = await stack.client.start_workflow(
        "LabProvisionWorkflow",
        LabProvisionParams(
            lab_id=lab.id,
            name="owned",
            requested_by="mallory",
            severity=LabSeverity.LOW,
            ttl_hours=1,
        ),
        id=f"intruder-{lab.id}",
        task_queue=stack.task_queue,
    )
    with pytest.raises(WorkflowFailureError):
        await intruder.result()
    record = await stack.record("lab", lab.id)
    assert record is not None and record.status == LabStatus.AWAITING_REVIEW
    assert len(await stack.lab_environments.list_resources(lab.id)) == 3


async def test_temporal_cancel_during_teardown_still_finishes_it(
    dev_env: WorkflowEnvironment, tmp_path: Path, task_queue: str
) -> None:
    async with platform_stack(dev_env.client, tmp_path, task_queue, step_seconds=0.3) as stack:
        lab = await stack.create("stubborn", LabSeverity.CRITICAL)
        await stack.wait_progress(lab, awaiting_review, timeout=60)
        await stack.act("lab", "cancel", lab.id, CancelLab(reason="done", actor="carol"))
        await stack.wait_progress(lab, lambda p: p.phase == "tearing_down")
        await _temporal_cancel_and_check(stack, lab)


async def test_two_reviewers_at_once_get_one_acceptance_and_one_refusal(stack: Stack) -> None:
    lab = await stack.create("race")
    await stack.wait_progress(lab, awaiting_review)
    results = await asyncio.gather(
        stack.act(
            "lab", "review", lab.id, ReviewLab(decision=ReviewDecision.APPROVE, reviewer="ann")
        ),
        stack.act(
            "lab",
            "review",
            lab.id,
            ReviewLab(decision=ReviewDecision.REQUEST_CHANGES, reviewer="bob"),
        ),
    )
    accepted = [r for r in results if r.status_code == 200]
    refused = [r for r in results if r.status_code == 409]
    assert len(accepted) == 1 and len(refused) == 1, results
    outcomes = sorted(
        e.outcome.value for e in await stack.services.audit.list() if e.action.startswith("review")
    )
    assert outcomes == ["accepted", "refused"]


async def test_percent_moves_inside_provisioning_from_heartbeats(
    dev_env: WorkflowEnvironment, tmp_path: Path, task_queue: str
) -> None:
    async with platform_stack(dev_env.client, tmp_path, task_queue, step_seconds=0.3) as stack:
        lab = await stack.create("beats", LabSeverity.CRITICAL)
        seen = await eventually(
            lambda: stack.service("lab").get(lab.id),
            lambda got: (
                got.progress is not None
                and (step := got.progress.step("ProvisionEnvironment")) is not None
                and step.state == StepState.RUNNING
                and (step.detail or "").split("/")[0] not in ("", "0")
            ),
        )
        assert seen.progress is not None
        step = seen.progress.step("ProvisionEnvironment")
        assert step is not None and step.detail is not None and step.detail.endswith("/8")
        done = int(step.detail.split("/")[0])
        assert seen.progress.percent == 15 + round(45 * done / 8)
