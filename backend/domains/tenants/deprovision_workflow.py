"""TenantDeprovisionWorkflow (spec: Deprovision Tenant Workflow): claim the tenant, notify its
users, a durable grace period, back up, then remove the deployment, DNS, infrastructure, IdP
organization and resource records; DEPROVISIONED.

During the grace period SkipGracePeriod starts removal now and AbortDeprovision stops it all
(nothing is removed; the tenant is ACTIVE again). Once removal starts it runs to the end: a step
that keeps failing waits for a person to retry it or resolve it by hand, and a Temporal cancel
lets it finish (a tenant is never left half removed). A Temporal cancel before removal starts is
an abort.

Deterministic workflow code only; the activities do the work.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.exceptions import ApplicationError, FailureError, is_cancelled_exception

with workflow.unsafe.imports_passed_through():
    from backend.domain.progress import StepState
    from backend.domains.tenants.activities import UPDATE_TENANT_STATUS
    from backend.domains.tenants.messages import ReasonSignal, TenantDeprovisionParams
    from backend.domains.tenants.model import DEPROVISION_WORKFLOW, TenantStatus, TenantStep
    from backend.domains.tenants.payloads import (
        DeprovisionNotice,
        EmailResult,
        StatusUpdate,
        TenantResult,
        tenant_ref,
    )
    from backend.domains.tenants.providers.protocol import Backup, TenantRef
    from backend.domains.tenants.tenant_workflow import STATUS_RETRY, TenantWorkflow
    from backend.workflows.entity_workflow import (
        failure_message,
        failure_type,
        run_to_completion,
    )
    from backend.workflows.progress_tracker import StepPlan

REMOVALS = (
    TenantStep.REMOVE_DEPLOYMENT,
    TenantStep.REMOVE_DNS,
    TenantStep.DESTROY_INFRA,
    TenantStep.DELETE_IDP_ORG,
    TenantStep.DELETE_RESOURCES,
)
"""What deprovisioning removes, in order (the application first, its data last)."""


@workflow.defn(name=DEPROVISION_WORKFLOW)
class TenantDeprovisionWorkflow(TenantWorkflow):
    """Removes one active tenant, after an optional notice, grace period and backup."""

    STEPS = (
        StepPlan(TenantStep.MARK_DEPROVISIONING, 5),
        StepPlan(TenantStep.NOTIFY_USERS, 5),
        StepPlan(TenantStep.GRACE_PERIOD, 5),
        StepPlan(TenantStep.BACKUP, 15),
        StepPlan(TenantStep.REMOVE_DEPLOYMENT, 15),
        StepPlan(TenantStep.REMOVE_DNS, 10),
        StepPlan(TenantStep.DESTROY_INFRA, 25, heartbeats=True),
        StepPlan(TenantStep.DELETE_IDP_ORG, 10),
        StepPlan(TenantStep.DELETE_RESOURCES, 5),
        StepPlan(TenantStep.MARK_DEPROVISIONED, 5),
    )

    def __init__(self) -> None:
        super().__init__()
        self.tracker.progress.phase = TenantStatus.ACTIVE
        self._skip: ReasonSignal | None = None
        self._abort: ReasonSignal | None = None

    def on_action(self, action: str, signal: ReasonSignal) -> None:
        """SkipGracePeriod / AbortDeprovision taken: the grace period ends now."""
        if action == "skip-grace":
            self._skip = signal
        elif action == "abort-deprovision":
            self._abort = signal
        self.tracker.accept()

    @workflow.run
    async def run(self, params: TenantDeprovisionParams) -> TenantResult:
        """Prepare (notice, grace period), then remove everything; abort keeps it all."""
        self.report_for(params.tenant_id)
        tenant = tenant_ref(params)
        try:
            await self._prepare(params, tenant)
        except BaseException as err:
            if is_cancelled_exception(err):
                reason = "deprovision cancelled through Temporal; nothing was removed"
                await run_to_completion(self._stay_active(reason))
                raise asyncio.CancelledError(reason) from None
            if isinstance(err, FailureError):
                step = self.tracker.running_step()
                message = failure_message(err)
                if step is not None:
                    self.tracker.fail(step, message)
                reason = f"deprovision failed before anything was removed: {message}"
                await self._stay_active(reason)
                raise ApplicationError(reason, type=failure_type(err), non_retryable=True) from err
            raise
        if self._abort is not None:
            reason = f"deprovision aborted by {self._abort.actor}: {self._abort.reason}"
            await self._stay_active(reason)
            return TenantResult(
                tenant_id=tenant.tenant_id, status=TenantStatus.ACTIVE, reason=reason
            )
        result, cancelled = await run_to_completion(self._remove(params, tenant))
        if cancelled:
            raise asyncio.CancelledError("cancelled through Temporal; removal was finished first")
        return result

    # -- before anything is removed --------------------------------------------------------

    async def _prepare(self, params: TenantDeprovisionParams, tenant: TenantRef) -> None:
        """Claim the tenant, notify its users, wait out the grace period."""
        tracker = self.tracker
        await self.step(
            TenantStep.MARK_DEPROVISIONING,
            StatusUpdate(tenant_id=tenant.tenant_id, status=TenantStatus.DEPROVISIONING),
            activity=UPDATE_TENANT_STATUS,
            retry=STATUS_RETRY,
        )
        tracker.complete(TenantStep.MARK_DEPROVISIONING, f"requested by {params.requested_by}")
        tracker.set_phase(TenantStatus.DEPROVISIONING)
        hours = params.grace_period_hours
        grace_until = workflow.now() + timedelta(hours=hours) if hours > 0 else None
        if params.notify_users:
            await self.settle(
                TenantStep.NOTIFY_USERS,
                DeprovisionNotice(tenant=tenant, removal_after=grace_until),
                result_type=EmailResult,
                describe=lambda _: f"notice sent to {tenant.admin_email}",
            )
        else:
            self._skip_step(TenantStep.NOTIFY_USERS, "users not notified (notify_users off)")
        if grace_until is None:
            self._skip_step(TenantStep.GRACE_PERIOD, "no grace period")
        else:
            await self._grace_period(grace_until)

    async def _grace_period(self, until: datetime) -> None:
        """A durable timer that SkipGracePeriod ends early and AbortDeprovision ends for good."""
        tracker = self.tracker
        tracker.fields["grace_until"] = until.isoformat()
        tracker.wait(TenantStep.GRACE_PERIOD, f"until {until:%Y-%m-%d %H:%M} UTC")
        tracker.accept("skip-grace", "abort-deprovision")
        remaining = until - workflow.now()
        if remaining > timedelta(0):
            with contextlib.suppress(TimeoutError):  # the grace period is over
                await workflow.wait_condition(
                    lambda: self._skip is not None or self._abort is not None, timeout=remaining
                )
        tracker.accept()
        if self._abort is not None:
            return
        if self._skip is not None:
            detail = f"skipped by {self._skip.actor}: {self._skip.reason}"
        else:
            detail = f"ended {until:%Y-%m-%d %H:%M} UTC"
        tracker.complete(TenantStep.GRACE_PERIOD, detail)

    def _skip_step(self, name: str, detail: str) -> None:
        """An option left off: the step is skipped and its share of percent moves to the last
        step, so a finished run reads 100 %."""
        progress = self.tracker.progress
        skipped, last = progress.step(name), progress.step(TenantStep.MARK_DEPROVISIONED)
        assert skipped is not None and last is not None
        last.weight += skipped.weight
        skipped.weight = 0
        self.tracker.skip(name, detail)

    async def _stay_active(self, reason: str) -> None:
        """Nothing was removed: the tenant is ACTIVE again."""
        tracker = self.tracker
        tracker.accept()
        tracker.end_open_steps(StepState.CANCELLED)
        tracker.fields["grace_until"] = None
        # The run is over and the tenant whole again: an ACTIVE tenant reads 100 %.
        tracker.progress.percent = 100
        await self.ended(TenantStatus.ACTIVE, reason)

    # -- removal ---------------------------------------------------------------------------

    async def _remove(self, params: TenantDeprovisionParams, tenant: TenantRef) -> TenantResult:
        """Back up, remove everything, DEPROVISIONED; runs to the end whatever happens."""
        tracker = self.tracker
        tracker.closing("the tenant is being removed; removal runs to the end")
        if params.backup:
            await self.settle(
                TenantStep.BACKUP,
                tenant,
                result_type=Backup,
                describe=lambda b: f"{b.size_bytes} bytes to {b.location}",
            )
        else:
            self._skip_step(TenantStep.BACKUP, "no backup asked for")
        for name in REMOVALS:
            await self.remove(name, tenant)
        await self.step(
            TenantStep.MARK_DEPROVISIONED,
            StatusUpdate(tenant_id=tenant.tenant_id, status=TenantStatus.DEPROVISIONED),
            activity=UPDATE_TENANT_STATUS,
            retry=STATUS_RETRY,
        )
        tracker.complete(TenantStep.MARK_DEPROVISIONED, TenantStatus.DEPROVISIONED.value)
        reason = f"deprovisioned at the request of {params.requested_by}"
        await self.ended(TenantStatus.DEPROVISIONED, reason)
        return TenantResult(
            tenant_id=tenant.tenant_id, status=TenantStatus.DEPROVISIONED, reason=reason
        )
