"""The status path: workflows report their entity's state to the store through a sink; the
status is the workflow's phase (one vocabulary), percent never goes backwards, reports carry
the decisions the workflow received so each is audited once."""

from __future__ import annotations

from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from backend.domain.status import ClaimRequest, ClaimResult, StatusAck, StatusReport
from backend.domains.labs.model import CancelLab, LabStatus
from backend.providers.status import StatusSink
from backend.runtime.components import build_registrars, shared_activities
from backend.workflows.registry import register_all
from tests.stack import Stack, platform_stack


class RecordingSink:
    """The store's sink, remembering every report it was given."""

    def __init__(self, inner: StatusSink) -> None:
        self.inner = inner
        self.reports: list[StatusReport] = []

    async def report(self, report: StatusReport) -> StatusAck:
        self.reports.append(report)
        return await self.inner.report(report)

    async def claim(self, request: ClaimRequest) -> ClaimResult:
        return await self.inner.claim(request)


async def test_a_lab_cancelled_while_validation_retries_reports_one_vocabulary_and_rising_percent(
    dev_env: WorkflowEnvironment, tmp_path: Path, task_queue: str
) -> None:
    async with platform_stack(
        dev_env.client, tmp_path, task_queue, faults="validation:always", run_worker=False
    ) as stack:
        sink = RecordingSink(stack.services.status)
        worker = register_all(
            stack.client,
            build_registrars(stack.settings, sink, task_queues=stack.task_queues),
            shared_activities=shared_activities(sink),  # type: ignore[arg-type]
        )[0]
        async with worker:
            lab = await stack.create("vocabulary")
            await stack.wait_status("lab", lab.id, LabStatus.VALIDATING)
            answer = await stack.act(
                "lab", "cancel", lab.id, CancelLab(reason="stop", actor="carol")
            )
            assert answer.status_code == 200, answer.body
            await stack.client.get_workflow_handle(lab.workflow_id).result()
        statuses = [r.status for r in sink.reports]
        assert set(statuses) <= {s.value for s in LabStatus}
        assert statuses[-1] == LabStatus.CANCELLED
        ending = statuses.index(LabStatus.TEARING_DOWN)
        assert LabStatus.VALIDATING not in statuses[ending:]
        percents = [r.percent for r in sink.reports]
        assert percents == sorted(percents) and percents[-1] >= 35, percents
        versions = [r.version for r in sink.reports]
        assert versions == sorted(versions) and len(set(versions)) == len(versions)
        cancel = [d for r in sink.reports for d in r.decisions if d.kind == "cancel"]
        assert len(cancel) == 1 and cancel[0].accepted and cancel[0].actor == "carol"
        record = await stack.record("lab", lab.id)
        assert (record.status, record.percent) == (LabStatus.CANCELLED, percents[-1])
        assert record.accepts == [] and record.awaiting is None


async def test_the_last_report_is_in_the_store_before_the_workflow_completes(
    stack: Stack,
) -> None:
    lab = await stack.create("flushed")
    await stack.wait_status("lab", lab.id, LabStatus.AWAITING_REVIEW)
    await stack.act("lab", "cancel", lab.id, CancelLab(reason="done", actor="carol"))
    await stack.client.get_workflow_handle(lab.workflow_id).result()
    record = await stack.record("lab", lab.id)
    assert record.status == LabStatus.CANCELLED and record.ended
    assert "cancelled by carol: done" in (record.status_reason or "")
