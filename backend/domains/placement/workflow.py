"""The change processor: one long-lived workflow that reads the placement change log in order,
renders each change and sends it to the topics of the hosts it reaches (at least once; the
messages are idempotent). Its bookmark and lag are its progress; it starts a fresh run
(continue-as-new) every few hundred batches, carrying the bookmark, so its history stays short.

Deterministic workflow code only; the activity does the work.
"""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from backend.domains.placement.messages import (
        CHANGES_COMMITTED_SIGNAL,
        PROCESS_ACTIVITY,
        PROCESSOR_WORKFLOW_TYPE,
        ProcessorParams,
        ProcessRequest,
        ProcessResult,
    )
    from backend.domains.placement.model import PROCESSOR_KIND, ProcessorStatus
    from backend.workflows.entity_workflow import EntityWorkflow
    from backend.workflows.progress_tracker import StepPlan

BATCH = 200
"""Changes per activity call."""
POLL = timedelta(seconds=30)
"""How long it rests when caught up and not woken (a lost wake-up costs at most this)."""
BATCHES_PER_RUN = 500
"""Batches before a fresh run (continue-as-new)."""
PROCESS_STEP = "process"
RETRY_FOR_EVER = RetryPolicy(maximum_interval=timedelta(seconds=10))
"""A batch that fails (the API away) is retried until it goes through; the lag shows it."""


@workflow.defn(name=PROCESSOR_WORKFLOW_TYPE)
class PlacementProcessorWorkflow(EntityWorkflow):
    """Processes the change log for ever; woken by `changes_committed`, else polls."""

    KIND = PROCESSOR_KIND
    STEPS = (StepPlan(PROCESS_STEP, 100, heartbeats=True),)

    def __init__(self) -> None:
        super().__init__()
        self._woken = False

    @workflow.signal(name=CHANGES_COMMITTED_SIGNAL)
    def changes_committed(self) -> None:
        """A change was committed: process it now instead of at the next poll."""
        self._woken = True

    @workflow.run
    async def run(self, params: ProcessorParams) -> None:
        """Process batches until caught up, rest until woken (or the poll), and again."""
        self.report_for(params.entity_id)
        tracker = self.tracker
        tracker.set_phase(ProcessorStatus.RUNNING)
        bookmark, messages, changes = params.bookmark, params.messages, params.changes
        self._show(bookmark, bookmark, 0.0, messages, changes)
        for _ in range(BATCHES_PER_RUN):
            # Cleared before the batch: a wake-up during it means another batch right after.
            self._woken = False
            result: ProcessResult = await self.step(
                PROCESS_STEP,
                ProcessRequest(after=bookmark, limit=BATCH),
                activity=PROCESS_ACTIVITY,
                result_type=ProcessResult,
                detail=f"after change #{bookmark}",
                retry=RETRY_FOR_EVER,
            )
            bookmark = result.bookmark
            messages += result.messages
            changes += result.changes
            waited = 0.0
            if result.oldest_pending_at:
                oldest = datetime.fromisoformat(result.oldest_pending_at)
                waited = max(0.0, (workflow.now() - oldest).total_seconds())
            self._show(bookmark, result.head, waited, messages, changes)
            if workflow.info().is_continue_as_new_suggested():
                break
            if bookmark >= result.head:
                tracker.wait(PROCESS_STEP, f"caught up at change #{bookmark}; waiting for changes")
                with contextlib.suppress(TimeoutError):
                    await workflow.wait_condition(lambda: self._woken, timeout=POLL)
        await self.reported()
        workflow.continue_as_new(
            ProcessorParams(
                entity_id=params.entity_id, bookmark=bookmark, messages=messages, changes=changes
            )
        )

    def _show(self, bookmark: int, head: int, waited: float, messages: int, changes: int) -> None:
        lag = max(0, head - bookmark)
        tracker = self.tracker
        tracker.fields.update(
            bookmark=bookmark,
            head=head,
            lag=lag,
            lag_seconds=round(waited, 1),
            messages=messages,
            changes=changes,
        )
        tracker.progress.percent = 100 if head == 0 else min(100, bookmark * 100 // head)
        if lag:
            tracker.start(PROCESS_STEP, f"change #{bookmark} of #{head}: {lag} behind")
        tracker.publish()
