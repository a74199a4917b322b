"""Entity use cases for any domain: create (record + start its workflow), list, read.

Lists come from the store, which the workflows keep current through their status reports, so a
page costs one SQLite query whatever the fleet; exact progress is queried only for the rows the
caller names as `live` (what is on screen) and for a single entity's detail.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel
from temporalio.client import Client
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from backend.domain.audit import AuditOutcome
from backend.domain.catalog import spec_for_kind
from backend.domain.entities import Entity, NeedItem, NeedsList
from backend.domain.entity import EntitySpec
from backend.domain.form import value_with_role
from backend.domain.progress import Progress
from backend.services.errors import Conflict, NotFound, Unavailable
from backend.services.progress import ProgressReader
from backend.store.audit import AuditRepository, NewAuditEntry
from backend.store.entities import DuplicateName, EntityRecord, EntityRepository
from backend.workflows import search_attributes as sa

log = logging.getLogger(__name__)

MAX_LIVE = 50
"""Most rows a list call queries exactly (what fits on a screen, and then some)."""
ANONYMOUS = "api"
"""The actor recorded when a request names none."""


class EntityService:
    """What the API does with the entities of one domain."""

    def __init__(
        self,
        spec: EntitySpec,
        *,
        client: Client,
        entities: EntityRepository,
        audit: AuditRepository,
        progress: ProgressReader,
        task_queue: str,
    ) -> None:
        self.spec = spec
        self.task_queue = task_queue
        self._client = client
        self._entities = entities
        self._audit = audit
        self._progress = progress

    # -- reads -----------------------------------------------------------------------------

    async def list(
        self,
        *,
        status: str | None = None,
        live: Sequence[str] = (),
        limit: int = 200,
        offset: int = 0,
    ) -> BaseModel:
        """A page of entities, newest first; `live` ids also get their exact progress."""
        records, total = await self._entities.page(
            self.spec.kind, status=status, limit=limit, offset=offset
        )
        wanted = set(live[:MAX_LIVE])
        exact = await self._progress.read_many(
            r.workflow_id for r in records if r.id in wanted and not r.ended
        )
        items = [self.entity(r, exact.get(r.workflow_id)) for r in records]
        return self.spec.list_model(items=items, total=total)

    async def get(self, entity_id: str) -> Entity:
        """One entity with its exact progress; NotFound for unknown ids."""
        record = await self.record(entity_id)
        return self.entity(record, await self._progress.read(record.workflow_id))

    async def record(self, entity_id: str) -> EntityRecord:
        """The stored entity; NotFound for unknown ids."""
        record = await self._entities.get(self.spec.kind, entity_id)
        if record is None:
            raise NotFound(f"no {self.spec.kind} with id {entity_id!r}")
        return record

    async def named(self, name: str) -> EntityRecord:
        """The active entity called `name`; NotFound when there is none."""
        record = await self._entities.active_named(self.spec.kind, name)
        if record is None:
            raise NotFound(f"no {self.spec.noun} named {name!r}")
        return record

    def entity(self, record: EntityRecord, progress: Progress | None) -> Entity:
        """The API's view of a stored entity (plus its exact progress, if read)."""
        return self.spec.record.model_validate(
            {
                **record.fields,
                "id": record.id,
                "kind": record.kind,
                "name": record.name,
                "requested_by": record.requested_by,
                "status": record.status,
                "status_reason": record.status_reason,
                "workflow_id": record.workflow_id,
                "run_id": record.run_id,
                "created_at": record.created_at,
                "updated_at": record.updated_at,
                "percent": record.percent,
                "awaiting": record.awaiting,
                "accepts": record.accepts,
                "last_error": record.last_error,
                "progress": progress,
            }
        )

    # -- create ----------------------------------------------------------------------------

    async def create(self, request: BaseModel, *, via: str | None = None) -> Entity:
        """Record the entity and start its workflow (`{kind}-{id}`); Conflict for a name in use."""
        spec = self.spec
        entity_id = secrets.token_hex(4)
        actor = str(value_with_role(request, "actor") or ANONYMOUS)
        body = request.model_dump(mode="json")
        name = str(body["name"])
        fields = {k: body[k] for k in spec.record.domain_field_names() if k in body}
        try:
            await self._entities.create(
                kind=spec.kind,
                entity_id=entity_id,
                name=name,
                requested_by=actor,
                status=spec.initial_status,
                workflow_id=spec.workflow_id(entity_id),
                fields=fields,
            )
        except DuplicateName:
            raise Conflict(f"an active {spec.kind} is already named {name!r}") from None
        params = spec.workflow.build_input(entity_id, {**body, "requested_by": actor})
        try:
            run_id = await self.start_workflow(entity_id, spec.workflow.workflow_type, params)
        except (RPCError, WorkflowAlreadyStartedError) as err:
            reason = f"could not start workflow: {err}"
            await self._entities.set_status(
                spec.kind, entity_id, spec.start_failed_status, reason=reason, ended=True
            )
            await self._audit_create(actor, entity_id, AuditOutcome.FAILED, reason, {"name": name})
            raise Unavailable(f"Temporal did not start the {spec.kind} workflow: {err}") from None
        await self._entities.set_run_id(spec.kind, entity_id, run_id)
        message = spec.created_message.format(kind=spec.kind, **body)
        known = {} if via is None else {"via": via, "authenticated": via != "shared"}
        await self._audit_create(
            actor, entity_id, AuditOutcome.ACCEPTED, message, {**body, **known}
        )
        return self.entity(await self.record(entity_id), None)

    async def _audit_create(
        self,
        actor: str,
        entity_id: str,
        outcome: AuditOutcome,
        message: str,
        details: dict[str, Any],
    ) -> None:
        await self._audit.append(
            NewAuditEntry(
                actor=actor,
                action="create",
                target_kind=self.spec.kind,
                target_id=entity_id,
                outcome=outcome,
                message=message,
                details=details,
            )
        )

    async def start_workflow(self, entity_id: str, workflow_type: str, params: Any) -> str:
        """Start one of the entity's workflows (one at a time per entity); its run id."""
        handle = await self._client.start_workflow(
            workflow_type,
            params,
            id=self.spec.workflow_id(entity_id),
            task_queue=self.task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
            id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
            search_attributes=TypedSearchAttributes(
                [
                    SearchAttributePair(sa.KIND, self.spec.kind),
                    SearchAttributePair(sa.ENTITY, entity_id),
                ]
            ),
        )
        self._progress.forget(handle.id)
        return handle.result_run_id or handle.run_id or ""


class NeedsService:
    """Everything waiting for a person, across every domain."""

    def __init__(self, entities: EntityRepository) -> None:
        self._entities = entities

    async def list(self, *, limit: int = 200) -> NeedsList:
        """Entities awaiting a human answer, longest waiting first."""
        records, total = await self._entities.awaiting(limit=limit)
        items = []
        for record in records:
            spec = spec_for_kind(record.kind)
            if spec is None or record.awaiting is None:
                continue
            answering = [a.name for a in spec.actions_answering(record.awaiting.kind)]
            others = [name for name in record.accepts if name not in answering]
            items.append(
                NeedItem(
                    kind=record.kind,
                    plural=spec.plural,
                    id=record.id,
                    name=record.name,
                    status=record.status,
                    awaiting=record.awaiting,
                    requested_by=record.requested_by,
                    actions=[a for a in answering if a in record.accepts] + others,
                )
            )
        return NeedsList(items=items, total=total)
