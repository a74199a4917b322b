"""LabProvisionWorkflow (spec §6): lock, blueprint, provision, validate, human review, finalize,
then a durable TTL timer; CancelLab at any point tears down what exists.

Deterministic workflow code only: no I/O here; activities do the work.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import (
    ActivityError,
    ApplicationError,
    FailureError,
    is_cancelled_exception,
)

with workflow.unsafe.imports_passed_through():
    from backend.domain.labs import LAB_WORKFLOW_TYPE, LabPhase, LabStatus, LabStepName
    from backend.domain.progress import PROGRESS_QUERY, Decision, Progress, StepState
    from backend.providers.labs.protocol import Blueprint
    from backend.workflows.labs.activities import INVALID_BLUEPRINT, LAB_LOCKED, LAB_MISSING
    from backend.workflows.labs.messages import (
        CANCEL_LAB_SIGNAL,
        CURRENT_PHASE_QUERY,
        HUMAN_REVIEW_SIGNAL,
        PERCENT_COMPLETE_QUERY,
        BlueprintInput,
        CancelLabSignal,
        EnvironmentInput,
        FinalizeInput,
        HumanReviewSignal,
        LabProvisionParams,
        LabResult,
        LockLabInput,
        ProvisionResult,
        RecordOutcomeInput,
        ReviewRequestInput,
        TeardownInput,
        TeardownResult,
        ValidationResult,
    )
    from backend.workflows.progress_tracker import ProgressTracker, StepPlan

STEPS = (
    StepPlan(LabStepName.LOCK, 5),
    StepPlan(LabStepName.BLUEPRINT, 10),
    StepPlan(LabStepName.PROVISION, 45, heartbeats=True),
    StepPlan(LabStepName.VALIDATION, 20),
    StepPlan(LabStepName.REVIEW, 10),
    StepPlan(LabStepName.FINALIZE, 10),
    StepPlan(LabStepName.TEARDOWN, 0, heartbeats=True),
)

SHORT = timedelta(seconds=30)
QUICK_RETRY = RetryPolicy(maximum_interval=timedelta(seconds=10), maximum_attempts=10)
PROVISION_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    maximum_interval=timedelta(seconds=30),
    maximum_attempts=20,
    non_retryable_error_types=[LAB_MISSING],
)
VALIDATION_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
    maximum_attempts=4,
    non_retryable_error_types=[INVALID_BLUEPRINT, LAB_MISSING],
)
TEARDOWN_RETRY = RetryPolicy(maximum_interval=timedelta(seconds=30))
"""Teardown retries until it succeeds: a lab is never left half torn down silently."""
HEARTBEAT_TIMEOUT = timedelta(seconds=20)
WAIT = workflow.ActivityCancellationType.WAIT_CANCELLATION_COMPLETED
"""Steps with side effects finish (or stop) before teardown starts, so teardown sees all they made."""


@workflow.defn(name=LAB_WORKFLOW_TYPE)
class LabProvisionWorkflow:
    """Provisions one lab, waits for its human review, runs it until its TTL, then tears it down."""

    def __init__(self) -> None:
        self._tracker = ProgressTracker(STEPS)
        self._review: HumanReviewSignal | None = None
        self._cancel: CancelLabSignal | None = None
        self._flow: asyncio.Task[tuple[LabStatus, str]] | None = None
        self._ending = False
        self._review_round = 0

    # -- queries ---------------------------------------------------------------------------

    @workflow.query(name=PROGRESS_QUERY)
    def progress(self) -> Progress:
        """The shared progress model."""
        return self._tracker.progress

    @workflow.query(name=CURRENT_PHASE_QUERY)
    def current_phase(self) -> str:
        """The phase the lab is in (spec name)."""
        return self._tracker.progress.phase

    @workflow.query(name=PERCENT_COMPLETE_QUERY)
    def percent_complete(self) -> int:
        """Percent complete, 0-100 (spec name)."""
        return self._tracker.progress.percent

    # -- signals ---------------------------------------------------------------------------

    @workflow.signal(name=HUMAN_REVIEW_SIGNAL)
    def human_review(self, signal: HumanReviewSignal) -> None:
        """A reviewer's decision; ignored (and recorded) unless a review is awaited."""
        awaiting = self._tracker.progress.awaiting
        note: str | None = None
        if awaiting is None or awaiting.kind != "review":
            note = f"not waiting for review (phase {self._tracker.progress.phase})"
        elif signal.request_id is not None and signal.request_id != awaiting.request_id:
            note = f"answers {signal.request_id}, but {awaiting.request_id} is awaited"
        elif self._review is not None:
            note = "a decision for this review was already received"
        self._tracker.record_decision(
            Decision(
                request_id=signal.request_id or (awaiting.request_id if awaiting else None),
                kind="review",
                decision=signal.decision.value,
                actor=signal.reviewer,
                comment=signal.comment,
                at=workflow.now(),
                accepted=note is None,
                note=note,
                signal_id=signal.signal_id,
            )
        )
        if note is None:
            self._review = signal

    @workflow.signal(name=CANCEL_LAB_SIGNAL)
    def cancel_lab(self, signal: CancelLabSignal) -> None:
        """Cancel the lab: stop what runs and tear down what exists. Ignored once it is ending."""
        accepted = not self._ending and self._cancel is None
        self._tracker.record_decision(
            Decision(
                request_id=None,
                kind="cancel",
                decision="cancel",
                actor=signal.actor,
                comment=signal.reason,
                at=workflow.now(),
                accepted=accepted,
                note=None if accepted else "the lab is already ending",
                signal_id=signal.signal_id,
            )
        )
        if accepted:
            self._cancel = signal
            if self._flow is not None:
                self._flow.cancel()

    # -- the run ---------------------------------------------------------------------------

    @workflow.run
    async def run(self, params: LabProvisionParams) -> LabResult:
        """Provision, review, run until the TTL, tear down; cancel or failure tears down early."""
        self._flow = asyncio.create_task(self._provision_and_serve(params))
        if self._cancel is not None:
            self._flow.cancel()
        cancelled_through_temporal = False
        try:
            status, reason = await self._flow
        except BaseException as err:
            if is_cancelled_exception(err):
                status = LabStatus.CANCELLED
                if self._cancel is None:
                    # Cancelled through Temporal itself (e.g. `temporal workflow cancel`).
                    cancelled_through_temporal = True
                    reason = "cancelled through Temporal"
                else:
                    reason = f"cancelled by {self._cancel.actor}: {self._cancel.reason}"
            elif isinstance(err, FailureError):
                status, reason = LabStatus.FAILED, _failure_message(err)
                step = self._tracker.running_step()
                if step is not None:
                    self._tracker.fail(step, reason)
                if _failure_type(err) in (LAB_LOCKED, LAB_MISSING):
                    # Not this run's lab: touch nothing of it.
                    self._tracker.finish(LabPhase.FAILED)
                    raise ApplicationError(
                        reason, type=_failure_type(err), non_retryable=True
                    ) from err
            else:
                raise
        result, cancelled_while_ending = await self._end_once(params, status, reason)
        if cancelled_through_temporal or cancelled_while_ending:
            raise asyncio.CancelledError("lab workflow cancelled through Temporal")
        if status == LabStatus.FAILED:
            raise ApplicationError(f"lab {params.lab_id} failed: {reason}", non_retryable=True)
        return result

    async def _end_once(
        self, params: LabProvisionParams, status: LabStatus, reason: str
    ) -> tuple[LabResult, bool]:
        """Run `_end` to completion even if Temporal cancels the workflow meanwhile."""
        ending = asyncio.create_task(self._end(params, status, reason))
        cancelled = False
        while True:
            try:
                return await asyncio.shield(ending), cancelled
            except asyncio.CancelledError:
                cancelled = True

    async def _provision_and_serve(self, params: LabProvisionParams) -> tuple[LabStatus, str]:
        tracker = self._tracker
        lab_id = params.lab_id

        tracker.set_phase(LabPhase.QUEUED)
        tracker.start(LabStepName.LOCK)
        await workflow.execute_activity(
            LabStepName.LOCK,
            LockLabInput(lab_id=lab_id, workflow_id=workflow.info().workflow_id),
            start_to_close_timeout=SHORT,
            cancellation_type=WAIT,
            retry_policy=RetryPolicy(
                maximum_interval=timedelta(seconds=10),
                non_retryable_error_types=[LAB_LOCKED, LAB_MISSING],
            ),
        )
        self._stop_if_cancelled()
        tracker.complete(LabStepName.LOCK)

        tracker.start(LabStepName.BLUEPRINT)
        tracker.set_phase(LabPhase.BLUEPRINT)
        blueprint = await workflow.execute_activity(
            LabStepName.BLUEPRINT,
            BlueprintInput(lab_id=lab_id, name=params.name, severity=params.severity),
            result_type=Blueprint,
            start_to_close_timeout=timedelta(minutes=2),
            retry_policy=QUICK_RETRY,
            cancellation_type=WAIT,
        )
        self._stop_if_cancelled()
        tracker.complete(
            LabStepName.BLUEPRINT, f"{blueprint.template}: {len(blueprint.resources)} resources"
        )

        tracker.start(LabStepName.PROVISION, f"0/{len(blueprint.resources)} resources")
        tracker.set_phase(LabPhase.PROVISIONING)
        provisioned = await workflow.execute_activity(
            LabStepName.PROVISION,
            EnvironmentInput(lab_id=lab_id, blueprint=blueprint),
            result_type=ProvisionResult,
            start_to_close_timeout=timedelta(minutes=30),
            heartbeat_timeout=HEARTBEAT_TIMEOUT,
            retry_policy=PROVISION_RETRY,
            cancellation_type=WAIT,
        )
        self._stop_if_cancelled()
        detail = f"{provisioned.total}/{provisioned.total} resources"
        if provisioned.resumed_from:
            detail += f" (resumed after {provisioned.resumed_from})"
        tracker.complete(LabStepName.PROVISION, detail)

        await self._validate_until_approved(lab_id, blueprint)

        tracker.start(LabStepName.FINALIZE)
        tracker.set_phase(LabPhase.FINALIZING)
        expires_at = workflow.now() + timedelta(hours=params.ttl_hours)
        await workflow.execute_activity(
            LabStepName.FINALIZE,
            FinalizeInput(lab_id=lab_id, expires_at=expires_at),
            start_to_close_timeout=SHORT,
            cancellation_type=WAIT,
            retry_policy=QUICK_RETRY,
        )
        self._stop_if_cancelled()
        tracker.complete(LabStepName.FINALIZE, f"running until {expires_at:%Y-%m-%d %H:%M} UTC")
        tracker.set_phase(LabPhase.RUNNING)

        try:
            await workflow.wait_condition(
                lambda: self._cancel is not None, timeout=expires_at - workflow.now()
            )
        except TimeoutError:
            return LabStatus.EXPIRED, f"TTL of {params.ttl_hours} h reached"
        self._stop_if_cancelled()
        return LabStatus.EXPIRED, f"TTL of {params.ttl_hours} h reached"

    async def _validate_until_approved(self, lab_id: str, blueprint: Blueprint) -> None:
        """Validation then review; `request_changes` loops back to validation."""
        tracker = self._tracker
        while True:
            tracker.start(LabStepName.VALIDATION)
            tracker.set_phase(LabPhase.VALIDATING)
            validation = await workflow.execute_activity(
                LabStepName.VALIDATION,
                EnvironmentInput(lab_id=lab_id, blueprint=blueprint),
                result_type=ValidationResult,
                start_to_close_timeout=timedelta(minutes=5),
                retry_policy=VALIDATION_RETRY,
            )
            self._stop_if_cancelled()
            tracker.complete(
                LabStepName.VALIDATION,
                f"{validation.checks} checks passed (attempt {validation.attempt})",
            )

            self._review_round += 1
            request_id = f"review-{self._review_round}"
            tracker.start(LabStepName.REVIEW)
            await workflow.execute_activity(
                LabStepName.REVIEW,
                ReviewRequestInput(lab_id=lab_id, request_id=request_id),
                start_to_close_timeout=SHORT,
                cancellation_type=WAIT,
                retry_policy=QUICK_RETRY,
            )
            self._stop_if_cancelled()
            tracker.wait(LabStepName.REVIEW, f"waiting for a reviewer ({request_id})")
            tracker.set_phase(LabPhase.AWAITING_REVIEW)
            tracker.await_human("review", request_id, "Approve the lab, or request changes")
            await workflow.wait_condition(
                lambda: self._review is not None or self._cancel is not None
            )
            self._stop_if_cancelled()
            review = self._review
            assert review is not None
            self._review = None
            tracker.stop_awaiting()
            verdict = "approved" if review.decision == "approve" else "changes requested"
            comment = f": {review.comment}" if review.comment else ""
            if review.decision == "approve":
                tracker.complete(LabStepName.REVIEW, f"{verdict} by {review.reviewer}{comment}")
                return
            tracker.complete(LabStepName.REVIEW, f"{verdict} by {review.reviewer}{comment}")
            tracker.reset(LabStepName.VALIDATION)
            tracker.reset(LabStepName.REVIEW)

    def _stop_if_cancelled(self) -> None:
        """Raise CancelledError once CancelLab arrived: an activity that finished anyway (its
        cancellation came too late) must not let the flow go on."""
        if self._cancel is not None:
            raise asyncio.CancelledError("CancelLab received")

    async def _end(self, params: LabProvisionParams, status: LabStatus, reason: str) -> LabResult:
        """Tear down what exists and record the final status. Runs once, to completion."""
        self._ending = True
        tracker = self._tracker
        step_state = {
            LabStatus.CANCELLED: StepState.CANCELLED,
            LabStatus.FAILED: StepState.CANCELLED,
        }.get(status)
        if step_state is not None:
            tracker.end_open_steps(step_state)
        tracker.progress.awaiting = None
        tracker.start(LabStepName.TEARDOWN)
        tracker.set_phase(LabPhase.TEARING_DOWN)
        torn_down = await workflow.execute_activity(
            LabStepName.TEARDOWN,
            TeardownInput(lab_id=params.lab_id),
            result_type=TeardownResult,
            start_to_close_timeout=timedelta(minutes=30),
            heartbeat_timeout=HEARTBEAT_TIMEOUT,
            retry_policy=TEARDOWN_RETRY,
        )
        tracker.complete(LabStepName.TEARDOWN, f"{torn_down.removed} resources removed")
        await workflow.execute_activity(
            "RecordLabOutcome",
            RecordOutcomeInput(lab_id=params.lab_id, status=status, reason=reason),
            start_to_close_timeout=SHORT,
            cancellation_type=WAIT,
            retry_policy=RetryPolicy(maximum_interval=timedelta(seconds=30)),
        )
        if status == LabStatus.FAILED:
            tracker.progress.last_error = reason
        tracker.finish(LabPhase(status.value))
        return LabResult(lab_id=params.lab_id, status=status, reason=reason)


def _failure_type(err: BaseException) -> str | None:
    """The type of the innermost ApplicationError of a failure chain."""
    found: str | None = None
    current: BaseException | None = err
    while current is not None:
        if isinstance(current, ApplicationError):
            found = current.type
        current = current.__cause__
    return found


def _failure_message(err: BaseException) -> str:
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
