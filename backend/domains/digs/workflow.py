"""DigLifecycleWorkflow: one DIG's life (EMCO's deployment intent group lifecycle).

created → (a person approves) approved → instantiating → instantiated (ready or not) →
terminating → terminated → instantiating again, or deleted. Each lifecycle operation arrives as
a signal with EMCO's name (`approve`, `instantiate`, `terminate`, `delete`); one the DIG does not
take in its state is refused and recorded (the API answers 409 with the state). Instantiate and
terminate each run as a fresh run (continue-as-new), so their progress (per-app resource states,
readiness) starts clean and the history stays short. The DIG's TAC intents run around them as
child TacHookWorkflows: pre hooks before, post hooks after; a blocking hook that fails stops
the operation.

Deterministic workflow code only: the activities do the work, through the orchestrator.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import FailureError

PLACEMENT_PATCH = "dig-placement"
"""Runs started before DIG apps could name a target replay without the placement step."""

with workflow.unsafe.imports_passed_through():
    from backend.domain.progress import StepState
    from backend.domains.digs.messages import (
        APPROVE_ACTIVITY,
        APPROVE_SIGNAL,
        CREATE_ACTIVITY,
        DELETE_ACTIVITY,
        DELETE_SIGNAL,
        INSTANTIATE_ACTIVITY,
        INSTANTIATE_SIGNAL,
        NOTICE_SIGNAL,
        ORCHESTRATOR_REFUSED,
        PLACE_ACTIVITY,
        READY_ACTIVITY,
        TERMINATE_ACTIVITY,
        TERMINATE_SIGNAL,
        AppStates,
        DigInput,
        DigNotice,
        DigParams,
        Mode,
        OperationSignal,
    )
    from backend.domains.digs.model import (
        APPROVAL,
        DIG_KIND,
        DIG_WORKFLOW_TYPE,
        DigStatus,
        DigStep,
        HookType,
        LifecycleEvent,
    )
    from backend.domains.placement.messages import DigAppPlacement, DigPlacement
    from backend.domains.tac.messages import (
        TAC_HOOK_WORKFLOW_TYPE,
        HookRunParams,
        HookRunResult,
    )
    from backend.workflows.entity_workflow import EntityWorkflow, failure_message
    from backend.workflows.progress_tracker import ProgressTracker, StepPlan

RETRY = RetryPolicy(
    maximum_interval=timedelta(seconds=10),
    maximum_attempts=10,
    non_retryable_error_types=[ORCHESTRATOR_REFUSED],
)
READY_TIMEOUT_SECONDS = 120.0
"""How long instantiate waits for every app to be ready before it reports `not ready`."""

ACCEPTS: dict[DigStatus, tuple[str, ...]] = {
    DigStatus.CREATED: ("approve", "delete"),
    DigStatus.APPROVED: ("instantiate", "delete"),
    DigStatus.INSTANTIATED: ("terminate",),
    DigStatus.TERMINATED: ("instantiate", "delete"),
    DigStatus.FAILED: ("instantiate", "terminate", "delete"),
}
"""The operations a DIG takes in each state it rests in (EMCO's rules: an instantiated DIG
must be terminated before it is deleted; a terminated one behaves like an approved one)."""

_PLANS: dict[Mode, tuple[StepPlan, ...]] = {
    Mode.CREATE: (StepPlan(DigStep.APPROVE, 100),),
    Mode.INSTANTIATE: (
        StepPlan(DigStep.PRE_HOOKS, 10),
        StepPlan(DigStep.INSTANTIATE, 40, heartbeats=True),
        StepPlan(DigStep.READY, 40, heartbeats=True),
        StepPlan(DigStep.POST_HOOKS, 10),
    ),
    Mode.TERMINATE: (
        StepPlan(DigStep.PRE_HOOKS, 10),
        StepPlan(DigStep.TERMINATE, 80, heartbeats=True),
        StepPlan(DigStep.POST_HOOKS, 10),
    ),
}
_HOOKS: dict[Mode, tuple[HookType, HookType]] = {
    Mode.INSTANTIATE: (HookType.PRE_INSTALL, HookType.POST_INSTALL),
    Mode.TERMINATE: (HookType.PRE_TERMINATE, HookType.POST_TERMINATE),
}


@workflow.defn(name=DIG_WORKFLOW_TYPE)
class DigLifecycleWorkflow(EntityWorkflow):
    """One DIG, from creation to deletion."""

    KIND = DIG_KIND
    STEPS = ()

    @workflow.init
    def __init__(self, params: DigParams) -> None:
        super().__init__()
        self.tracker = ProgressTracker(_PLANS[params.mode])
        self._params = params
        self._history = list(params.history)
        self._next: tuple[str, OperationSignal] | None = None
        self._status = DigStatus.CREATED
        self._notices: list[asyncio.Task[None]] = []
        self.tracker.progress.phase = self._status

    # -- signals (EMCO's lifecycle operations) -----------------------------------------------

    @workflow.signal(name=APPROVE_SIGNAL)
    def approve(self, signal: OperationSignal) -> None:
        """Approve the DIG (a person; four-eyes applies through the API)."""
        self._operation("approve", signal, answers=APPROVAL)

    @workflow.signal(name=INSTANTIATE_SIGNAL)
    def instantiate(self, signal: OperationSignal) -> None:
        """Deploy the DIG's apps."""
        self._operation("instantiate", signal)

    @workflow.signal(name=TERMINATE_SIGNAL)
    def terminate(self, signal: OperationSignal) -> None:
        """Remove the DIG's apps."""
        self._operation("terminate", signal)

    @workflow.signal(name=DELETE_SIGNAL)
    def delete(self, signal: OperationSignal) -> None:
        """Forget the DIG (not while instantiated)."""
        self._operation("delete", signal)

    def _operation(self, action: str, signal: OperationSignal, answers: str | None = None) -> None:
        taken = self.tracker.receive(
            action,
            actor=signal.actor,
            comment=signal.reason,
            signal_id=signal.signal_id,
            request_id=signal.request_id,
            answers=answers,
        )
        if taken:
            self._next = (action, signal)
            self.tracker.accept()
        elif signal.notify:
            note = self.tracker.progress.decisions[-1].note
            self._notices.append(
                asyncio.create_task(
                    self._notify(signal.notify, action, accepted=False, reason=note)
                )
            )

    # -- the run ---------------------------------------------------------------------------

    @workflow.run
    async def run(self, params: DigParams) -> str:
        """Do this run's operation, then wait for the next one."""
        self.report_for(params.dig_id)
        self.tracker.fields.update(
            {
                "app_names": ", ".join(a.name for a in params.apps),
                "scope": f"{params.project}/{params.composite_app}/{params.version}",
                "history": self._dump_history(),
            }
        )
        if params.mode == Mode.CREATE:
            await self._create()
        elif params.mode == Mode.INSTANTIATE:
            await self._instantiate()
        else:
            await self._terminate()
        return await self._next_operation()

    async def _create(self) -> None:
        params = self._params
        self.tracker.start(DigStep.APPROVE, "recording the DIG at the orchestrator")
        try:
            orchestrator = await workflow.execute_activity(
                CREATE_ACTIVITY,
                self._input(),
                result_type=str,
                start_to_close_timeout=timedelta(seconds=30),
                heartbeat_timeout=timedelta(seconds=10),
                retry_policy=RETRY,
            )
        except FailureError as err:
            self._fail(
                DigStep.APPROVE, f"the orchestrator did not take the DIG: {failure_message(err)}"
            )
            return
        self.tracker.fields["orchestrator"] = orchestrator
        self._record(DigStatus.CREATED, params.requested_by)
        self.tracker.wait(DigStep.APPROVE, "waiting for an approver")
        self.tracker.await_human(
            APPROVAL,
            "approval-1",
            f"Approve DIG {params.name} ({params.project}/{params.composite_app}"
            f"/{params.version}: {', '.join(a.name for a in params.apps)})",
            accepts=ACCEPTS[DigStatus.CREATED],
        )

    async def _approve(self, signal: OperationSignal) -> None:
        self.tracker.stop_awaiting()
        try:
            await self.step(DigStep.APPROVE, self._input(), activity=APPROVE_ACTIVITY, retry=RETRY)
        except FailureError as err:
            self._fail(DigStep.APPROVE, f"approve failed: {failure_message(err)}")
            return
        self.tracker.complete(DigStep.APPROVE, f"approved by {signal.actor}: {signal.reason}")
        self._rest(DigStatus.APPROVED, signal.actor)

    async def _instantiate(self) -> None:
        params = self._params
        self._enter(DigStatus.INSTANTIATING, params.operation_by)
        taken = await self._operate(DigStep.INSTANTIATE, INSTANTIATE_ACTIVITY, remove=False)
        if taken is None:
            return
        self.tracker.complete(DigStep.INSTANTIATE, f"{len(taken.apps)} apps applied")
        self._enter(DigStatus.INSTANTIATED, params.operation_by, record=False)
        try:
            ready: AppStates = await self.step(
                DigStep.READY,
                self._input(READY_TIMEOUT_SECONDS),
                activity=READY_ACTIVITY,
                result_type=AppStates,
                retry=RETRY,
                start_to_close=timedelta(seconds=READY_TIMEOUT_SECONDS + 30),
            )
        except FailureError as err:
            self._fail(DigStep.READY, f"status failed: {failure_message(err)}")
            return
        self._apps(ready)
        if ready.ready:
            self.tracker.complete(DigStep.READY, "every app is ready")
        else:
            waiting = [a.app for a in ready.apps if not a.ready]
            self.tracker.fail(
                DigStep.READY,
                f"not ready after {READY_TIMEOUT_SECONDS:.0f} s: {', '.join(waiting)}",
            )
        await self._post_hooks_then(DigStatus.INSTANTIATED)

    async def _terminate(self) -> None:
        self._enter(DigStatus.TERMINATING, self._params.operation_by)
        gone = await self._operate(DigStep.TERMINATE, TERMINATE_ACTIVITY, remove=True)
        if gone is None:
            return
        self.tracker.fields["ready"] = False
        self.tracker.fields["readiness"] = ""
        self.tracker.complete(DigStep.TERMINATE, f"{len(gone.apps)} apps removed")
        await self._post_hooks_then(DigStatus.TERMINATED)

    async def _operate(self, step: DigStep, activity: str, *, remove: bool) -> AppStates | None:
        """The pre hooks, the orchestrator's operation (`step` is its verb) and placement; the
        apps' states, or None when one of them failed (the DIG then rests failed)."""
        params = self._params
        failed = await self._hooks(DigStep.PRE_HOOKS)
        if failed:
            self.tracker.end_open_steps(StepState.SKIPPED)
            self._rest(DigStatus.FAILED, params.operation_by, failed)
            return None
        try:
            states: AppStates = await self.step(
                step,
                self._input(),
                activity=activity,
                result_type=AppStates,
                long=True,
                retry=RETRY,
            )
        except FailureError as err:
            self._fail(step, f"{step.value} failed: {failure_message(err)}")
            return None
        self._apps(states)
        refused = await self._place(remove=remove)
        if refused:
            self._fail(step, f"placement failed: {refused}")
            return None
        return states

    async def _post_hooks_then(self, status: DigStatus) -> None:
        """Run the post hooks; rest in `status`, or failed when a blocking one failed."""
        by = self._params.operation_by
        failed = await self._hooks(DigStep.POST_HOOKS)
        if failed:
            self._rest(DigStatus.FAILED, by, failed)
        else:
            self._rest(status, by)

    async def _next_operation(self) -> str:
        """Wait for the next operation; approve runs here, delete ends the workflow, the
        others continue as a new run."""
        while True:
            await workflow.wait_condition(lambda: self._next is not None)
            assert self._next is not None
            action, signal = self._next
            self._next = None
            if action == "approve":
                await self._approve(signal)
                continue
            if action == "delete":
                if await self._delete(signal):
                    return DigStatus.DELETED.value
                continue
            await self._told()
            await self.reported()
            workflow.continue_as_new(
                self._params.model_copy(
                    update={
                        "mode": Mode(action),
                        "history": self._history,
                        "notify": signal.notify,
                        "operation_by": signal.actor,
                    }
                )
            )

    async def _delete(self, signal: OperationSignal) -> bool:
        self.tracker.add_steps([StepPlan("delete", 0)])
        try:
            await self.step("delete", self._input(), activity=DELETE_ACTIVITY, retry=RETRY)
        except FailureError as err:
            self._fail("delete", f"delete failed: {failure_message(err)}")
            return False
        self.tracker.complete("delete", f"deleted by {signal.actor}: {signal.reason}")
        self._record(DigStatus.DELETED, signal.actor)
        self.tracker.fields["history"] = self._dump_history()
        self.tracker.end_open_steps(StepState.SKIPPED)
        await self._told()
        await self.ended(DigStatus.DELETED, f"deleted by {signal.actor}: {signal.reason}")
        return True

    # -- TAC hooks -------------------------------------------------------------------------

    async def _hooks(self, step: DigStep) -> str | None:
        """Run the intents of this step's hook type as child hook runs; why it failed, if a
        blocking one did."""
        pre, post = _HOOKS[self._params.mode]
        hook_type = pre if step == DigStep.PRE_HOOKS else post
        intents = [i for i in self._params.tac_intents if i.hook_type == hook_type]
        if not intents:
            self.tracker.complete(step, f"no {hook_type.value} hooks")
            return None
        self.tracker.start(step, ", ".join(i.name for i in intents))
        info = workflow.info()
        for intent in intents:
            params = HookRunParams(
                dig=self._params.ref,
                dig_id=self._params.dig_id,
                intent=intent,
                lifecycle=self._params.mode.value,
                requested_by=self._params.operation_by or self._params.requested_by,
            )
            child_id = f"{info.workflow_id}-{intent.name}-{info.run_id[:8]}"
            if not intent.blocking:
                await workflow.start_child_workflow(
                    TAC_HOOK_WORKFLOW_TYPE,
                    params,
                    id=child_id,
                    parent_close_policy=workflow.ParentClosePolicy.ABANDON,
                )
                continue
            try:
                result: HookRunResult = await workflow.execute_child_workflow(
                    TAC_HOOK_WORKFLOW_TYPE, params, id=child_id, result_type=HookRunResult
                )
            except FailureError as err:
                reason = f"{hook_type.value} hook {intent.name} failed: {failure_message(err)}"
                self.tracker.fail(step, reason)
                return reason
            if result.status != "succeeded":
                reason = f"{hook_type.value} hook {intent.name} {result.status}: {result.reason}"
                self.tracker.fail(step, reason)
                return reason
        self.tracker.complete(step, f"{len(intents)} {hook_type.value} hooks done")
        return None

    # -- state -----------------------------------------------------------------------------

    async def _place(self, *, remove: bool) -> str | None:
        """Place the apps that name a target on the hosts it matches (or take them off); why
        not, when it failed."""
        params = self._params
        targeted = [a for a in params.apps if a.target]
        if not targeted or not workflow.patched(PLACEMENT_PATCH):
            return None
        request = DigPlacement(
            dig=params.name,
            project=params.project,
            composite_app=params.composite_app,
            version=params.version,
            apps=[
                DigAppPlacement(name=a.name, kind=a.kind.value, target=a.target) for a in targeted
            ],
            actor=params.operation_by or params.requested_by,
            remove=remove,
        )
        try:
            await workflow.execute_activity(
                PLACE_ACTIVITY,
                request,
                start_to_close_timeout=timedelta(seconds=30),
                heartbeat_timeout=timedelta(seconds=10),
                retry_policy=RETRY,
            )
        except FailureError as err:
            return failure_message(err)
        self.tracker.fields["placed"] = (
            "" if remove else ", ".join(f"{a.name} → target {a.target}" for a in targeted)
        )
        return None

    def _input(self, ready_timeout: float = READY_TIMEOUT_SECONDS) -> DigInput:
        params = self._params
        return DigInput(
            dig=params.ref,
            apps=params.apps,
            description=params.description,
            ready_timeout_seconds=ready_timeout,
        )

    def _apps(self, states: AppStates) -> None:
        fields = self.tracker.fields
        fields["orchestrator"] = states.orchestrator
        fields["app_states"] = [a.model_dump(mode="json") for a in states.apps]
        if states.deployed:
            fields["deployed"] = states.deployed
        if self._status in (DigStatus.INSTANTIATING, DigStatus.INSTANTIATED):
            fields["ready"] = states.ready
            fields["readiness"] = "ready" if states.ready else "not ready"

    def _record(self, status: DigStatus, by: str) -> None:
        self._history.append(
            LifecycleEvent(
                state=status.value, at=workflow.now().isoformat(timespec="seconds"), by=by
            )
        )
        self.tracker.fields["history"] = self._dump_history()

    def _dump_history(self) -> list[dict[str, str]]:
        return [e.model_dump(mode="json") for e in self._history[-20:]]

    def _enter(self, status: DigStatus, by: str, *, record: bool = True) -> None:
        """Enter a working state (no operation is taken meanwhile)."""
        self._status = status
        if record:
            self._record(status, by)
        self.tracker.accept()
        self.tracker.set_phase(status)

    def _rest(self, status: DigStatus, by: str, reason: str | None = None) -> None:
        """Enter a state the DIG rests in, taking its operations; tell whoever asked."""
        self._status = status
        self._record(status, by)
        self.tracker.reason = reason
        if reason:
            self.tracker.progress.last_error = reason
        self.tracker.accept(*ACCEPTS[status])
        self.tracker.set_phase(status)
        if self._params.notify:
            notify, self._params.notify = self._params.notify, None
            self._notices.append(
                asyncio.create_task(
                    self._notify(notify, self._params.mode.value, accepted=True, reason=reason)
                )
            )

    def _fail(self, step: str, reason: str) -> None:
        self.tracker.fail(step, reason)
        self.tracker.end_open_steps(StepState.SKIPPED)
        self._rest(DigStatus.FAILED, self._params.operation_by, reason)

    async def _told(self) -> None:
        """Wait until every notice has been sent (before this run ends)."""
        pending, self._notices = self._notices, []
        if pending:
            await asyncio.gather(*pending)

    async def _notify(
        self, workflow_id: str, operation: str, *, accepted: bool, reason: str | None
    ) -> None:
        """Tell the workflow that asked for an operation how it went (it may be gone)."""
        notice = DigNotice(
            dig_id=self._params.dig_id,
            operation=operation,
            accepted=accepted,
            status=self._status.value,
            ready=bool(self.tracker.fields.get("ready")),
            reason=reason,
        )
        try:
            await workflow.get_external_workflow_handle(workflow_id).signal(NOTICE_SIGNAL, notice)
        except Exception as err:
            workflow.logger.info("could not tell %s: %s", workflow_id, err)
