"""TenantProvisionWorkflow (spec: Provision Tenant Workflow): claim the tenant, IdP organization,
infrastructure, deployment, DNS, resource records, ACTIVE, welcome e-mail.

A forward step failing after its retries, CancelProvisioning or a Temporal cancel rolls back as a
saga: the steps that completed are compensated in reverse order of completion, preceded by the
compensation of the step that failed or was stopped (it may have done part of its work; every
removal is a no-op when nothing is there). A compensation that keeps failing waits for a person.
Then the tenant is PROVISION_FAILED and its admin is told why. Once the tenant is ACTIVE (100 %)
nothing rolls it back: a welcome e-mail that cannot be sent is recorded as the last error and the
tenant stays ACTIVE.

Deterministic workflow code only; the activities do the work.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import (
    ActivityError,
    ApplicationError,
    FailureError,
    TimeoutType,
    is_cancelled_exception,
)
from temporalio.exceptions import (
    TimeoutError as ActivityTimeout,
)

with workflow.unsafe.imports_passed_through():
    from backend.domain.progress import StepState
    from backend.domains.tenants.activities import (
        PERMANENT_PROVIDER_ERROR,
        UPDATE_TENANT_STATUS,
    )
    from backend.domains.tenants.messages import ReasonSignal, TenantProvisionParams
    from backend.domains.tenants.model import PROVISION_WORKFLOW, TenantStatus, TenantStep
    from backend.domains.tenants.payloads import (
        DnsResult,
        EmailResult,
        FailureNotice,
        ResourcesResult,
        StatusUpdate,
        TenantResult,
        WelcomeInput,
        tenant_ref,
    )
    from backend.domains.tenants.providers.protocol import (
        Deployment,
        IdpOrganization,
        InfrastructureStack,
        TenantRef,
    )
    from backend.domains.tenants.tenant_workflow import STATUS_RETRY, TenantWorkflow
    from backend.workflows.activity_steps import INJECTED_INVALID
    from backend.workflows.entity_workflow import (
        failure_message,
        failure_type,
        run_to_completion,
    )
    from backend.workflows.platform_activities import ENTITY_MISSING, ENTITY_OWNED
    from backend.workflows.progress_tracker import StepPlan

FORWARD_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=4),
    maximum_attempts=3,
    non_retryable_error_types=[PERMANENT_PROVIDER_ERROR, INJECTED_INVALID],
)
"""Forward steps fail fast (three attempts within seconds), then the saga rolls back."""
LOST_WORKER_ROUNDS = 5
"""Rounds of attempts a forward step gets when its attempts end in heartbeat timeouts (workers
killed mid-step); a real failure still rolls back after one round."""


def _workers_lost(err: ActivityError) -> bool:
    """True when the step's last attempt timed out on its heartbeat (its worker died)."""
    cause = err.cause
    return isinstance(cause, ActivityTimeout) and cause.type == TimeoutType.HEARTBEAT


COMPENSATIONS: dict[str, str] = {
    TenantStep.CREATE_IDP_ORG: TenantStep.DELETE_IDP_ORG,
    TenantStep.PROVISION_INFRA: TenantStep.DESTROY_INFRA,
    TenantStep.DEPLOY: TenantStep.ROLLBACK_DEPLOYMENT,
    TenantStep.CONFIGURE_DNS: TenantStep.REMOVE_DNS,
    TenantStep.CREATE_RESOURCES: TenantStep.DELETE_RESOURCES,
}
"""Forward step → the compensation that undoes it."""
NOT_OURS = (ENTITY_OWNED, ENTITY_MISSING)
"""Failures that mean the tenant is not this run's to touch."""


@workflow.defn(name=PROVISION_WORKFLOW)
class TenantProvisionWorkflow(TenantWorkflow):
    """Provisions one tenant; rolls back what it made when a step fails or it is cancelled."""

    STEPS = (
        StepPlan(TenantStep.MARK_PROVISIONING, 5),
        StepPlan(TenantStep.CREATE_IDP_ORG, 10),
        StepPlan(TenantStep.PROVISION_INFRA, 35, heartbeats=True),
        StepPlan(TenantStep.DEPLOY, 25, heartbeats=True),
        StepPlan(TenantStep.CONFIGURE_DNS, 10),
        StepPlan(TenantStep.CREATE_RESOURCES, 5),
        StepPlan(TenantStep.MARK_ACTIVE, 10),
        StepPlan(TenantStep.WELCOME, 0),  # after the tenant is ACTIVE; a notification only
    )

    def __init__(self) -> None:
        super().__init__()
        self.tracker.progress.phase = TenantStatus.PENDING
        self.tracker.progress.accepts = ["cancel"]
        self._cancel: ReasonSignal | None = None
        self._forward: asyncio.Task[None] | None = None
        self._completed: list[str] = []
        """Forward steps that completed, in order (what a rollback undoes)."""

    def on_action(self, action: str, signal: ReasonSignal) -> None:
        """CancelProvisioning taken: stop the forward steps; the rollback follows."""
        if action == "cancel":
            self._cancel = signal
            self.tracker.closing(f"provisioning is being cancelled (by {signal.actor})")
            if self._forward is not None:
                self._forward.cancel()

    @workflow.run
    async def run(self, params: TenantProvisionParams) -> TenantResult:
        """Provision the tenant, then welcome its admin; roll back on failure or cancel."""
        self.report_for(params.tenant_id)
        tenant = tenant_ref(params)
        self._forward = asyncio.create_task(self._provision(tenant))
        if self._cancel is not None:
            self._forward.cancel()
        try:
            await self._forward
        except BaseException as err:
            if not (is_cancelled_exception(err) or isinstance(err, FailureError)):
                raise
            return await self._fail(tenant, err)
        result, cancelled = await run_to_completion(self._welcome(params, tenant))
        if cancelled:
            raise asyncio.CancelledError("cancelled through Temporal once the tenant was active")
        return result

    # -- forward ---------------------------------------------------------------------------

    async def _provision(self, tenant: TenantRef) -> None:
        """The forward steps, up to ACTIVE."""
        tracker = self.tracker
        await self._mark(TenantStatus.PROVISIONING, TenantStep.MARK_PROVISIONING, tenant)
        tracker.set_phase(TenantStatus.PROVISIONING)

        org: IdpOrganization = await self._forward_step(
            TenantStep.CREATE_IDP_ORG,
            tenant,
            IdpOrganization,
            lambda o: f"{o.provider} organization {o.id}",
        )
        tracker.fields["idp_organization"] = org.id
        await self._forward_step(
            TenantStep.PROVISION_INFRA,
            tenant,
            InfrastructureStack,
            lambda s: f"{s.stack_id}: {len(s.resources)} resources",
            long=True,
        )
        await self._forward_step(
            TenantStep.DEPLOY,
            tenant,
            Deployment,
            lambda d: f"{d.deployment_id} v{d.version} at {d.url}",
            long=True,
        )
        dns: DnsResult = await self._forward_step(
            TenantStep.CONFIGURE_DNS,
            tenant,
            DnsResult,
            lambda r: f"{len(r.records)} records for {r.domain}",
        )
        tracker.fields["domain"] = dns.domain
        await self._forward_step(
            TenantStep.CREATE_RESOURCES,
            tenant,
            ResourcesResult,
            lambda r: ", ".join(r.names),
        )
        await self._mark(TenantStatus.ACTIVE, TenantStep.MARK_ACTIVE, tenant)
        tracker.set_phase(TenantStatus.ACTIVE)

    async def _forward_step(
        self,
        name: str,
        tenant: TenantRef,
        result_type: type,
        describe: Callable[[Any], str],
        *,
        long: bool = False,
    ) -> Any:
        """Run a forward step (a short retry policy); remember that it completed.

        A step whose attempts ran out because workers died (heartbeat timeouts) runs again:
        losing workers is not the tenant's failure, so it does not roll the tenant back."""
        for round_ in range(1, LOST_WORKER_ROUNDS + 1):
            try:
                result = await self.step(
                    name, tenant, result_type=result_type, long=long, retry=FORWARD_RETRY
                )
                break
            except ActivityError as err:
                if round_ == LOST_WORKER_ROUNDS or not _workers_lost(err):
                    raise
                self._stop_if_cancelled()
        self._completed.append(name)
        self.tracker.complete(name, describe(result))
        self._stop_if_cancelled()
        return result

    async def _mark(self, status: TenantStatus, name: str, tenant: TenantRef) -> None:
        """updateTenantStatus: claim the tenant before it enters `status`."""
        await self.step(
            name,
            StatusUpdate(tenant_id=tenant.tenant_id, status=status),
            activity=UPDATE_TENANT_STATUS,
            retry=STATUS_RETRY,
        )
        if status == TenantStatus.ACTIVE:
            self.tracker.accept()  # an active tenant is not rolled back by a cancel
        self.tracker.complete(name, status.value)
        self._stop_if_cancelled()

    def _stop_if_cancelled(self) -> None:
        """Raise once CancelProvisioning was taken: a step that finished anyway (its cancel came
        too late) must not let the forward steps go on."""
        if self._cancel is not None:
            raise asyncio.CancelledError("CancelProvisioning received")

    async def _welcome(self, params: TenantProvisionParams, tenant: TenantRef) -> TenantResult:
        """Welcome the admin of the active tenant; a failure is recorded, never rolled back."""
        tracker = self.tracker
        reason = f"provisioned ({params.plan.value}, {params.region.value})"
        welcome = WelcomeInput(
            tenant=tenant,
            domain=str(tracker.fields.get("domain") or ""),
            idp_organization=str(tracker.fields.get("idp_organization") or ""),
        )
        try:
            await self.step(
                TenantStep.WELCOME, welcome, result_type=EmailResult, retry=FORWARD_RETRY
            )
        except ActivityError as err:
            error = failure_message(err)
            tracker.fail(TenantStep.WELCOME, error)
            reason = f"{reason}; the welcome e-mail was not sent: {error}"
        else:
            tracker.complete(TenantStep.WELCOME, f"sent to {params.admin_email}")
        await self.ended(TenantStatus.ACTIVE, reason)
        return TenantResult(tenant_id=params.tenant_id, status=TenantStatus.ACTIVE, reason=reason)

    # -- rollback --------------------------------------------------------------------------

    async def _fail(self, tenant: TenantRef, err: BaseException) -> TenantResult:
        """Roll back after a failure or a cancel, and end PROVISION_FAILED."""
        tracker = self.tracker
        running = tracker.running_step()
        through_temporal = False
        if is_cancelled_exception(err):
            if self._cancel is None:
                through_temporal = True
                cause = "cancelled through Temporal"
            else:
                cause = f"cancelled by {self._cancel.actor}: {self._cancel.reason}"
        else:
            message = failure_message(err)
            cause = f"{running or 'provisioning'} failed: {message}"
            if running is not None:
                tracker.fail(running, message)
            if failure_type(err) in NOT_OURS:
                # Not this run's tenant: touch nothing of it.
                tracker.finish(TenantStatus.PROVISION_FAILED, cause)
                raise ApplicationError(cause, type=failure_type(err), non_retryable=True) from err
        _, cancelled_meanwhile = await run_to_completion(
            self._roll_back(tenant, cause, unfinished=running)
        )
        if through_temporal or cancelled_meanwhile:
            raise asyncio.CancelledError(f"tenant {tenant.tenant_id} provisioning {cause}")
        if self._cancel is not None:
            return TenantResult(
                tenant_id=tenant.tenant_id, status=TenantStatus.PROVISION_FAILED, reason=cause
            )
        raise ApplicationError(
            f"tenant {tenant.tenant_id}: {cause}", type="ProvisioningFailed", non_retryable=True
        )

    async def _roll_back(self, tenant: TenantRef, cause: str, unfinished: str | None) -> None:
        """Compensate what was made, newest first, then PROVISION_FAILED and tell the admin.

        `unfinished` is the step that failed or was stopped part way: it is undone first."""
        tracker = self.tracker
        if tracker.progress.closing is None:
            tracker.closing(f"provisioning is being rolled back ({cause})")
        tracker.end_open_steps(StepState.CANCELLED)
        tracker.reason = cause
        tracker.set_phase(TenantStatus.ROLLING_BACK)
        undo = [s for s in self._completed if s in COMPENSATIONS]
        if unfinished in COMPENSATIONS and unfinished not in undo:
            undo.append(unfinished)
        undo.reverse()
        tracker.add_steps(
            [
                *(
                    StepPlan(
                        COMPENSATIONS[forward],
                        0,
                        heartbeats=COMPENSATIONS[forward] == TenantStep.DESTROY_INFRA,
                        compensates=forward,
                    )
                    for forward in undo
                ),
                StepPlan(TenantStep.MARK_FAILED, 0),
                StepPlan(TenantStep.FAILURE_EMAIL, 0),
            ]
        )
        for forward in undo:
            await self.remove(COMPENSATIONS[forward], tenant)

        await self.step(
            TenantStep.MARK_FAILED,
            StatusUpdate(tenant_id=tenant.tenant_id, status=TenantStatus.PROVISION_FAILED),
            activity=UPDATE_TENANT_STATUS,
            retry=STATUS_RETRY,
        )
        tracker.complete(TenantStep.MARK_FAILED, cause)
        tracker.set_phase(TenantStatus.PROVISION_FAILED)
        try:
            await self.step(
                TenantStep.FAILURE_EMAIL,
                FailureNotice(tenant=tenant, reason=cause),
                result_type=EmailResult,
                retry=FORWARD_RETRY,
            )
        except ActivityError as err:
            tracker.fail(TenantStep.FAILURE_EMAIL, failure_message(err))
        else:
            tracker.complete(TenantStep.FAILURE_EMAIL, f"sent to {tenant.admin_email}")
        await self.ended(TenantStatus.PROVISION_FAILED, cause)
