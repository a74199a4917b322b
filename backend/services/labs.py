"""Lab use cases: create (start the workflow), list and read with live progress, review, cancel.

Human actions check that the workflow waits for them (a fresh query) before signalling, so the
caller gets a clear refusal instead of a silent no-op; every action is audited, and an action
repeated with the same idempotency key returns the first outcome without acting twice.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
import uuid
from collections.abc import Sequence
from typing import NoReturn

from temporalio.client import Client, WorkflowHandle
from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from backend.domain.audit import ActionResult, AuditOutcome
from backend.domain.labs import (
    LAB_KIND,
    CancelLab,
    CreateLab,
    Lab,
    LabList,
    LabStatus,
    ReviewDecision,
    ReviewLab,
)
from backend.domain.progress import Progress, ProgressSummary
from backend.services.errors import Conflict, NotFound, Unavailable
from backend.services.progress import ProgressReader, ProgressUnavailable, VisibilityIndex
from backend.store.audit import AuditRepository
from backend.store.labs import DuplicateLabName, LabRecord, LabRepository
from backend.workflows import search_attributes as sa
from backend.workflows.labs.messages import (
    CANCEL_LAB_SIGNAL,
    HUMAN_REVIEW_SIGNAL,
    CancelLabSignal,
    HumanReviewSignal,
    LabProvisionParams,
)
from backend.workflows.labs.workflow import LabProvisionWorkflow

log = logging.getLogger(__name__)

CONFIRM_SECONDS = 5.0
"""How long an action waits for the workflow to confirm the signal it sent."""
MAX_LIVE = 50
"""Most rows a list call queries exactly (what fits on a screen, and then some)."""


def lab_workflow_id(lab_id: str) -> str:
    """Workflow id of a lab (spec §7: `lab-{id}`)."""
    return f"lab-{lab_id}"


class LabService:
    """What the API does with labs."""

    def __init__(
        self,
        *,
        client: Client,
        labs: LabRepository,
        audit: AuditRepository,
        progress: ProgressReader,
        visibility: VisibilityIndex,
        task_queue: str,
    ) -> None:
        self._client = client
        self._labs = labs
        self._audit = audit
        self._progress = progress
        self._visibility = visibility
        self._task_queue = task_queue

    # -- reads -----------------------------------------------------------------------------

    async def list(
        self,
        *,
        status: LabStatus | None = None,
        live: Sequence[str] = (),
        limit: int = 200,
        offset: int = 0,
    ) -> LabList:
        """A page of labs with visibility summaries; `live` ids also get their exact progress."""
        records, total = await self._labs.list(status=status, limit=limit, offset=offset)
        summaries = await self._visibility.summaries(LAB_KIND)
        wanted = set(live[:MAX_LIVE])
        exact = await self._progress.read_many(r.workflow_id for r in records if r.id in wanted)
        items = [_lab(r, summaries.get(r.workflow_id), exact.get(r.workflow_id)) for r in records]
        return LabList(items=items, total=total)

    async def get(self, lab_id: str) -> Lab:
        """One lab with its exact progress; NotFound for unknown ids."""
        record = await self._record(lab_id)
        progress = await self._progress.read(record.workflow_id)
        summary = _summary_of(progress) if progress else None
        return _lab(record, summary, progress)

    async def _record(self, lab_id: str) -> LabRecord:
        record = await self._labs.get(lab_id)
        if record is None:
            raise NotFound(f"no lab with id {lab_id!r}")
        return record

    # -- create ----------------------------------------------------------------------------

    async def create(self, request: CreateLab) -> Lab:
        """Record the lab and start its workflow (`lab-{id}`); Conflict when the name is in use."""
        lab_id = secrets.token_hex(4)
        workflow_id = lab_workflow_id(lab_id)
        try:
            record = await self._labs.create(
                lab_id=lab_id,
                name=request.name,
                requested_by=request.requested_by,
                severity=request.severity,
                ttl_hours=request.ttl_hours,
                workflow_id=workflow_id,
            )
        except DuplicateLabName:
            raise Conflict(f"an active lab is already named {request.name!r}") from None
        params = LabProvisionParams(
            lab_id=lab_id,
            name=request.name,
            requested_by=request.requested_by,
            severity=request.severity,
            ttl_hours=request.ttl_hours,
        )
        try:
            handle = await self._client.start_workflow(
                LabProvisionWorkflow.run,
                params,
                id=workflow_id,
                task_queue=self._task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                search_attributes=TypedSearchAttributes(
                    [SearchAttributePair(sa.KIND, LAB_KIND), SearchAttributePair(sa.ENTITY, lab_id)]
                ),
            )
        except (RPCError, WorkflowAlreadyStartedError) as err:
            reason = f"could not start workflow: {err}"
            await self._labs.set_status(lab_id, LabStatus.FAILED, reason=reason)
            await self._audit.append(
                actor=request.requested_by,
                action="create",
                target_kind=LAB_KIND,
                target_id=lab_id,
                outcome=AuditOutcome.FAILED,
                message=reason,
                details={"name": request.name},
            )
            raise Unavailable(f"Temporal did not start the lab workflow: {err}") from None
        await self._labs.set_run_id(lab_id, handle.result_run_id or handle.run_id or "")
        await self._audit.append(
            actor=request.requested_by,
            action="create",
            target_kind=LAB_KIND,
            target_id=lab_id,
            outcome=AuditOutcome.ACCEPTED,
            message=f"lab {request.name} requested ({request.severity.value}, {request.ttl_hours} h)",
            details=request.model_dump(mode="json"),
        )
        record = await self._record(lab_id)
        return _lab(record, None, None)

    # -- human actions ---------------------------------------------------------------------

    async def review(self, lab_id: str, request: ReviewLab) -> ActionResult:
        """Send HumanReview when the lab awaits that review; Conflict otherwise."""
        action = f"review.{request.decision.value}"
        record = await self._record(lab_id)
        replayed = await self._replayed(action, lab_id, request.idempotency_key)
        if replayed is not None:
            return replayed
        progress = await self._fresh_progress(record)
        awaiting = progress.awaiting if progress else None
        round_answered = next(
            (
                d
                for d in reversed(progress.decisions if progress else [])
                if d.kind == "review" and d.accepted and d.request_id == request.request_id
            ),
            None,
        )
        if request.request_id and round_answered is not None:
            message = (
                f"review {request.request_id} of lab {record.name} was already answered"
                f" ({round_answered.decision} by {round_answered.actor}); nothing to do"
            )
            return await self._record_action(
                action,
                record,
                request.reviewer,
                request.comment,
                AuditOutcome.NO_OP,
                message,
                request.idempotency_key,
            )
        if awaiting is None or awaiting.kind != "review":
            phase = progress.phase if progress else record.status.value
            message = f"lab {record.name} is not waiting for review (phase: {phase})"
            await self._refuse(
                action,
                record,
                request.reviewer,
                request.comment,
                message,
                request.idempotency_key,
            )
        if request.request_id and request.request_id != awaiting.request_id:
            message = f"lab {record.name} awaits {awaiting.request_id}, not {request.request_id}"
            await self._refuse(
                action,
                record,
                request.reviewer,
                request.comment,
                message,
                request.idempotency_key,
            )
        signal_id = request.idempotency_key or uuid.uuid4().hex
        signal = HumanReviewSignal(
            decision=request.decision,
            reviewer=request.reviewer,
            comment=request.comment,
            request_id=awaiting.request_id,
            signal_id=signal_id,
        )
        await self._signal(record, HUMAN_REVIEW_SIGNAL, signal)
        verb = (
            "approved"
            if request.decision == ReviewDecision.APPROVE
            else "sent back (changes requested)"
        )
        message = f"lab {record.name} {verb} ({awaiting.request_id})"
        outcome, message = await self._confirm(record, signal_id, message)
        return await self._record_action(
            action,
            record,
            request.reviewer,
            request.comment,
            outcome,
            message,
            request.idempotency_key,
            {"request_id": awaiting.request_id},
        )

    async def cancel(self, lab_id: str, request: CancelLab) -> ActionResult:
        """Send CancelLab unless the lab has already ended (Conflict)."""
        action = "cancel"
        record = await self._record(lab_id)
        replayed = await self._replayed(action, lab_id, request.idempotency_key)
        if replayed is not None:
            return replayed
        try:
            progress = await self._fresh_progress(record)
        except Unavailable:
            # No worker answers queries right now; the signal is durable and waits for one.
            progress = None
        ending = progress is not None and (progress.done or progress.phase == "tearing_down")
        if record.status.is_final:
            message = f"lab {record.name} has already ended ({record.status.value})"
            await self._refuse(
                action, record, request.actor, request.reason, message, request.idempotency_key
            )
        if ending:
            message = f"lab {record.name} is already being torn down"
            await self._refuse(
                action, record, request.actor, request.reason, message, request.idempotency_key
            )
        signal_id = request.idempotency_key or uuid.uuid4().hex
        try:
            await self._signal(
                record,
                CANCEL_LAB_SIGNAL,
                CancelLabSignal(reason=request.reason, actor=request.actor, signal_id=signal_id),
            )
        except _WorkflowMissing:
            # The row outlived its workflow (it never started, or history was deleted):
            # nothing runs, so the lab is simply cancelled.
            reason = f"cancelled by {request.actor}: {request.reason} (no workflow was running)"
            await self._labs.set_status(lab_id, LabStatus.CANCELLED, reason=reason)
            return await self._record_action(
                action,
                record,
                request.actor,
                request.reason,
                AuditOutcome.ACCEPTED,
                f"lab {record.name} cancelled; it had no running workflow",
                request.idempotency_key,
            )
        message = f"lab {record.name} is being cancelled; its environment will be torn down"
        outcome, message = await self._confirm(record, signal_id, message)
        return await self._record_action(
            action,
            record,
            request.actor,
            request.reason,
            outcome,
            message,
            request.idempotency_key,
        )

    async def _replayed(
        self, action: str, lab_id: str, idempotency_key: str | None
    ) -> ActionResult | None:
        """The first outcome of an action repeated with the same idempotency key, if any."""
        if not idempotency_key:
            return None
        previous = await self._audit.find_by_key(action, lab_id, idempotency_key)
        return (
            None if previous is None else _repeat(previous.outcome, previous.message, previous.id)
        )

    async def _confirm(
        self, record: LabRecord, signal_id: str, message: str
    ) -> tuple[AuditOutcome, str]:
        """Wait (bounded) until the workflow shows how it took the signal: a racing action may
        have changed what it waits for between our query and our signal."""
        deadline = time.monotonic() + CONFIRM_SECONDS
        while time.monotonic() < deadline:
            try:
                progress = await self._progress.read(record.workflow_id, fresh=True, strict=True)
            except ProgressUnavailable:
                break
            decisions = progress.decisions if progress else []
            decision = next((d for d in decisions if d.signal_id == signal_id), None)
            if decision is not None:
                if decision.accepted:
                    return AuditOutcome.ACCEPTED, message
                return AuditOutcome.REFUSED, f"lab {record.name}: {decision.note or 'refused'}"
            await asyncio.sleep(0.05)
        return AuditOutcome.ACCEPTED, f"{message} (signal sent; not yet confirmed by the workflow)"

    async def _fresh_progress(self, record: LabRecord) -> Progress | None:
        try:
            return await self._progress.read(record.workflow_id, fresh=True, strict=True)
        except ProgressUnavailable as err:
            raise Unavailable(
                f"{err}. Is a worker running on task queue {self._task_queue}?"
            ) from None

    async def _signal(self, record: LabRecord, name: str, payload: object) -> None:
        handle: WorkflowHandle[object, object] = self._client.get_workflow_handle(
            record.workflow_id
        )
        try:
            await handle.signal(name, payload)
        except RPCError as err:
            if err.status == RPCStatusCode.NOT_FOUND:
                raise _WorkflowMissing(str(err)) from None
            raise Unavailable(f"Temporal did not take the {name} signal: {err}") from None
        finally:
            self._progress.forget(record.workflow_id)

    async def _record_action(
        self,
        action: str,
        record: LabRecord,
        actor: str,
        reason: str,
        outcome: AuditOutcome,
        message: str,
        idempotency_key: str | None,
        details: dict[str, object] | None = None,
    ) -> ActionResult:
        """Audit one action; a refusal is answered with Conflict after it is recorded."""
        entry = await self._audit.append(
            actor=actor,
            action=action,
            target_kind=LAB_KIND,
            target_id=record.id,
            reason=reason,
            outcome=outcome,
            message=message,
            idempotency_key=idempotency_key,
            details={"name": record.name, **(details or {})},
        )
        if outcome == AuditOutcome.REFUSED:
            raise Conflict(message)
        return ActionResult(outcome=entry.outcome, message=entry.message, audit_id=entry.id)

    async def _refuse(
        self,
        action: str,
        record: LabRecord,
        actor: str,
        reason: str,
        message: str,
        idempotency_key: str | None,
    ) -> NoReturn:
        """Audit a refused action and answer Conflict with why."""
        await self._record_action(
            action, record, actor, reason, AuditOutcome.REFUSED, message, idempotency_key
        )
        raise Conflict(message)  # not reached: _record_action raises it for refusals


class _WorkflowMissing(Exception):
    """Temporal has no workflow with the lab's id."""


def _repeat(outcome: AuditOutcome, message: str, audit_id: int) -> ActionResult:
    if outcome == AuditOutcome.REFUSED:
        raise Conflict(message)
    return ActionResult(
        outcome=AuditOutcome.NO_OP, message=f"already done: {message}", audit_id=audit_id
    )


def _summary_of(progress: Progress) -> ProgressSummary:
    return ProgressSummary(
        phase=progress.phase,
        percent=progress.percent,
        awaiting=progress.awaiting.kind if progress.awaiting else None,
    )


def _lab(record: LabRecord, summary: ProgressSummary | None, progress: Progress | None) -> Lab:
    return Lab(
        id=record.id,
        name=record.name,
        requested_by=record.requested_by,
        severity=record.severity,
        ttl_hours=record.ttl_hours,
        status=record.status,
        workflow_id=record.workflow_id,
        run_id=record.run_id,
        created_at=record.created_at,
        updated_at=record.updated_at,
        expires_at=record.expires_at,
        status_reason=record.status_reason,
        summary=summary,
        progress=progress,
    )
