"""LabProvisionWorkflow (spec §6): lock, blueprint, provision, validate, human review, finalize,
then a durable TTL timer; CancelLab at any point tears down what exists.

Deterministic workflow code only: no I/O here; activities do the work. The lab's status is the
workflow's phase, reported to the store by the platform whenever it changes.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError, FailureError, is_cancelled_exception

with workflow.unsafe.imports_passed_through():
    from backend.domain.progress import StepState
    from backend.domains.labs.activities import INVALID_BLUEPRINT
    from backend.domains.labs.messages import (
        CANCEL_LAB_SIGNAL,
        CURRENT_PHASE_QUERY,
        HUMAN_REVIEW_SIGNAL,
        PERCENT_COMPLETE_QUERY,
        BlueprintInput,
        CancelLabSignal,
        EnvironmentInput,
        FinalizeInput,
        HumanReviewSignal,
        LabInput,
        LabProvisionParams,
        LabResult,
        LockLabInput,
        ProvisionResult,
        TeardownResult,
        ValidationResult,
    )
    from backend.domains.labs.model import (
        LAB_KIND,
        LAB_WORKFLOW_TYPE,
        LabStatus,
        LabStepName,
        ReviewDecision,
    )
    from backend.domains.labs.providers import Blueprint
    from backend.workflows.activity_steps import INJECTED_INVALID
    from backend.workflows.entity_workflow import (
        EntityWorkflow,
        failure_message,
        failure_type,
        run_to_completion,
    )
    from backend.workflows.platform_activities import ENTITY_MISSING, ENTITY_OWNED
    from backend.workflows.progress_tracker import StepPlan

PROVISION_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    maximum_interval=timedelta(seconds=30),
    maximum_attempts=20,
)
VALIDATION_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
    maximum_attempts=4,
    non_retryable_error_types=[INVALID_BLUEPRINT, INJECTED_INVALID],
)
TEARDOWN_RETRY = RetryPolicy(maximum_interval=timedelta(seconds=30))
"""Teardown retries until it succeeds: a lab is never left half torn down silently."""
NOT_OURS = (ENTITY_OWNED, ENTITY_MISSING)
"""Failures that mean the lab is not this run's to touch."""


@workflow.defn(name=LAB_WORKFLOW_TYPE)
class LabProvisionWorkflow(EntityWorkflow):
    """Provisions one lab, waits for its human review, runs it until its TTL, then tears it down."""

    KIND = LAB_KIND
    STEPS = (
        StepPlan(LabStepName.LOCK, 5),
        StepPlan(LabStepName.BLUEPRINT, 10),
        StepPlan(LabStepName.PROVISION, 45, heartbeats=True),
        StepPlan(LabStepName.VALIDATION, 20),
        StepPlan(LabStepName.REVIEW, 10),
        StepPlan(LabStepName.FINALIZE, 10),
        StepPlan(LabStepName.TEARDOWN, 0, heartbeats=True),
    )

    def __init__(self) -> None:
        super().__init__()
        self.tracker.progress.accepts = ["cancel"]
        self.tracker.progress.phase = LabStatus.QUEUED
        self._review: HumanReviewSignal | None = None
        self._cancel: CancelLabSignal | None = None
        self._flow: asyncio.Task[tuple[LabStatus, str]] | None = None
        self._review_round = 0

    # -- queries (spec names; `progress` comes from the platform) ---------------------------

    @workflow.query(name=CURRENT_PHASE_QUERY)
    def current_phase(self) -> str:
        """The phase the lab is in (spec name)."""
        return self.tracker.progress.phase

    @workflow.query(name=PERCENT_COMPLETE_QUERY)
    def percent_complete(self) -> int:
        """Percent complete, 0-100 (spec name)."""
        return self.tracker.progress.percent

    # -- signals ---------------------------------------------------------------------------

    @workflow.signal(name=HUMAN_REVIEW_SIGNAL)
    def human_review(self, signal: HumanReviewSignal) -> None:
        """A reviewer's decision; recorded, and ignored unless this review round is awaited."""
        taken = self.tracker.receive(
            "review",
            actor=signal.reviewer,
            decision=signal.decision.value,
            comment=signal.comment,
            signal_id=signal.signal_id,
            request_id=signal.request_id,
            answers="review",
        )
        if taken:
            self._review = signal
            self.tracker.stop_accepting("review")

    @workflow.signal(name=CANCEL_LAB_SIGNAL)
    def cancel_lab(self, signal: CancelLabSignal) -> None:
        """Cancel the lab: stop what runs and tear down what exists. Ignored once it is ending."""
        taken = self.tracker.receive(
            "cancel", actor=signal.actor, comment=signal.reason, signal_id=signal.signal_id
        )
        if taken:
            self._cancel = signal
            self.tracker.closing(f"the lab is being cancelled (by {signal.actor})")
            if self._flow is not None:
                self._flow.cancel()

    # -- the run ---------------------------------------------------------------------------

    @workflow.run
    async def run(self, params: LabProvisionParams) -> LabResult:
        """Provision, review, run until the TTL, tear down; cancel or failure tears down early."""
        self.report_for(params.lab_id)
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
                status, reason = LabStatus.FAILED, failure_message(err)
                step = self.tracker.running_step()
                if step is not None:
                    self.tracker.fail(step, reason)
                if failure_type(err) in NOT_OURS:
                    # Not this run's lab: touch nothing of it.
                    self.tracker.finish(LabStatus.FAILED, reason)
                    raise ApplicationError(
                        reason, type=failure_type(err), non_retryable=True
                    ) from err
            else:
                raise
        # Teardown runs to its end even if Temporal cancels the workflow meanwhile.
        result, cancelled_while_ending = await run_to_completion(self._end(params, status, reason))
        if cancelled_through_temporal or cancelled_while_ending:
            raise asyncio.CancelledError("lab workflow cancelled through Temporal")
        if status == LabStatus.FAILED:
            raise ApplicationError(f"lab {params.lab_id} failed: {reason}", non_retryable=True)
        return result

    async def _provision_and_serve(self, params: LabProvisionParams) -> tuple[LabStatus, str]:
        tracker = self.tracker
        lab_id = params.lab_id

        tracker.set_phase(LabStatus.QUEUED)
        await self.step(
            LabStepName.LOCK,
            LockLabInput(lab_id=lab_id, workflow_id=workflow.info().workflow_id),
        )
        self._stop_if_cancelled()
        tracker.complete(LabStepName.LOCK)

        tracker.set_phase(LabStatus.GENERATING_BLUEPRINT)
        blueprint = await self.step(
            LabStepName.BLUEPRINT,
            BlueprintInput(lab_id=lab_id, name=params.name, severity=params.severity),
            result_type=Blueprint,
        )
        self._stop_if_cancelled()
        tracker.complete(
            LabStepName.BLUEPRINT, f"{blueprint.template}: {len(blueprint.resources)} resources"
        )

        tracker.set_phase(LabStatus.PROVISIONING)
        provisioned = await self.step(
            LabStepName.PROVISION,
            EnvironmentInput(lab_id=lab_id, blueprint=blueprint),
            result_type=ProvisionResult,
            long=True,
            retry=PROVISION_RETRY,
            detail=f"0/{len(blueprint.resources)} resources",
        )
        self._stop_if_cancelled()
        detail = f"{provisioned.total}/{provisioned.total} resources"
        if provisioned.resumed_from:
            detail += f" (resumed after {provisioned.resumed_from})"
        tracker.complete(LabStepName.PROVISION, detail)

        await self._validate_until_approved(lab_id, blueprint)

        tracker.set_phase(LabStatus.FINALIZING)
        expires_at = workflow.now() + timedelta(hours=params.ttl_hours)
        await self.step(LabStepName.FINALIZE, FinalizeInput(lab_id=lab_id, expires_at=expires_at))
        self._stop_if_cancelled()
        tracker.complete(LabStepName.FINALIZE, f"running until {expires_at:%Y-%m-%d %H:%M} UTC")
        tracker.fields["expires_at"] = expires_at.isoformat()
        tracker.set_phase(LabStatus.RUNNING)

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
        tracker = self.tracker
        while True:
            tracker.set_phase(LabStatus.VALIDATING)
            validation = await self.step(
                LabStepName.VALIDATION,
                EnvironmentInput(lab_id=lab_id, blueprint=blueprint),
                result_type=ValidationResult,
                retry=VALIDATION_RETRY,
            )
            self._stop_if_cancelled()
            tracker.complete(
                LabStepName.VALIDATION,
                f"{validation.checks} checks passed (attempt {validation.attempt})",
            )

            self._review_round += 1
            request_id = f"review-{self._review_round}"
            await self.step(LabStepName.REVIEW, LabInput(lab_id=lab_id))
            self._stop_if_cancelled()
            tracker.wait(LabStepName.REVIEW, f"waiting for a reviewer ({request_id})")
            tracker.set_phase(LabStatus.AWAITING_REVIEW)
            tracker.await_human(
                "review",
                request_id,
                "Approve the lab, or request changes",
                accepts=("review", "cancel"),
            )
            await workflow.wait_condition(
                lambda: self._review is not None or self._cancel is not None
            )
            self._stop_if_cancelled()
            review = self._review
            assert review is not None
            self._review = None
            tracker.stop_awaiting()
            approved = review.decision == ReviewDecision.APPROVE
            verdict = "approved" if approved else "changes requested"
            comment = f": {review.comment}" if review.comment else ""
            tracker.complete(LabStepName.REVIEW, f"{verdict} by {review.reviewer}{comment}")
            if approved:
                return
            tracker.reset(LabStepName.VALIDATION)
            tracker.reset(LabStepName.REVIEW)

    def _stop_if_cancelled(self) -> None:
        """Raise CancelledError once CancelLab arrived: an activity that finished anyway (its
        cancellation came too late) must not let the flow go on."""
        if self._cancel is not None:
            raise asyncio.CancelledError("CancelLab received")

    async def _end(self, params: LabProvisionParams, status: LabStatus, reason: str) -> LabResult:
        """Tear down what exists and record the final status. Runs once, to completion."""
        tracker = self.tracker
        if tracker.progress.closing is None:
            tracker.closing(f"the lab is ending ({status.value})")
        if status in (LabStatus.CANCELLED, LabStatus.FAILED):
            tracker.end_open_steps(StepState.CANCELLED)
        tracker.progress.awaiting = None
        tracker.set_phase(LabStatus.TEARING_DOWN)
        torn_down = await self.step(
            LabStepName.TEARDOWN,
            LabInput(lab_id=params.lab_id),
            result_type=TeardownResult,
            long=True,
            retry=TEARDOWN_RETRY,
        )
        tracker.complete(LabStepName.TEARDOWN, f"{torn_down.removed} resources removed")
        if status == LabStatus.FAILED:
            tracker.progress.last_error = reason
        await self.ended(status, reason)
        return LabResult(lab_id=params.lab_id, status=status, reason=reason)
