"""Routes for any domain, made from its declaration: create, list, get, and one per action.

`entity_router(spec)` gives `/api/v1/{plural}` (POST create, GET list), `/{id}` (GET) and
`/{id}/{action}` (POST) with the domain's own request and response models, so the OpenAPI
schema is as precise as hand-written routes. Labs keep the paths they always had.

No `from __future__ import annotations` here: FastAPI reads the route functions' annotations,
which name per-domain types that exist only inside `entity_router`.
"""

from collections.abc import Callable
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from backend.api.auth import require_token
from backend.api.context import ApiContext
from backend.api.errors import error_responses
from backend.api.identity import acting_as, requires
from backend.domain.audit import ActionResult, AuditOutcome
from backend.domain.entity import ActionSpec, EntitySpec
from backend.domain.identity import Principal, Role, four_eyes_applies, role_for_action
from backend.services.entities import MAX_LIVE, EntityService
from backend.services.errors import Forbidden
from backend.store.audit import NewAuditEntry

EntityId = Annotated[str, Path(pattern=r"^[a-z0-9-]{1,64}$", description="Entity id")]
ERRORS = error_responses(400, 401, 403, 404, 409, 413, 422, 503)


def entity_router(spec: EntitySpec) -> APIRouter:
    """Every route of one domain."""
    router = APIRouter(
        prefix=f"/api/v1/{spec.plural}", tags=[spec.plural], dependencies=[Depends(require_token)]
    )

    def service(request: Request) -> EntityService:
        context: ApiContext = request.app.state.context
        return context.entities[spec.kind]

    Service = Annotated[EntityService, Depends(service)]
    statuses = StrEnum(f"{spec.record.__name__}Status", [(s.value, s.value) for s in spec.statuses])  # type: ignore[misc]

    async def create(
        body: BaseModel,
        entities: Service,
        principal: Annotated[Principal, Depends(requires(Role.OPERATOR))],
    ) -> Any:
        return await entities.create(acting_as(principal, body), via=principal.via)

    _annotate(create, body=spec.create)
    router.add_api_route(
        "",
        create,
        methods=["POST"],
        status_code=status.HTTP_201_CREATED,
        response_model=spec.record,
        responses=ERRORS,
        summary=f"Create a {spec.kind}",
        description=f"Records the {spec.kind} and starts {spec.workflow.workflow_type}"
        f" `{spec.kind}-{{id}}`.",
    )

    async def list_entities(
        entities: Service,
        _: Annotated[Principal, Depends(requires(Role.VIEWER))],
        entity_status: Annotated[StrEnum | None, Query(alias="status")] = None,
        live: Annotated[
            str, Query(max_length=MAX_LIVE * 65, description="Comma-separated ids to query exactly")
        ] = "",
        limit: Annotated[int, Query(ge=1, le=1000)] = 200,
        offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
    ) -> Any:
        ids = [part.strip() for part in live.split(",") if part.strip()]
        value = entity_status.value if entity_status is not None else None
        return await entities.list(status=value, live=ids, limit=limit, offset=offset)

    _annotate(
        list_entities,
        entity_status=Annotated[statuses | None, Query(alias="status")],
    )
    router.add_api_route(
        "",
        list_entities,
        methods=["GET"],
        response_model=spec.list_model,
        responses=ERRORS,
        summary=f"List {spec.plural}",
        description=f"{spec.title}, newest first; `live` ids also carry exact progress.",
    )

    async def get(
        entity_id: EntityId,
        entities: Service,
        _: Annotated[Principal, Depends(requires(Role.VIEWER))],
    ) -> Any:
        return await entities.get(entity_id)

    router.add_api_route(
        "/{entity_id}",
        get,
        methods=["GET"],
        response_model=spec.record,
        responses=ERRORS,
        summary=f"Get a {spec.kind}",
        description=f"One {spec.kind} with its exact live progress.",
    )
    for action in spec.actions:
        _add_action_route(router, spec, action, service)
    return router


def _add_action_route(
    router: APIRouter,
    spec: EntitySpec,
    action: ActionSpec,
    service: Callable[[Request], EntityService],
) -> None:
    async def act(
        entity_id: EntityId,
        body: BaseModel,
        request: Request,
        entities: Annotated[EntityService, Depends(service)],
        principal: Annotated[Principal, Depends(requires(role_for_action(action)))],
    ) -> JSONResponse:
        return await perform_action(request, entities, action, entity_id, body, principal)

    _annotate(act, body=action.request)
    how = f"{action.signal} signal" if action.signal else f"starts {action.start.workflow_type}"  # type: ignore[union-attr]
    router.add_api_route(
        f"/{{entity_id}}/{action.name}",
        act,
        methods=["POST"],
        response_model=ActionResult,
        responses=ERRORS,
        summary=f"{action.label} a {spec.kind}",
        description=f"{action.description or action.label} ({how}). 409 with the reason when"
        " the workflow does not take it now; a retry with the same idempotency key gets the"
        " first answer.",
    )


async def perform_action(
    request: Request,
    entities: EntityService,
    action: ActionSpec,
    entity_id: str,
    body: BaseModel,
    principal: Principal,
) -> JSONResponse:
    """Take `action` on an entity for `principal` through the one action path (four-eyes
    first): the workflow's verdict as the response (409 with the reason when refused)."""
    context: ApiContext = request.app.state.context
    body = acting_as(principal, body)
    if context.four_eyes and principal.personal and four_eyes_applies(action):
        await _four_eyes(context, entities, action, entity_id, principal, body)
    answer = await context.actions.act(entities, action, entity_id, body, via=principal.via)
    return JSONResponse(answer.body, status_code=answer.status_code)


async def _four_eyes(
    context: ApiContext,
    entities: EntityService,
    action: ActionSpec,
    entity_id: str,
    principal: Principal,
    body: BaseModel,
) -> None:
    """Refuse (403, audited) an approval by whoever requested the entity."""
    record = await entities.record(entity_id)
    if record.requested_by != principal.name:
        return
    kind = entities.spec.noun
    reason = (
        f"four-eyes: {principal.name} requested {kind} {record.name}, so someone else must"
        f" {action.label.lower()} it"
    )
    await context.audit.append(
        NewAuditEntry(
            actor=principal.name,
            action=action.verb(body),
            target_kind=entities.spec.kind,
            target_id=entity_id,
            outcome=AuditOutcome.REFUSED,
            message=reason,
        )
    )
    raise Forbidden(reason)


def _annotate(function: Callable[..., Any], **types: Any) -> None:
    """Give a route's parameters their domain's types (FastAPI reads them for validation
    and the OpenAPI schema)."""
    function.__annotations__.update(types)
