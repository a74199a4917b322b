"""TacHookWorkflow (specs/tac-worker-deployment.md): make sure the workers a TAC intent's
workflows need are up, run those workflows, and always clean up.

For each task queue the intent's workflows use, the spec's three scenarios:
1. a registered DIG, approved, whose only app is that worker: instantiate it and wait until it
   is ready (a timeout fails the run with the reason);
2. a registered DIG that is not approved, or holds more than the worker: fail and say why
   (nothing is started);
3. no registration: warn (in the progress and the audit log) and go on, assuming the worker
   runs elsewhere.
Then each hook workflow runs as a child on its task queue. Whatever happened (success, failure,
cancel), every worker DIG this run instantiated is terminated before it ends.

Deterministic workflow code only; the DIGs do the work when signalled, activities read the store.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import FailureError, is_cancelled_exception

with workflow.unsafe.imports_passed_through():
    from backend.domain.progress import StepState
    from backend.domains.digs.messages import (
        INSTANTIATE_SIGNAL,
        NOTICE_SIGNAL,
        TERMINATE_SIGNAL,
        DigNotice,
        OperationSignal,
    )
    from backend.domains.digs.model import AppKind, DigStatus
    from backend.domains.tac.lookup import WorkerDig, WorkerLookup, WorkerLookupRequest
    from backend.domains.tac.messages import (
        CANCEL_SIGNAL,
        LOOKUP_ACTIVITY,
        TAC_HOOK_WORKFLOW_TYPE,
        WARN_ACTIVITY,
        CancelHookSignal,
        HookRunParams,
        HookRunResult,
        HookWarning,
        Scenario,
    )
    from backend.domains.tac.model import (
        TAC_KIND,
        CheckOutcome,
        CleanupOutcome,
        HookOutcome,
        HookRunStatus,
        WorkerCheck,
    )
    from backend.workflows.entity_workflow import (
        EntityWorkflow,
        failure_message,
        run_to_completion,
    )
    from backend.workflows.progress_tracker import ProgressTracker, StepPlan

LOOKUP_RETRY = RetryPolicy(maximum_interval=timedelta(seconds=5), maximum_attempts=20)
SETTLE_TIMEOUT = timedelta(seconds=120)
"""How long cleanup waits for a worker DIG to finish instantiating, then to terminate."""
CLEANUP = "cleanup"
CHECKS_WEIGHT, HOOKS_WEIGHT, CLEANUP_WEIGHT = 30, 50, 20


def _shares(total: int, count: int) -> list[int]:
    base = total // count
    return [base] * (count - 1) + [total - base * (count - 1)]


def _plan(params: HookRunParams) -> list[StepPlan]:
    queues = _queues(params)
    workflows = params.intent.workflows
    plan = [
        StepPlan(f"worker {q}", w)
        for q, w in zip(queues, _shares(CHECKS_WEIGHT, len(queues)), strict=True)
    ]
    plan += [
        StepPlan(_hook_step(i, w.workflow_type), weight)
        for i, (w, weight) in enumerate(
            zip(workflows, _shares(HOOKS_WEIGHT, len(workflows)), strict=True)
        )
    ]
    return [*plan, StepPlan(CLEANUP, CLEANUP_WEIGHT)]


def _queues(params: HookRunParams) -> list[str]:
    return list(dict.fromkeys(w.task_queue for w in params.intent.workflows))


def _hook_step(index: int, workflow_type: str) -> str:
    return f"hook {index + 1} {workflow_type}"


@workflow.defn(name=TAC_HOOK_WORKFLOW_TYPE)
class TacHookWorkflow(EntityWorkflow):
    """One TAC intent's run around a DIG's lifecycle operation (or started by hand)."""

    KIND = TAC_KIND
    STEPS = ()

    @workflow.init
    def __init__(self, params: HookRunParams) -> None:
        super().__init__()
        self.tracker = ProgressTracker(_plan(params))
        self.tracker.progress.phase = HookRunStatus.CHECKING_WORKERS
        self.tracker.progress.accepts = ["cancel"]
        self._params = params
        self._name = params.name or ""
        self._id = params.hook_run_id or ""
        self._notices: dict[tuple[str, str], DigNotice] = {}
        self._cancel: CancelHookSignal | None = None
        self._flow: asyncio.Task[tuple[HookRunStatus, str]] | None = None
        self._started: list[WorkerDig] = []
        self._checks: list[WorkerCheck] = []
        self._hooks: list[HookOutcome] = []
        self._cleanup: list[CleanupOutcome] = []

    # -- signals -----------------------------------------------------------------------------

    @workflow.signal(name=NOTICE_SIGNAL)
    def dig_notice(self, notice: DigNotice) -> None:
        """A worker DIG says how an operation this run asked for went."""
        self._notices[(notice.dig_id, notice.operation)] = notice

    @workflow.signal(name=CANCEL_SIGNAL)
    def cancel_hook(self, signal: CancelHookSignal) -> None:
        """Cancel the run: what runs is interrupted; the worker DIGs it started are cleaned up."""
        taken = self.tracker.receive(
            "cancel", actor=signal.actor, comment=signal.reason, signal_id=signal.signal_id
        )
        if taken:
            self._cancel = signal
            self.tracker.closing(f"the hook run is being cancelled (by {signal.actor})")
            if self._flow is not None:
                self._flow.cancel()

    # -- the run -----------------------------------------------------------------------------

    @workflow.run
    async def run(self, params: HookRunParams) -> HookRunResult:
        """Check workers, run the hook workflows, clean up."""
        fields = {
            "project": params.dig.project,
            "composite_app": params.dig.composite_app,
            "version": params.dig.version,
            "dig": params.dig.name,
            "tac_intent": params.intent.name,
            "hook_type": params.intent.hook_type.value,
            "lifecycle": params.lifecycle,
        }
        if params.hook_run_id is not None:
            self._id = params.hook_run_id
            self.report_for(params.hook_run_id)
        else:
            self._id, self._name = _child_identity(workflow.info().workflow_id, params)
            await self.register(self._id, self._name, params.requested_by, fields)
        self.tracker.fields.update(fields)
        self._flow = asyncio.create_task(self._check_and_run(params))
        if self._cancel is not None:
            self._flow.cancel()
        cancelled_through_temporal = False
        try:
            status, reason = await self._flow
        except BaseException as err:
            if not is_cancelled_exception(err):
                raise
            status = HookRunStatus.CANCELLED
            if self._cancel is None:
                cancelled_through_temporal = True
                reason = "cancelled through Temporal"
            else:
                reason = f"cancelled by {self._cancel.actor}: {self._cancel.reason}"
            running = self.tracker.running_step()
            if running is not None and running != CLEANUP:
                self.tracker.fail(running, "cancelled")
            for hook in self._hooks:
                if hook.outcome == "running":
                    hook.outcome = "cancelled"
            self._publish()
        _, cancelled_in_cleanup = await run_to_completion(self._clean_up())
        self.tracker.end_open_steps(
            StepState.CANCELLED if status == HookRunStatus.CANCELLED else StepState.SKIPPED
        )
        _, cancelled_while_ending = await run_to_completion(self.ended(status, reason))
        if cancelled_through_temporal or cancelled_in_cleanup or cancelled_while_ending:
            raise asyncio.CancelledError("hook run cancelled through Temporal")
        return HookRunResult(status=status.value, reason=reason)

    async def _check_and_run(self, params: HookRunParams) -> tuple[HookRunStatus, str]:
        for queue in _queues(params):
            failed = await self._check_worker(params, queue)
            if failed is not None:
                self.tracker.end_open_steps(StepState.SKIPPED)
                return HookRunStatus.FAILED, failed
        self.tracker.set_phase(HookRunStatus.RUNNING_HOOKS)
        info = workflow.info()
        for index, hook in enumerate(params.intent.workflows):
            step = _hook_step(index, hook.workflow_type)
            child_id = hook.workflow_id or f"{info.workflow_id}-{index + 1}"
            outcome = HookOutcome(
                workflow_type=hook.workflow_type, task_queue=hook.task_queue, workflow_id=child_id
            )
            self._hooks.append(outcome)
            self._publish()
            self.tracker.start(step, f"on {hook.task_queue}")
            try:
                result: Any = await workflow.execute_child_workflow(
                    hook.workflow_type,
                    hook.params,
                    id=child_id,
                    task_queue=hook.task_queue,
                    parent_close_policy=workflow.ParentClosePolicy.REQUEST_CANCEL,
                )
            except FailureError as err:
                if self._cancel is not None or is_cancelled_exception(err):
                    raise asyncio.CancelledError("the hook run was cancelled") from err
                reason = f"hook workflow {hook.workflow_type} failed: {failure_message(err)}"
                outcome.outcome, outcome.detail = "failed", failure_message(err)
                self._publish()
                self.tracker.fail(step, reason)
                self.tracker.end_open_steps(StepState.SKIPPED)
                return HookRunStatus.FAILED, reason
            outcome.outcome, outcome.detail = "completed", _summary(result)
            self._publish()
            self.tracker.complete(step, outcome.detail)
        count = len(params.intent.workflows)
        return HookRunStatus.SUCCEEDED, f"{count} hook workflow{'s' * (count != 1)} completed"

    # -- worker checks (the spec's scenarios) --------------------------------------------------

    async def _check_worker(self, params: HookRunParams, queue: str) -> str | None:
        """Make sure the worker for `queue` runs; why the run must fail, if it must."""
        step = f"worker {queue}"
        self.tracker.start(step, "looking up its registration")
        lookup: WorkerLookup = await workflow.execute_activity(
            LOOKUP_ACTIVITY,
            WorkerLookupRequest(
                project=params.dig.project,
                composite_app=params.dig.composite_app,
                version=params.dig.version,
                dig=params.dig.name,
                tac_intent=params.intent.name,
                task_queue=queue,
            ),
            result_type=WorkerLookup,
            start_to_close_timeout=timedelta(seconds=30),
            heartbeat_timeout=timedelta(seconds=10),
            retry_policy=LOOKUP_RETRY,
        )
        check = await self._scenario(params, queue, lookup)
        self._checks.append(check)
        self._publish()
        if check.outcome == CheckOutcome.FAILED:
            self.tracker.fail(step, check.detail)
            return f"worker for {queue}: {check.detail}"
        self.tracker.complete(step, f"{check.outcome.value}: {check.detail}")
        return None

    async def _scenario(
        self, params: HookRunParams, queue: str, lookup: WorkerLookup
    ) -> WorkerCheck:
        if lookup.registration is None:
            detail = f"no worker registration for {queue}: assuming its worker runs elsewhere"
            await workflow.execute_activity(
                WARN_ACTIVITY,
                HookWarning(
                    hook_run_id=self._id,
                    task_queue=queue,
                    message=f"hook run {self._name}: {detail}",
                    details={"dig": params.dig.name, "tac_intent": params.intent.name},
                ),
                start_to_close_timeout=timedelta(seconds=30),
                heartbeat_timeout=timedelta(seconds=10),
                retry_policy=LOOKUP_RETRY,
            )
            return WorkerCheck(
                task_queue=queue,
                scenario=Scenario.UNREGISTERED,
                outcome=CheckOutcome.WARNING,
                detail=detail,
            )
        dig = lookup.dig
        named = lookup.worker_dig or "?"
        if dig is None:
            return WorkerCheck(
                task_queue=queue,
                scenario=Scenario.REFUSE,
                outcome=CheckOutcome.FAILED,
                worker_dig=named,
                detail=f"registration {lookup.registration} names DIG {named},"
                " which does not exist: nothing started",
            )
        only_worker = (
            len(dig.apps) == 1
            and dig.apps[0].kind == AppKind.WORKER
            and dig.apps[0].task_queue == queue
        )
        if dig.status == DigStatus.INSTANTIATED and dig.ready and only_worker:
            return WorkerCheck(
                task_queue=queue,
                scenario=Scenario.RUNNING,
                outcome=CheckOutcome.READY,
                worker_dig=dig.name,
                detail=f"DIG {dig.name} is already instantiated and ready (left running)",
            )
        problems = []
        if dig.status not in (DigStatus.APPROVED, DigStatus.TERMINATED):
            problems.append(
                f"DIG {dig.name} is not approved (state: {dig.status})"
                if dig.status == DigStatus.CREATED
                else f"DIG {dig.name} is {dig.status}, not approved"
            )
        if not only_worker:
            names = ", ".join(f"{a.name} ({a.kind.value})" for a in dig.apps) or "no apps"
            problems.append(
                f"DIG {dig.name} holds {names}: a hook only starts a DIG whose only app is"
                f" the worker for {queue}"
            )
        if problems:
            return WorkerCheck(
                task_queue=queue,
                scenario=Scenario.REFUSE,
                outcome=CheckOutcome.FAILED,
                worker_dig=dig.name,
                detail="; ".join(problems) + ": nothing started",
            )
        return await self._instantiate(params, queue, dig)

    async def _instantiate(self, params: HookRunParams, queue: str, dig: WorkerDig) -> WorkerCheck:
        """Scenario 1: instantiate the worker DIG and wait until it is ready."""
        timeout = params.intent.ready_timeout_seconds
        step = self.tracker.progress.step(f"worker {queue}")
        if step is not None:
            step.detail = f"instantiating DIG {dig.name}"
            self.tracker.on_change()
        self._started.append(dig)
        await self._signal(dig, INSTANTIATE_SIGNAL, f"needs a worker on {queue}")
        check = WorkerCheck(
            task_queue=queue,
            scenario=Scenario.INSTANTIATE,
            outcome=CheckOutcome.FAILED,
            worker_dig=dig.name,
            started=True,
        )
        key = (dig.id, "instantiate")
        try:
            await workflow.wait_condition(lambda: key in self._notices, timeout=timeout)
        except TimeoutError:
            check.detail = f"DIG {dig.name} was not ready within {timeout} s"
            return check
        notice = self._notices[key]
        if not notice.accepted:
            self._started.remove(dig)
            check.started = False
            check.detail = f"DIG {dig.name} did not take instantiate: {notice.reason}"
        elif notice.status != DigStatus.INSTANTIATED or not notice.ready:
            state = (
                "instantiated, not ready"
                if notice.status == DigStatus.INSTANTIATED
                else notice.status
            )
            check.detail = f"DIG {dig.name} {state}" + (
                f": {notice.reason}" if notice.reason else ""
            )
        else:
            check.outcome = CheckOutcome.READY
            check.detail = f"instantiated DIG {dig.name}: its worker polls {queue}"
        return check

    # -- cleanup -------------------------------------------------------------------------------

    async def _clean_up(self) -> None:
        """Terminate every worker DIG this run instantiated (also after a failure or cancel)."""
        if not self._started:
            self.tracker.skip(CLEANUP, "no worker DIG started")
            return
        self.tracker.set_phase(HookRunStatus.CLEANING_UP)
        self.tracker.start(CLEANUP, ", ".join(d.name for d in self._started))
        problems = []
        for dig in self._started:
            outcome = await self._terminate(dig)
            self._cleanup.append(outcome)
            self._publish()
            if outcome.outcome != "terminated":
                problems.append(f"{dig.name}: {outcome.detail}")
        if problems:
            self.tracker.fail(CLEANUP, "; ".join(problems))
        else:
            self.tracker.complete(CLEANUP, f"terminated {len(self._started)} worker DIGs")

    async def _terminate(self, dig: WorkerDig) -> CleanupOutcome:
        instantiated = (dig.id, "instantiate")
        try:
            # A DIG still instantiating takes no terminate: let it finish first.
            await workflow.wait_condition(
                lambda: instantiated in self._notices, timeout=SETTLE_TIMEOUT
            )
        except TimeoutError:
            return CleanupOutcome(
                worker_dig=dig.name, outcome="left", detail="it never finished instantiating"
            )
        await self._signal(dig, TERMINATE_SIGNAL, "cleanup after the hook run")
        key = (dig.id, "terminate")
        try:
            await workflow.wait_condition(lambda: key in self._notices, timeout=SETTLE_TIMEOUT)
        except TimeoutError:
            return CleanupOutcome(
                worker_dig=dig.name, outcome="left", detail="it did not terminate in time"
            )
        notice = self._notices[key]
        if not notice.accepted or notice.status != DigStatus.TERMINATED:
            return CleanupOutcome(
                worker_dig=dig.name,
                outcome=notice.status,
                detail=notice.reason or "terminate did not complete",
            )
        return CleanupOutcome(worker_dig=dig.name, outcome="terminated")

    # -- helpers -------------------------------------------------------------------------------

    async def _signal(self, dig: WorkerDig, signal: str, why: str) -> None:
        info = workflow.info()
        await workflow.get_external_workflow_handle(dig.workflow_id).signal(
            signal,
            OperationSignal(
                actor=f"tac-hook:{self._name}",
                reason=f"{self._params.intent.hook_type.value} hook {self._params.intent.name}"
                f" {why}",
                signal_id=f"{info.workflow_id}/{signal}/{dig.id}",
                notify=info.workflow_id,
            ),
        )

    def _publish(self) -> None:
        fields = self.tracker.fields
        fields["checks"] = [c.model_dump(mode="json") for c in self._checks]
        fields["hooks"] = [h.model_dump(mode="json") for h in self._hooks]
        fields["cleanup"] = [c.model_dump(mode="json") for c in self._cleanup]
        fields["workers"] = ", ".join(f"{c.task_queue} {c.outcome.value}" for c in self._checks)
        self.tracker.on_change()


def _child_identity(workflow_id: str, params: HookRunParams) -> tuple[str, str]:
    """A child run's entity id and name, the same on every replay (derived from its id)."""
    run_id = hashlib.sha256(workflow_id.encode()).hexdigest()[:8]
    if params.name:
        return run_id, params.name
    base = f"{params.dig.name}-{params.intent.name}".lower()
    base = re.sub(r"[^a-z0-9-]+", "-", base).strip("-")[:50] or "hook"
    return run_id, f"{base}-{run_id}"


def _summary(result: Any) -> str:
    """A hook workflow's result in one short line (`pid=4242, path=…`)."""
    if result is None:
        return "done"
    items = result.items() if isinstance(result, dict) else None
    text = ", ".join(f"{k}={v}" for k, v in items) if items is not None else str(result)
    return text if len(text) <= 120 else text[:117] + "..."
