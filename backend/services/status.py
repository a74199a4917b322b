"""The store's side of the status path: apply workflows' reports, audit their decisions once.

`StoreStatusSink` is what a worker in the API's process calls directly, and what the internal
API endpoint calls for workers elsewhere. One transaction per report: the entity's new state,
and for each decision the workflow received, either the verdict an action of ours waits for, or
an audit row (a signal sent with another Temporal client, or the late verdict on one of ours).
"""

from __future__ import annotations

from typing import Any

import aiosqlite

from backend.domain.audit import AuditOutcome, AuditSource
from backend.domain.catalog import spec_for_kind
from backend.domain.progress import Decision
from backend.domain.status import (
    ClaimRequest,
    ClaimResult,
    RegisterRequest,
    StatusAck,
    StatusReport,
)
from backend.providers.status import EntityMissing
from backend.services.domain_calls import CallContext, domain_calls
from backend.services.verdicts import Bell
from backend.store.action_requests import ActionRequests
from backend.store.audit import AuditRepository, NewAuditEntry
from backend.store.database import Database
from backend.store.entities import DuplicateName, EntityRepository


class StoreStatusSink:
    """Applies status reports and claims to this process's store."""

    def __init__(
        self,
        database: Database,
        entities: EntityRepository,
        verdicts: Bell,
        audit: AuditRepository,
    ) -> None:
        self._db = database
        self._entities = entities
        self._verdicts = verdicts
        self._audit = audit

    async def register(self, request: RegisterRequest) -> ClaimResult:
        """Create a child workflow's entity once (audited), or confirm it is that workflow's."""
        spec = spec_for_kind(request.kind)
        if spec is None:
            raise EntityMissing(f"no domain of kind {request.kind!r}")
        existing = await self._entities.claim(request.kind, request.entity_id, request.workflow_id)
        if existing is not None:
            return existing
        try:
            await self._entities.create(
                kind=request.kind,
                entity_id=request.entity_id,
                name=request.name,
                requested_by=request.requested_by,
                status=spec.initial_status,
                workflow_id=request.workflow_id,
                fields=request.fields,
            )
        except DuplicateName:
            return ClaimResult(
                granted=False, reason=f"an active {spec.noun} is already named {request.name!r}"
            )
        if request.run_id:
            await self._entities.set_run_id(request.kind, request.entity_id, request.run_id)
        parent = request.parent_workflow_id
        await self._audit.append(
            NewAuditEntry(
                actor=request.requested_by,
                action="create",
                target_kind=request.kind,
                target_id=request.entity_id,
                outcome=AuditOutcome.ACCEPTED,
                message=f"{spec.noun} {request.name} started by workflow {parent or '?'}",
                source=AuditSource.WORKFLOW,
                details={"parent_workflow_id": parent, **request.fields},
            )
        )
        return ClaimResult(granted=True)

    async def call(self, name: str, body: dict[str, Any]) -> dict[str, Any]:
        """Run a domain's internal call against this store (`backend.domains.*.calls`)."""
        handler = domain_calls().get(name)
        if handler is None:
            raise EntityMissing(f"no internal call {name!r}")
        answer = await handler(CallContext(self._db, self._audit), body)
        return answer.model_dump(mode="json")

    async def claim(self, request: ClaimRequest) -> ClaimResult:
        """Grant the claim when the workflow is the entity's own."""
        result = await self._entities.claim(request.kind, request.entity_id, request.workflow_id)
        if result is None:
            raise EntityMissing(f"no {request.kind} with id {request.entity_id!r}")
        return result

    async def report(self, report: StatusReport) -> StatusAck:
        """Apply the report (unless a newer one was) and mirror its decisions, atomically."""
        spec = spec_for_kind(report.kind)
        if spec is None:
            raise EntityMissing(f"no domain of kind {report.kind!r}")
        rung: list[str] = []
        async with self._db.transaction() as conn:
            owner = await EntityRepository.workflow_of(conn, report.kind, report.entity_id)
            if owner is None:
                raise EntityMissing(f"no {report.kind} with id {report.entity_id!r}")
            if owner != report.workflow_id:
                # A stray workflow (not the entity's own) changes nothing.
                return StatusAck(applied=False)
            applied = await EntityRepository.apply_report(
                conn, report, ended=spec.is_final(report.status)
            )
            for decision in report.decisions:
                if await self._mirror(conn, report, decision):
                    rung.append(decision.signal_id or "")
        for key in rung:
            self._verdicts.ring(key)
        return StatusAck(applied=applied)

    @staticmethod
    async def _mirror(conn: aiosqlite.Connection, report: StatusReport, decision: Decision) -> bool:
        """Record one decision; True when it was the verdict a pending action waits for."""
        source = AuditSource.TEMPORAL
        if decision.signal_id:
            request = await ActionRequests.get_in(conn, decision.signal_id)
            if request is not None:
                if not request.done:
                    verdict = {"accepted": decision.accepted, "note": decision.note}
                    await ActionRequests.note_verdict(conn, request.key, verdict)
                    return True
                if (request.response or {}).get("outcome") != AuditOutcome.SENT.value:
                    return False  # answered with the workflow's verdict already
                source = AuditSource.WORKFLOW
        outcome = AuditOutcome.ACCEPTED if decision.accepted else AuditOutcome.REFUSED
        taken = "taken" if decision.accepted else f"ignored: {decision.note or 'refused'}"
        how = {
            AuditSource.TEMPORAL: "signal sent outside Flightdeck (actor not authenticated)",
            AuditSource.WORKFLOW: "the workflow's verdict on the earlier request",
        }[source]
        await AuditRepository.insert(
            conn,
            NewAuditEntry(
                actor=decision.actor,
                action=decision.audit_action,
                target_kind=report.kind,
                target_id=report.entity_id,
                outcome=outcome,
                reason=decision.comment,
                message=f"{decision.audit_action} {taken} ({how})",
                source=source,
                decision_key=f"{report.workflow_id}/{report.run_id}/{decision.seq}",
                idempotency_key=None,
                details={
                    "workflow_id": report.workflow_id,
                    "run_id": report.run_id,
                    "request_id": decision.request_id,
                    "signal_id": decision.signal_id,
                    "authenticated": False,
                },
            ),
        )
        return False
