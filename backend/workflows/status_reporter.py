"""Workflow-side status path: send the entity's state to the store whenever it changes.

A background coroutine of the workflow sends one `StatusReport` at a time (a local activity, so
no extra task-queue round trip), always the latest snapshot; reports are versioned, so one that
arrives late never overwrites a newer one. Decisions (signals received) ride along until a report
carrying them got through, so each is audited once. `flush` waits until the final state is sent.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from backend.domain.status import StatusReport
    from backend.workflows.platform_activities import ENTITY_MISSING, REPORT_STATUS
    from backend.workflows.progress_tracker import ProgressTracker

REPORT_TIMEOUT = timedelta(seconds=10)
REPORT_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200),
    maximum_interval=timedelta(seconds=10),
    non_retryable_error_types=[ENTITY_MISSING],
)
"""Retried until it gets through (the API may be restarting); never fails the workflow."""
RETRY_PAUSE = timedelta(seconds=5)
"""Pause after a report failed for good (a refused payload) before sending the next snapshot."""


class StatusReporter:
    """Sends `tracker`'s state for one entity whenever it changes, newest snapshot only."""

    def __init__(self, tracker: ProgressTracker, kind: str, entity_id: str) -> None:
        self._tracker = tracker
        self._kind = kind
        self._entity_id = entity_id
        self._dirty = True
        self._sending = False
        self._stopped = False
        self._seq = 0
        self._reported_decisions = 0
        self._epoch = workflow.now().strftime("%Y-%m-%dT%H:%M:%S.%f")
        tracker.on_change = self.poke
        self._task: asyncio.Task[None] = asyncio.create_task(self._run())

    def poke(self) -> None:
        """Something changed: send a new snapshot soon."""
        self._dirty = True

    async def flush(self) -> None:
        """Wait until the latest state has been sent (or can never be)."""
        await workflow.wait_condition(lambda: self._stopped or not (self._dirty or self._sending))

    def _snapshot(self) -> StatusReport:
        info = workflow.info()
        progress = self._tracker.progress
        self._seq += 1
        return StatusReport(
            kind=self._kind,
            entity_id=self._entity_id,
            workflow_id=info.workflow_id,
            run_id=info.run_id,
            version=f"{self._epoch}#{self._seq:08d}",
            status=progress.phase,
            reason=self._tracker.reason,
            percent=progress.percent,
            awaiting=progress.awaiting,
            accepts=list(progress.accepts),
            last_error=progress.last_error,
            fields=dict(self._tracker.fields),
            done=progress.done,
            decisions=self._tracker.unreported_decisions(self._reported_decisions),
        )

    async def _run(self) -> None:
        while True:
            await workflow.wait_condition(lambda: self._dirty)
            self._dirty = False
            self._sending = True
            report = self._snapshot()
            try:
                await workflow.execute_local_activity(
                    REPORT_STATUS,
                    report,
                    start_to_close_timeout=REPORT_TIMEOUT,
                    retry_policy=REPORT_RETRY,
                )
            except ActivityError as err:
                if _is_missing(err):
                    workflow.logger.warning(
                        "entity %s is gone; status not reported", report.entity_id
                    )
                    self._stopped = True
                    self._sending = False
                    return
                workflow.logger.warning("status report of %s failed: %s", report.entity_id, err)
                self._dirty = True
                await workflow.sleep(RETRY_PAUSE)
            except asyncio.CancelledError:
                # The workflow was cancelled through Temporal: reporting goes on regardless.
                self._dirty = True
            else:
                if report.decisions:
                    self._reported_decisions = max(d.seq for d in report.decisions)
            finally:
                self._sending = False


def _is_missing(err: BaseException) -> bool:
    cause = err.__cause__
    return isinstance(cause, ApplicationError) and cause.type == ENTITY_MISSING
