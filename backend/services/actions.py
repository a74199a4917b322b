"""The one path every human action takes, for every domain.

1. The request's idempotency key is reserved before anything is sent. A retry with the same key
   gets the first answer exactly (same status, same body); the same key with another body,
   target or actor is a 422; a retry racing the first waits for its answer.
2. The workflow is asked (a fresh `progress` query) whether it takes this action now; if not,
   the caller gets a 409 with why, and nothing is sent.
3. The signal is sent (by the spec's name, carrying the key as `signal_id`), or for a starting
   action the workflow is started.
4. The workflow's own verdict comes back: pushed by its status report (which notes it on the
   reserved request), or read from its recorded decisions. Accepted is a 200, refused a 409 with
   the workflow's reason; unconfirmed within a few seconds is a 200 `sent` (the verdict is
   audited when it arrives).
5. The audit row and the stored answer are written in one transaction, with the real outcome.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import logging
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from pydantic import BaseModel
from temporalio.client import Client
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from backend.domain.audit import ActionResult, AuditOutcome
from backend.domain.entity import ActionSpec, EntitySpec, fill
from backend.domain.form import field_with_role, value_with_role
from backend.domain.progress import Progress
from backend.services.entities import ANONYMOUS, EntityService
from backend.services.errors import Unavailable, Unprocessable
from backend.services.progress import ProgressReader, ProgressUnavailable
from backend.services.verdicts import Bell
from backend.store.action_requests import ActionRequest, ActionRequests, NewActionRequest
from backend.store.audit import AuditRepository, NewAuditEntry
from backend.store.database import Database
from backend.store.entities import EntityRecord, EntityRepository

log = logging.getLogger(__name__)

CONFIRM_SECONDS = 5.0
"""How long an action waits for the workflow's verdict on its signal."""
ANSWER_WAIT_SECONDS = 30.0
"""How long a retry waits for the first request with its key to be answered."""
STALE_RESERVATION = timedelta(seconds=60)
"""A reservation pending this long belongs to a process that died; a retry takes it over."""


@dataclass(frozen=True)
class ActionAnswer:
    """What the API sends back: a status code and a JSON body (stored for retries)."""

    status_code: int
    body: dict[str, Any]


@dataclass(frozen=True)
class _Outcome:
    outcome: AuditOutcome
    message: str
    details: dict[str, Any]
    if_accepted: str = ""
    """For a signal sent but not yet confirmed: the message once the workflow takes it."""


class ActionService:
    """Human actions on any domain's entities, by the one path above."""

    def __init__(
        self,
        *,
        client: Client,
        database: Database,
        entities: EntityRepository,
        requests: ActionRequests,
        progress: ProgressReader,
        verdicts: Bell,
    ) -> None:
        self._client = client
        self._db = database
        self._entities = entities
        self._requests = requests
        self._progress = progress
        self._verdicts = verdicts
        self._answered = Bell()

    async def act(
        self,
        entities: EntityService,
        action: ActionSpec,
        entity_id: str,
        body: BaseModel,
        *,
        via: str | None = None,
    ) -> ActionAnswer:
        """Take `action` on the entity, idempotently; the answer to send back. `via` says how
        the actor was authenticated (`token`, `oidc`; `shared`: named by the request itself)."""
        spec = entities.spec
        record = await entities.record(entity_id)
        request = _describe(spec, action, entity_id, body)
        reserved, held = await self._requests.reserve(request, stale_after=STALE_RESERVATION)
        if not held:
            if reserved.fingerprint != request.fingerprint:
                raise Unprocessable(
                    f"idempotency key {request.key!r} was used for a different request"
                    f" ({reserved.action} on {reserved.kind} {reserved.target_id} by"
                    f" {reserved.actor}); use a new key"
                )
            return await self._answer_of(reserved)
        sent: list[_Outcome] = []
        try:
            outcome = await self._perform(entities, action, record, body, request, sent)
            outcome = _with_identity(outcome, via)
        except BaseException:
            if not sent:
                # Nothing reached Temporal: a retry with the same key may try afresh.
                await asyncio.shield(self._requests.release(request.key))
                raise
            # The signal (or start) went out: the key keeps that answer, whatever broke after.
            first = _with_identity(sent[0], via)
            await asyncio.shield(self._record(spec, action, record, body, request, first))
            self._answered.ring(request.key)
            raise
        answer = await self._record(spec, action, record, body, request, outcome)
        self._answered.ring(request.key)
        return answer

    # -- answers -----------------------------------------------------------------------------

    async def _answer_of(self, reserved: ActionRequest) -> ActionAnswer:
        """The stored answer of a request, waiting (bounded) while it is still pending."""
        deadline = time.monotonic() + ANSWER_WAIT_SECONDS
        current: ActionRequest | None = reserved
        while current is not None and not current.done:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise Unavailable(
                    f"a request with idempotency key {reserved.key!r} is still in progress;"
                    " retry later with the same key"
                )
            await self._answered.wait(reserved.key, min(0.1, remaining))
            current = await self._requests.get(reserved.key)
        if current is None:
            raise Unavailable(
                f"the request with idempotency key {reserved.key!r} was given up"
                " (nothing was sent); retry with the same key"
            )
        assert current.status_code is not None and current.response is not None
        return ActionAnswer(current.status_code, current.response)

    async def _record(
        self,
        spec: EntitySpec,
        action: ActionSpec,
        record: EntityRecord,
        body: BaseModel,
        request: NewActionRequest,
        outcome: _Outcome,
    ) -> ActionAnswer:
        """Audit the real outcome and store the answer, in one transaction."""
        async with self._db.transaction() as conn:
            if outcome.outcome == AuditOutcome.SENT:
                reserved = await ActionRequests.get_in(conn, request.key)
                if reserved is not None and reserved.verdict is not None:
                    outcome = _from_verdict(spec, record, outcome, reserved.verdict)
            audit_id = await AuditRepository.insert(
                conn,
                NewAuditEntry(
                    actor=request.actor,
                    action=action.verb(body),
                    target_kind=spec.kind,
                    target_id=record.id,
                    outcome=outcome.outcome,
                    reason=_reason(body),
                    message=outcome.message,
                    idempotency_key=request.key,
                    details={"name": record.name, **outcome.details},
                ),
            )
            if outcome.outcome == AuditOutcome.REFUSED:
                answer = ActionAnswer(409, {"detail": outcome.message, "audit_id": audit_id})
            else:
                result = ActionResult(
                    outcome=outcome.outcome, message=outcome.message, audit_id=audit_id
                )
                answer = ActionAnswer(200, result.model_dump(mode="json"))
            await ActionRequests.answer(conn, request.key, answer.status_code, answer.body)
        return answer

    # -- doing it ----------------------------------------------------------------------------

    async def _perform(
        self,
        entities: EntityService,
        action: ActionSpec,
        record: EntityRecord,
        body: BaseModel,
        request: NewActionRequest,
        sent: list[_Outcome],
    ) -> _Outcome:
        """Check, send and confirm; `sent` gets the outcome to record as soon as anything
        reached Temporal (so an interruption after that never frees the key)."""
        spec = entities.spec
        if action.start is not None:
            return await self._start(entities, action, record, body, request)
        if record.ended:
            return _refused(f"{spec.kind} {record.name} has already ended ({record.status})")
        try:
            progress = await self._progress.read(record.workflow_id, fresh=True, strict=True)
        except ProgressUnavailable as err:
            if not action.send_unconfirmed:
                raise Unavailable(
                    f"{err}. Is a worker running on task queue {entities.task_queue}?"
                ) from None
            progress = None  # no worker answers now; the signal is durable and waits for one
        request_id = None
        if progress is not None:
            refusal = _refusal(spec, action, record, body, progress)
            if refusal is not None:
                return refusal
            if action.answers and progress.awaiting is not None:
                request_id = progress.awaiting.request_id
        payload_model = action.payload
        assert payload_model is not None and action.signal is not None
        payload = payload_model.model_validate(
            {
                **body.model_dump(mode="json"),
                "signal_id": request.key,
                "request_id": request_id,
            }
        )
        try:
            await self._client.get_workflow_handle(record.workflow_id).signal(
                action.signal, payload
            )
        except RPCError as err:
            if err.status != RPCStatusCode.NOT_FOUND:
                raise Unavailable(
                    f"Temporal did not take the {action.signal} signal: {err}"
                ) from None
            return await self._workflow_missing(spec, action, record, body, request)
        finally:
            self._progress.forget(record.workflow_id)
        accepted = _accepted_message(spec, action, record, body, request_id)
        unconfirmed = _Outcome(
            AuditOutcome.SENT,
            f"{accepted} (signal sent; the workflow has not confirmed it yet)",
            {"request_id": request_id} if request_id else {},
            if_accepted=accepted,
        )
        sent.append(unconfirmed)
        verdict = await self._verdict(request.key, record.workflow_id)
        return unconfirmed if verdict is None else _from_verdict(spec, record, unconfirmed, verdict)

    async def _verdict(self, key: str, workflow_id: str) -> dict[str, Any] | None:
        """The workflow's verdict on the signal carrying `key`: pushed by its status report, or
        read from its recorded decisions; None if it does not come in time."""
        deadline = time.monotonic() + CONFIRM_SECONDS
        pause = 0.1
        while True:
            reserved = await self._requests.get(key)
            if reserved is not None and reserved.verdict is not None:
                return reserved.verdict
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            if await self._verdicts.wait(key, min(pause, remaining)):
                continue
            try:
                progress = await self._progress.read(workflow_id, fresh=True, strict=True)
            except ProgressUnavailable:
                progress = None
            decision = next(
                (d for d in (progress.decisions if progress else []) if d.signal_id == key), None
            )
            if decision is not None:
                return {"accepted": decision.accepted, "note": decision.note}
            pause = min(pause * 2, 1.0)

    async def _workflow_missing(
        self,
        spec: EntitySpec,
        action: ActionSpec,
        record: EntityRecord,
        body: BaseModel,
        request: NewActionRequest,
    ) -> _Outcome:
        """The entity's workflow no longer exists (never started, or its history is gone)."""
        from_here = not action.when_missing_from or record.status in action.when_missing_from
        if action.when_missing is None or not from_here:
            return _refused(f"{spec.kind} {record.name} has no running workflow")
        # Nothing runs: record the status the action leads to.
        await self._entities.set_status(
            spec.kind,
            record.id,
            action.when_missing,
            reason=f"{action.name} by {request.actor}: {_reason(body)} (no workflow was running)",
            ended=spec.is_final(action.when_missing),
        )
        return _Outcome(
            AuditOutcome.ACCEPTED,
            f"{spec.kind} {record.name}: {action.name} done; it had no running workflow",
            {},
        )

    async def _start(
        self,
        entities: EntityService,
        action: ActionSpec,
        record: EntityRecord,
        body: BaseModel,
        request: NewActionRequest,
    ) -> _Outcome:
        """A starting action: a new workflow for the entity (one at a time)."""
        spec = entities.spec
        start = action.start
        assert start is not None
        if action.allowed_statuses and record.status not in action.allowed_statuses:
            allowed = ", ".join(sorted(action.allowed_statuses))
            return _refused(
                f"{spec.kind} {record.name} is {record.status}; {action.name} needs {allowed}"
            )
        params = start.build_input(
            record.id,
            {
                **record.fields,
                "name": record.name,
                **body.model_dump(mode="json"),
                "requested_by": request.actor,
            },
        )
        try:
            run_id = await entities.start_workflow(record.id, start.workflow_type, params)
        except WorkflowAlreadyStartedError:
            return _refused(
                f"{spec.kind} {record.name} already has a running workflow; wait for it or"
                " cancel it first"
            )
        except RPCError as err:
            raise Unavailable(f"Temporal did not start {start.workflow_type}: {err}") from None
        message = _accepted_message(spec, action, record, body, None)
        return _Outcome(AuditOutcome.ACCEPTED, message, {"run_id": run_id})


def _describe(
    spec: EntitySpec, action: ActionSpec, entity_id: str, body: BaseModel
) -> NewActionRequest:
    """The request as reserved: its key (given, or a fresh one), who asks, and a fingerprint of
    everything it asks for."""
    key_field = field_with_role(type(body), "idempotency_key")
    key = str(value_with_role(body, "idempotency_key") or uuid.uuid4().hex)
    actor = str(value_with_role(body, "actor") or ANONYMOUS)
    content = body.model_dump(mode="json", exclude={key_field} if key_field else None)
    fingerprint = hashlib.sha256(
        json.dumps(
            {"kind": spec.kind, "id": entity_id, "action": action.name, "body": content},
            sort_keys=True,
        ).encode()
    ).hexdigest()
    return NewActionRequest(
        key=key,
        fingerprint=fingerprint,
        kind=spec.kind,
        target_id=entity_id,
        action=action.name,
        actor=actor,
    )


def _refusal(
    spec: EntitySpec,
    action: ActionSpec,
    record: EntityRecord,
    body: BaseModel,
    progress: Progress,
) -> _Outcome | None:
    """Why the workflow would not take the action now (checked before sending), or None."""
    name, phase = record.name, progress.phase
    round_id = value_with_role(body, "round")
    if action.answers and round_id:
        answered = next(
            (
                d
                for d in reversed(progress.decisions)
                if d.kind == action.name and d.accepted and d.request_id == round_id
            ),
            None,
        )
        if answered is not None:
            return _Outcome(
                AuditOutcome.NO_OP,
                f"{action.answers} {round_id} of {spec.kind} {name} was already answered"
                f" ({answered.decision} by {answered.actor}); nothing to do",
                {"request_id": round_id},
            )
    if action.name not in progress.accepts:
        if spec.is_final(phase):
            return _refused(f"{spec.kind} {name} has already ended ({phase})")
        if progress.closing:
            return _refused(f"{spec.kind} {name}: {progress.closing}")
        if action.answers:
            return _refused(
                f"{spec.kind} {name} is not waiting for {action.answers} (phase: {phase})"
            )
        return _refused(f"{spec.kind} {name} is {phase}: {action.name} is not possible now")
    awaiting = progress.awaiting
    if action.answers and round_id and awaiting is not None and round_id != awaiting.request_id:
        return _refused(f"{spec.kind} {name} awaits {awaiting.request_id}, not {round_id}")
    return None


def _from_verdict(
    spec: EntitySpec, record: EntityRecord, sent: _Outcome, verdict: dict[str, Any]
) -> _Outcome:
    """The outcome of a sent signal once the workflow has said how it took it."""
    if verdict.get("accepted"):
        return _Outcome(AuditOutcome.ACCEPTED, sent.if_accepted, sent.details)
    note = verdict.get("note") or "refused"
    return _Outcome(AuditOutcome.REFUSED, f"{spec.kind} {record.name}: {note}", sent.details)


def _accepted_message(
    spec: EntitySpec,
    action: ActionSpec,
    record: EntityRecord,
    body: BaseModel,
    request_id: str | None,
) -> str:
    """What the caller is told when the workflow takes the action (the spec's words)."""
    values = {
        **body.model_dump(mode="json"),
        "kind": spec.kind,
        "name": record.name,
        "action": action.name,
        "request_id": request_id,
    }
    return fill(action.accepted_message, values)


def _refused(message: str) -> _Outcome:
    return _Outcome(AuditOutcome.REFUSED, message, {})


def _reason(body: BaseModel) -> str:
    """The free text a person gave with the action (a reason or a comment)."""
    for name in ("reason", "comment"):
        value = getattr(body, name, None)
        if isinstance(value, str) and value:
            return value
    return ""


def _with_identity(outcome: _Outcome, via: str | None) -> _Outcome:
    """The outcome with how its actor was known in its audit details."""
    if via is None:
        return outcome
    details = {**outcome.details, "via": via, "authenticated": via != "shared"}
    return dataclasses.replace(outcome, details=details)
