"""The store lookups and records hook runs ask for (`StatusSink.call`)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from backend.domain.audit import AuditOutcome
from backend.domains.tac.lookup import WORKER_LOOKUP, WorkerLookupRequest
from backend.domains.tac.messages import HookWarning
from backend.domains.tac.model import TAC_KIND
from backend.services.domain_calls import CallContext, DomainCall
from backend.store.audit import NewAuditEntry
from backend.store.worker_registrations import lookup_worker

WARN = "tac.warn"


async def _lookup(context: CallContext, body: dict[str, Any]) -> BaseModel:
    return await lookup_worker(context.database, WorkerLookupRequest.model_validate(body))


class _Recorded(BaseModel):
    audit_id: int


async def _warn(context: CallContext, body: dict[str, Any]) -> BaseModel:
    warning = HookWarning.model_validate(body)
    entry = await context.audit.append(
        NewAuditEntry(
            actor=warning.actor,
            action="tac.worker.unregistered",
            target_kind=TAC_KIND,
            target_id=warning.hook_run_id,
            outcome=AuditOutcome.NO_OP,
            message=warning.message,
            decision_key=f"tac-warn/{warning.hook_run_id}/{warning.task_queue}",
            details={"task_queue": warning.task_queue, **warning.details},
        )
    )
    return _Recorded(audit_id=entry.id)


CALLS: dict[str, DomainCall] = {WORKER_LOOKUP: _lookup, WARN: _warn}
