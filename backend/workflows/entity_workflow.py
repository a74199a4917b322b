"""Base of every Flightdeck workflow: the shared `progress` query, the status path, and steps run
with the platform's timeouts (so a killed worker is replaced within seconds).

Deterministic workflow code only; the activities do the work.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Sequence
from datetime import timedelta
from typing import Any, ClassVar, TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from backend.domain.progress import PROGRESS_QUERY, Progress
    from backend.domain.status import RegisterRequest
    from backend.workflows.platform_activities import ENTITY_MISSING, ENTITY_OWNED, REGISTER_ENTITY
    from backend.workflows.progress_tracker import ProgressTracker, StepPlan
    from backend.workflows.status_reporter import StatusReporter

T = TypeVar("T")

HEARTBEAT_TIMEOUT = timedelta(seconds=10)
"""Every step heartbeats (automatically, every second): a dead worker is noticed within this."""
SHORT_STEP = timedelta(seconds=30)
LONG_STEP = timedelta(minutes=30)
WAIT = workflow.ActivityCancellationType.WAIT_CANCELLATION_COMPLETED
"""Steps with side effects finish (or stop) before anything undoes them."""
DEFAULT_RETRY = RetryPolicy(maximum_interval=timedelta(seconds=10), maximum_attempts=10)
REGISTER_RETRY = RetryPolicy(
    maximum_interval=timedelta(seconds=10), non_retryable_error_types=[ENTITY_MISSING, ENTITY_OWNED]
)
"""Registration waits out an API that is away; a refusal (name or id taken) is final."""


class EntityWorkflow:
    """Holds the workflow's progress and reports it to the store whenever it changes.

    A subclass sets `KIND` and `STEPS`, calls `report_for(entity_id)` first thing in its run,
    runs its activities with `step(...)`, and ends with `await self.ended(...)`.
    """

    KIND: ClassVar[str]
    STEPS: ClassVar[Sequence[StepPlan]]

    def __init__(self) -> None:
        self.tracker = ProgressTracker(self.STEPS)
        self._reporter: StatusReporter | None = None

    @workflow.query(name=PROGRESS_QUERY)
    def progress(self) -> Progress:
        """The shared progress model."""
        return self.tracker.progress

    def report_for(self, entity_id: str) -> None:
        """Start reporting this entity's status (the tracker's changes) to the store."""
        if self._reporter is None:
            self._reporter = StatusReporter(self.tracker, self.KIND, entity_id)

    async def register(
        self, entity_id: str, name: str, requested_by: str, fields: dict[str, Any]
    ) -> None:
        """A workflow another workflow started: create its entity (once), then report to it,
        so it is listed and acted on like one started through the API."""
        info = workflow.info()
        await workflow.execute_local_activity(
            REGISTER_ENTITY,
            RegisterRequest(
                kind=self.KIND,
                entity_id=entity_id,
                name=name,
                requested_by=requested_by,
                workflow_id=info.workflow_id,
                run_id=info.run_id,
                parent_workflow_id=info.parent.workflow_id if info.parent else None,
                fields=fields,
            ),
            start_to_close_timeout=SHORT_STEP,
            retry_policy=REGISTER_RETRY,
        )
        self.report_for(entity_id)

    async def reported(self) -> None:
        """Wait until the latest state has reached the store (e.g. before continue-as-new, so
        the verdict on the signal that caused it is not lost)."""
        if self._reporter is not None:
            await self._reporter.flush()

    async def ended(self, status: str, reason: str | None = None) -> None:
        """The workflow ends in `status`: report it and wait until the report got through."""
        self.tracker.finish(status, reason)
        if self._reporter is not None:
            await self._reporter.flush()

    async def step(
        self,
        name: str,
        arg: Any,
        *,
        activity: str | None = None,
        result_type: type | None = None,
        long: bool = False,
        retry: RetryPolicy = DEFAULT_RETRY,
        detail: str | None = None,
        start_to_close: timedelta | None = None,
    ) -> Any:
        """Run the step's activity (named like the step unless `activity` says otherwise).

        Short steps must finish within 30 s, long ones within 30 min or `start_to_close`; all
        heartbeat, so a dead worker is noticed within the heartbeat timeout either way."""
        self.tracker.start(name, detail)
        return await workflow.execute_activity(
            activity or name,
            arg,
            result_type=result_type,
            start_to_close_timeout=start_to_close or (LONG_STEP if long else SHORT_STEP),
            heartbeat_timeout=HEARTBEAT_TIMEOUT,
            retry_policy=retry,
            cancellation_type=WAIT,
        )


def failure_type(err: BaseException) -> str | None:
    """The type of the innermost ApplicationError of a failure chain."""
    found: str | None = None
    current: BaseException | None = err
    while current is not None:
        if isinstance(current, ApplicationError):
            found = current.type
        current = current.__cause__
    return found


def failure_message(err: BaseException) -> str:
    """The innermost readable message of an activity/application failure chain."""
    message = str(err)
    current: BaseException | None = err
    while current is not None:
        if isinstance(current, ApplicationError) and current.message:
            message = current.message
        elif not isinstance(current, ActivityError) and str(current):
            message = str(current)
        current = current.__cause__
    return message


async def run_to_completion(work: Coroutine[Any, Any, T]) -> tuple[T, bool]:
    """Run `work` to its end even if Temporal cancels the workflow meanwhile (a rollback or a
    removal is never left half done); its result, and whether a cancel came in."""
    task = asyncio.create_task(work)
    cancelled = False
    while True:
        try:
            return await asyncio.shield(task), cancelled
        except asyncio.CancelledError:
            if task.done():
                raise
            cancelled = True
