"""InfraProvisionWorkflow (specs/infra-provisioning-demo.md): terraform init, plan, evaluate
policy, wait for a person's approval or denial (with a reason) when policy fails or approval is
required, apply, show the outputs. A denial ends the run `rejected` without applying; an
optional approval timeout ends it `expired`; cancel_run interrupts whatever runs.

Deterministic workflow code only: no I/O here; activities do the work. The run's status is the
workflow's phase (the spec's `provisionStatus`), reported to the store by the platform and
upserted as the spec's search attributes. Usable as a child workflow (with no `run_id`, it
reports nothing and keys its files by its workflow id).
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey
from temporalio.exceptions import ApplicationError, FailureError, is_cancelled_exception

with workflow.unsafe.imports_passed_through():
    from backend.domain.progress import StepState
    from backend.domains.infra.messages import (
        APPLY_ACTIVITY,
        APPROVE_SIGNAL,
        CANCEL_SIGNAL,
        CURRENT_STATE_QUERY,
        DENY_SIGNAL,
        INIT_ACTIVITY,
        INVALID_CONFIGURATION,
        PLAN_ACTIVITY,
        PLAN_CHANGED,
        POLICY_ACTIVITY,
        SHOW_ACTIVITY,
        SIGNAL_REASON_QUERY,
        ApplyInput,
        CancelSignal,
        DecisionSignal,
        InfraProvisionParams,
        InfraResult,
        InitResult,
        PolicyInput,
        PolicyOutcome,
        RunInput,
        ShowResult,
    )
    from backend.domains.infra.model import (
        APPROVAL,
        INFRA_KIND,
        INFRA_WORKFLOW_TYPE,
        InfraStatus,
        InfraStep,
        PlanLine,
        PlanView,
    )
    from backend.domains.infra.plan import ApplyResult, ChangeAction, Plan, PolicyReport
    from backend.domains.infra.spec import PROVISION_STATUS, TF_DIRECTORY
    from backend.workflows.activity_steps import INJECTED_INVALID
    from backend.workflows.entity_workflow import (
        EntityWorkflow,
        failure_message,
        failure_type,
        run_to_completion,
    )
    from backend.workflows.progress_tracker import StepPlan

PROVISION_STATUS_KEY = SearchAttributeKey.for_text(PROVISION_STATUS)
TF_DIRECTORY_KEY = SearchAttributeKey.for_text(TF_DIRECTORY)

_FINAL_CONFIG = [INVALID_CONFIGURATION, INJECTED_INVALID]
INIT_RETRY = RetryPolicy(
    maximum_interval=timedelta(seconds=10),
    maximum_attempts=5,
    non_retryable_error_types=_FINAL_CONFIG,
)
PLAN_RETRY = RetryPolicy(
    maximum_interval=timedelta(seconds=10),
    maximum_attempts=10,
    non_retryable_error_types=_FINAL_CONFIG,
)
POLICY_RETRY = RetryPolicy(
    maximum_interval=timedelta(seconds=5),
    maximum_attempts=5,
    non_retryable_error_types=_FINAL_CONFIG,
)
APPLY_RETRY = RetryPolicy(
    maximum_interval=timedelta(seconds=30),
    maximum_attempts=10,
    non_retryable_error_types=[*_FINAL_CONFIG, PLAN_CHANGED],
)
"""Apply tries again after a provider hiccup, never after a refusal, never a changed plan."""
APPLY_TIMEOUT = timedelta(hours=6)
"""An apply may take hours (a database); a dead worker is still noticed by its heartbeat."""
POLICY_TIMEOUT = timedelta(seconds=30)


@workflow.defn(name=INFRA_WORKFLOW_TYPE)
class InfraProvisionWorkflow(EntityWorkflow):
    """One terraform run of a directory, with a policy gate and a human in the loop."""

    KIND = INFRA_KIND
    STEPS = (
        StepPlan(InfraStep.INIT, 10),
        StepPlan(InfraStep.PLAN, 20, heartbeats=True),
        StepPlan(InfraStep.POLICY, 10),
        StepPlan(InfraStep.APPROVAL, 10),
        StepPlan(InfraStep.APPLY, 40, heartbeats=True),
        StepPlan(InfraStep.SHOW, 10),
    )

    def __init__(self) -> None:
        super().__init__()
        self.tracker.progress.accepts = ["cancel"]
        self.tracker.progress.phase = InfraStatus.UNINITIALIZED
        self._params: InfraProvisionParams | None = None
        self._decision: tuple[str, DecisionSignal] | None = None
        self._cancel: CancelSignal | None = None
        self._reason = ""
        self._flow: asyncio.Task[tuple[InfraStatus, str]] | None = None
        self._outputs: dict[str, object] = {}

    # -- queries (spec names; `progress` comes from the platform) ---------------------------

    @workflow.query(name=CURRENT_STATE_QUERY)
    def query_current_state(self) -> str:
        """The run's current state (the spec's provisionStatus value)."""
        return self.tracker.progress.phase

    @workflow.query(name=SIGNAL_REASON_QUERY)
    def query_signal_reason(self) -> str:
        """The reason given with the approval or denial ("" until someone decided)."""
        return self._reason

    # -- signals ---------------------------------------------------------------------------

    @workflow.signal(name=APPROVE_SIGNAL)
    def approve_apply(self, signal: DecisionSignal) -> None:
        """Human approval of the policy failure (or of a required approval): apply."""
        self._decide("approve", signal)

    @workflow.signal(name=DENY_SIGNAL)
    def deny_apply(self, signal: DecisionSignal) -> None:
        """Human denial: the run ends rejected, nothing is applied."""
        self._decide("deny", signal)

    def _decide(self, action: str, signal: DecisionSignal) -> None:
        taken = self.tracker.receive(
            action,
            actor=signal.actor,
            comment=signal.reason,
            signal_id=signal.signal_id,
            request_id=signal.request_id,
            answers=APPROVAL,
        )
        if taken:
            self._decision = (action, signal)
            self._reason = signal.reason
            self.tracker.accept("cancel")

    @workflow.signal(name=CANCEL_SIGNAL)
    def cancel_run(self, signal: CancelSignal) -> None:
        """Cancel the run: whatever runs is interrupted (applied resources stay)."""
        taken = self.tracker.receive(
            "cancel", actor=signal.actor, comment=signal.reason, signal_id=signal.signal_id
        )
        if taken:
            self._cancel = signal
            self.tracker.closing(f"the run is being cancelled (by {signal.actor})")
            if self._flow is not None:
                self._flow.cancel()

    # -- the run ---------------------------------------------------------------------------

    @workflow.run
    async def run(self, params: InfraProvisionParams) -> InfraResult:
        """Init, plan, policy, (approval), apply, show."""
        self._params = params
        if params.run_id is not None:
            self.report_for(params.run_id)
        else:
            run_id, name = _child_identity(workflow.info().workflow_id, params)
            await self.register(
                run_id,
                name,
                params.requested_by,
                {
                    "directory": params.directory,
                    "variables": params.variables,
                    "require_approval": params.require_approval,
                    "approval_timeout_minutes": params.approval_timeout_minutes,
                },
            )
        if params.custom_search_attributes:
            workflow.upsert_search_attributes([TF_DIRECTORY_KEY.value_set(params.directory)])
        self._flow = asyncio.create_task(self._provision(params))
        if self._cancel is not None:
            self._flow.cancel()
        cancelled_through_temporal = False
        error_type: str | None = None
        try:
            status, reason = await self._flow
        except BaseException as err:
            if is_cancelled_exception(err):
                status = InfraStatus.CANCELLED
                if self._cancel is None:
                    cancelled_through_temporal = True
                    reason = "cancelled through Temporal"
                else:
                    reason = f"cancelled by {self._cancel.actor}: {self._cancel.reason}"
                self.tracker.end_open_steps(StepState.CANCELLED)
            elif isinstance(err, FailureError):
                status, reason = InfraStatus.FAILED, failure_message(err)
                error_type = failure_type(err)
                running = self.tracker.running_step()
                if running is not None:
                    self.tracker.fail(running, reason)
                self.tracker.end_open_steps(StepState.SKIPPED)
            else:
                raise
        self._set_phase(status)
        _, cancelled_while_ending = await run_to_completion(self.ended(status, reason))
        if cancelled_through_temporal or cancelled_while_ending:
            raise asyncio.CancelledError("infra run cancelled through Temporal")
        if status == InfraStatus.FAILED:
            raise ApplicationError(reason, type=error_type, non_retryable=True)
        return InfraResult(status=status, reason=reason, outputs=self._outputs)

    async def _provision(self, params: InfraProvisionParams) -> tuple[InfraStatus, str]:
        tracker = self.tracker
        run = RunInput(
            run_key=params.run_id or workflow.info().workflow_id,
            directory=params.directory,
            variables=params.variables,
        )

        self._set_phase(InfraStatus.INITIALIZING)
        init: InitResult = await self.step(
            InfraStep.INIT,
            run,
            activity=INIT_ACTIVITY,
            result_type=InitResult,
            long=True,  # a real init downloads providers
            retry=INIT_RETRY,
        )
        tracker.fields["runner"] = init.runner
        tracker.complete(InfraStep.INIT, init.summary)

        self._set_phase(InfraStatus.PLANNING)
        plan: Plan = await self.step(
            InfraStep.PLAN,
            run,
            activity=PLAN_ACTIVITY,
            result_type=Plan,
            long=True,
            retry=PLAN_RETRY,
        )
        summary = plan.summary
        tracker.fields["plan"] = _plan_view(plan).model_dump(mode="json")
        tracker.fields["changes"] = f"+{summary.add} ~{summary.change} -{summary.destroy}"
        tracker.complete(InfraStep.PLAN, str(summary))

        self._set_phase(InfraStatus.POLICY_CHECKING)
        tracker.start(InfraStep.POLICY)
        outcome: PolicyOutcome = await workflow.execute_local_activity(
            POLICY_ACTIVITY,
            PolicyInput(run=run, plan=plan),
            result_type=PolicyOutcome,
            start_to_close_timeout=POLICY_TIMEOUT,
            retry_policy=POLICY_RETRY,
        )
        report = outcome.report
        failures = report.failures
        tracker.fields["policy"] = [r.model_dump(mode="json") for r in report.results]
        tracker.fields["policy_engine"] = report.engine
        tracker.fields["policy_verdict"] = f"{len(failures)} failed" if failures else "passed"
        tracker.complete(InfraStep.POLICY, _policy_detail(report))

        if failures or params.require_approval:
            decided = await self._await_approval(params, report)
            if decided is not None:
                return decided
        else:
            tracker.complete(InfraStep.APPROVAL, "not needed: every policy rule passed")

        self._set_phase(InfraStatus.APPLYING)
        total = len(plan.effective)
        applied: ApplyResult = await self.step(
            InfraStep.APPLY,
            ApplyInput(run=run, plan=plan),
            activity=APPLY_ACTIVITY,
            result_type=ApplyResult,
            long=True,
            retry=APPLY_RETRY,
            detail=f"0/{total} changes",
            start_to_close=APPLY_TIMEOUT,
        )
        detail = f"{applied.applied}/{applied.total} changes applied"
        if applied.resumed_from:
            detail += f" (resumed after {applied.resumed_from})"
        tracker.complete(InfraStep.APPLY, detail)

        shown: ShowResult = await self.step(
            InfraStep.SHOW, run, activity=SHOW_ACTIVITY, result_type=ShowResult
        )
        self._outputs = dict(shown.outputs.values)
        tracker.fields["outputs"] = self._outputs
        tracker.complete(InfraStep.SHOW, f"{len(self._outputs)} outputs")
        return InfraStatus.APPLIED, f"applied: {summary}"

    async def _await_approval(
        self, params: InfraProvisionParams, report: PolicyReport
    ) -> tuple[InfraStatus, str] | None:
        """Wait for approve / deny (or the timeout); the run's end when it must not apply."""
        tracker = self.tracker
        failures = report.failures
        if failures:
            prompt = (
                f"Policy failed: {', '.join(r.id for r in failures)}. "
                "Approve the apply anyway, or deny it, with a reason"
            )
        else:
            prompt = "This run requires approval: approve the apply or deny it, with a reason"
        self._set_phase(InfraStatus.AWAITING_APPROVAL)
        tracker.wait(InfraStep.APPROVAL, "waiting for an approver")
        tracker.await_human(APPROVAL, "approval-1", prompt, accepts=("approve", "deny", "cancel"))
        timeout = (
            timedelta(minutes=params.approval_timeout_minutes)
            if params.approval_timeout_minutes
            else None
        )
        try:
            await workflow.wait_condition(lambda: self._decision is not None, timeout=timeout)
        except TimeoutError:
            reason = f"nobody decided within {params.approval_timeout_minutes} min"
            tracker.closing(f"the approval expired ({reason})")
            tracker.stop_awaiting()
            tracker.skip(InfraStep.APPROVAL, f"expired: {reason}")
            tracker.end_open_steps(StepState.SKIPPED)
            return InfraStatus.EXPIRED, reason
        tracker.stop_awaiting()
        assert self._decision is not None
        action, signal = self._decision
        if action == "approve":
            tracker.complete(InfraStep.APPROVAL, f"approved by {signal.actor}: {signal.reason}")
            tracker.fields["decision_reason"] = signal.reason
            return None
        tracker.closing(f"the apply was denied (by {signal.actor})")
        tracker.complete(InfraStep.APPROVAL, f"denied by {signal.actor}: {signal.reason}")
        tracker.fields["decision_reason"] = signal.reason
        tracker.end_open_steps(StepState.SKIPPED)
        return InfraStatus.REJECTED, f"denied by {signal.actor}: {signal.reason}"

    def _set_phase(self, status: InfraStatus) -> None:
        """Enter a phase: the platform's status path, and the spec's provisionStatus."""
        self.tracker.set_phase(status)
        params = self._params
        if params is not None and params.custom_search_attributes:
            workflow.upsert_search_attributes([PROVISION_STATUS_KEY.value_set(status.value)])


def _child_identity(workflow_id: str, params: InfraProvisionParams) -> tuple[str, str]:
    """A child run's entity id and name, the same on every replay (derived from its id)."""
    run_id = hashlib.sha256(workflow_id.encode()).hexdigest()[:8]
    if params.name:
        return run_id, params.name
    base = re.sub(r"[^a-z0-9-]+", "-", params.directory.rstrip("/").rsplit("/", 1)[-1].lower())
    return run_id, f"{base.strip('-')[:50] or 'run'}-{run_id}"


def _plan_view(plan: Plan) -> PlanView:
    lines = []
    for change in plan.effective:
        changed: dict[str, list[object]] = {}
        if change.action == ChangeAction.UPDATE:
            before, after = change.before or {}, change.after or {}
            for key in sorted(set(before) | set(after)):
                if before.get(key) != after.get(key):
                    changed[key] = [before.get(key), after.get(key)]
        lines.append(PlanLine(address=change.address, action=change.action, changed=changed))
    return PlanView(summary=plan.summary, digest=plan.digest, changes=lines)


def _policy_detail(report: PolicyReport) -> str:
    failed = len(report.failures)
    total = len(report.results)
    if failed:
        return f"{failed} of {total} rules failed ({report.engine})"
    return f"{total} rules passed ({report.engine})"
