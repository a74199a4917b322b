"""Base of both tenant workflows: their signals, and steps that must get done.

A step that must get done (a saga compensation, a deprovisioning removal) is retried; when it
still fails, the workflow waits for a person (`awaiting` = intervention) to retry it or to mark
it resolved once fixed by hand, round after round. Deterministic workflow code only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, is_cancelled_exception

with workflow.unsafe.imports_passed_through():
    from backend.domains.tenants.messages import (
        ABORT_DEPROVISION_SIGNAL,
        CANCEL_PROVISIONING_SIGNAL,
        RESOLVE_STEP_SIGNAL,
        RETRY_STEP_SIGNAL,
        SKIP_GRACE_SIGNAL,
        InterventionSignal,
        ReasonSignal,
    )
    from backend.domains.tenants.model import INTERVENTION, TENANT_KIND, TenantStep
    from backend.domains.tenants.payloads import RemovalResult
    from backend.domains.tenants.providers.protocol import TenantRef
    from backend.workflows.entity_workflow import EntityWorkflow, failure_message

MUST_FINISH_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=4),
    maximum_attempts=3,
)
"""A few attempts (within seconds) for a step that must get done; then a person decides (retry
or resolve), as many rounds as it takes."""
STATUS_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=10)
)
"""updateTenantStatus retries until the store answers (it fails for good only when the tenant
is not this workflow's)."""
FIELD_CLEARED_BY: dict[str, str] = {
    TenantStep.DELETE_IDP_ORG: "idp_organization",
    TenantStep.REMOVE_DNS: "domain",
}
"""Tenant fields that name what a removal takes away (cleared once it is gone)."""
LONG_REMOVALS = frozenset({TenantStep.DESTROY_INFRA})
"""Removals that heartbeat how far they got and may take long."""


@dataclass(frozen=True)
class Intervention:
    """A person's answer to a step that keeps failing."""

    action: str
    """`retry` or `resolve`."""
    actor: str
    comment: str


class TenantWorkflow(EntityWorkflow):
    """Both tenant workflows' signals (each records what it is sent; a workflow takes only the
    actions it accepts now) and their steps that must get done."""

    KIND = TENANT_KIND

    def __init__(self) -> None:
        super().__init__()
        self._interventions = 0
        self._answer: Intervention | None = None

    # -- signals (spec names) --------------------------------------------------------------

    @workflow.signal(name=CANCEL_PROVISIONING_SIGNAL)
    def cancel_provisioning(self, signal: ReasonSignal) -> None:
        """CancelProvisioning: roll back what provisioning made so far."""
        self._take("cancel", signal)

    @workflow.signal(name=SKIP_GRACE_SIGNAL)
    def skip_grace_period(self, signal: ReasonSignal) -> None:
        """SkipGracePeriod: end a deprovisioning's grace period now."""
        self._take("skip-grace", signal)

    @workflow.signal(name=ABORT_DEPROVISION_SIGNAL)
    def abort_deprovision(self, signal: ReasonSignal) -> None:
        """AbortDeprovision: stop a deprovisioning in its grace period; nothing is removed."""
        self._take("abort-deprovision", signal)

    @workflow.signal(name=RETRY_STEP_SIGNAL)
    def retry_step(self, signal: InterventionSignal) -> None:
        """RetryStep: run the step that keeps failing once more."""
        self._intervene("retry", signal)

    @workflow.signal(name=RESOLVE_STEP_SIGNAL)
    def resolve_step(self, signal: InterventionSignal) -> None:
        """ResolveStep: a person did what the stuck step does; go on as if it had succeeded."""
        self._intervene("resolve", signal)

    def _take(self, action: str, signal: ReasonSignal) -> None:
        taken = self.tracker.receive(
            action, actor=signal.actor, comment=signal.reason, signal_id=signal.signal_id
        )
        if taken:
            self.on_action(action, signal)

    def on_action(self, action: str, signal: ReasonSignal) -> None:
        """React to an accepted cancel / skip-grace / abort-deprovision (a workflow only ever
        accepts its own, so only those arrive here)."""

    def _intervene(self, action: str, signal: InterventionSignal) -> None:
        taken = self.tracker.receive(
            action,
            actor=signal.actor,
            comment=signal.comment,
            signal_id=signal.signal_id,
            request_id=signal.request_id,
            answers=INTERVENTION,
        )
        if taken:
            self._answer = Intervention(action, signal.actor, signal.comment)
            self.tracker.accept()  # one answer per round

    # -- steps that must get done ----------------------------------------------------------

    async def settle(
        self,
        name: str,
        arg: Any,
        *,
        describe: Callable[[Any], str],
        activity: str | None = None,
        result_type: type | None = None,
        long: bool = False,
    ) -> Any:
        """Run a step that must get done: retried, and while it still fails a person retries
        it or resolves it by hand. Its result, or None when a person resolved it."""
        while True:
            try:
                result = await self.step(
                    name,
                    arg,
                    activity=activity,
                    result_type=result_type,
                    long=long,
                    retry=MUST_FINISH_RETRY,
                )
            except ActivityError as err:
                if is_cancelled_exception(err):
                    raise  # cancelled, not failing: nobody needs to look at it
                answer = await self._ask_for_help(name, failure_message(err))
                if answer.action == "resolve":
                    comment = f": {answer.comment}" if answer.comment else ""
                    self.tracker.complete(name, f"resolved by {answer.actor}{comment}")
                    return None
                continue
            self.tracker.complete(name, describe(result))
            return result

    async def remove(self, name: str, tenant: TenantRef) -> None:
        """Run a removal (a saga compensation or a deprovisioning step) until it is done."""
        await self.settle(
            name,
            tenant,
            result_type=RemovalResult,
            long=name in LONG_REMOVALS,
            describe=_describe_removal,
        )
        field = FIELD_CLEARED_BY.get(name)
        if field is not None:
            self.tracker.fields[field] = None  # the record no longer names what is gone
            self.tracker.on_change()

    async def _ask_for_help(self, name: str, error: str) -> Intervention:
        """Wait (durably, for as long as it takes) for a person's retry or resolve."""
        tracker = self.tracker
        self._interventions += 1
        request_id = f"intervention-{self._interventions}"
        tracker.wait(name, f"{error} (waiting for a person: {request_id})")
        error_before = tracker.progress.last_error
        tracker.progress.last_error = f"{name}: {error}"
        before = list(tracker.progress.accepts)
        self._answer = None
        tracker.await_human(
            INTERVENTION,
            request_id,
            f"{name} keeps failing: {error}. Retry it, or mark it resolved once fixed by hand",
            accepts=("retry", "resolve"),
        )
        await workflow.wait_condition(lambda: self._answer is not None)
        answer = self._answer
        assert answer is not None
        self._answer = None
        tracker.stop_awaiting()
        tracker.accept(*before)
        # Answered: the stuck step's error was for the person; the original cause stands again.
        tracker.progress.last_error = error_before
        return answer


def _describe_removal(result: RemovalResult) -> str:
    return f"{result.removed} removed" if result.removed else "nothing left to remove"
