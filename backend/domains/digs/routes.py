"""EMCO's DIG API paths (`/v2/projects/{project}/composite-apps/{app}/{version}/
deployment-intent-groups[/{dig}]`), over the platform's DIG service and action path.

Create, get, list and delete, and the lifecycle operations `/approve`, `/instantiate`,
`/terminate` as POSTs (each the platform's action: audited, four-eyes on approve, 409 with the
DIG's state when it does not take the operation), and `/status` in EMCO's shape.

No `from __future__ import annotations`: FastAPI reads the route functions' annotations.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Query, Request, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from backend.api.auth import require_token
from backend.api.context import ApiContext
from backend.api.entities import ERRORS, perform_action
from backend.api.identity import acting_as, requires
from backend.domain.audit import ActionResult
from backend.domain.identity import Principal, Role, role_for_action
from backend.domain.names import Actor, PlainText
from backend.domains.digs.model import (
    DIG_KIND,
    Apps,
    CreateDig,
    Dig,
    DigDecision,
    DigOperation,
    TacIntents,
)
from backend.domains.digs.spec import SPEC
from backend.services.entities import EntityService
from backend.services.errors import NotFound, Unprocessable

PREFIX = "/v2/projects/{project}/composite-apps/{composite_app}/{version}/deployment-intent-groups"
ProjectName = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")]
DigName = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")]


class DigMetadata(BaseModel):
    """EMCO's `metadata` block."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")]
    description: Annotated[str, Field(max_length=500), PlainText] = ""


class DigV2Spec(BaseModel):
    """The DIG's apps and TAC intents."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    apps: Apps
    tac_intents: TacIntents = Field(default_factory=list, alias="tacIntents")


class DigV2Create(BaseModel):
    """Body of the v2 create (EMCO's shape: metadata and spec)."""

    model_config = ConfigDict(extra="forbid")

    metadata: DigMetadata
    spec: DigV2Spec


class OperationBody(BaseModel):
    """Optional body of a v2 lifecycle operation (EMCO's take none)."""

    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str, Field(min_length=1, max_length=500), PlainText] = "through the v2 API"
    actor: Actor | None = None


class DigV2List(BaseModel):
    """Response of the v2 list."""

    items: list[Dig]
    total: int


def one_error(err: ValidationError) -> str:
    """The first validation error as one line."""
    first = err.errors()[0]
    where = ".".join(str(p) for p in first["loc"])
    return f"{where}: {first['msg']}" if where else str(first["msg"])


def _service(request: Request) -> EntityService:
    context: ApiContext = request.app.state.context
    return context.entities[DIG_KIND]


Service = Annotated[EntityService, Depends(_service)]


async def _dig_in(
    entities: EntityService, project: str, composite_app: str, version: str, name: str
) -> Any:
    record = await entities.named(name)
    fields = record.fields
    if (fields.get("project"), fields.get("composite_app"), fields.get("version")) != (
        project,
        composite_app,
        version,
    ):
        raise NotFound(f"no DIG {name!r} in {project}/{composite_app}/{version}")
    return record


def routers() -> list[APIRouter]:
    """The v2 DIG routes."""
    router = APIRouter(
        prefix=PREFIX, tags=["digs (EMCO v2)"], dependencies=[Depends(require_token)]
    )

    @router.post("", status_code=status.HTTP_201_CREATED, response_model=Dig, responses=ERRORS)
    async def create_dig(
        project: ProjectName,
        composite_app: ProjectName,
        version: ProjectName,
        body: DigV2Create,
        entities: Service,
        principal: Annotated[Principal, Depends(requires(Role.OPERATOR))],
    ) -> Any:
        """Create a DIG (it then waits for approval)."""
        try:
            request = CreateDig(
                name=body.metadata.name,
                project=project,
                composite_app=composite_app,
                version=version,
                description=body.metadata.description,
                apps=body.spec.apps,
                tac_intents=body.spec.tac_intents,
            )
        except ValidationError as err:
            raise Unprocessable(one_error(err)) from None
        return await entities.create(acting_as(principal, request), via=principal.via)

    @router.get("", response_model=DigV2List, responses=ERRORS)
    async def list_digs(
        project: ProjectName,
        composite_app: ProjectName,
        version: ProjectName,
        entities: Service,
        _: Annotated[Principal, Depends(requires(Role.VIEWER))],
        limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    ) -> Any:
        """The DIGs of this composite app version (not deleted), newest first."""
        page = await entities.list(limit=1000)
        items = [
            d
            for d in page.items  # type: ignore[attr-defined]
            if (d.project, d.composite_app, d.version) == (project, composite_app, version)
            and d.status != "deleted"
        ]
        return DigV2List(items=items[:limit], total=len(items))

    @router.get("/{dig}", response_model=Dig, responses=ERRORS)
    async def get_dig(
        project: ProjectName,
        composite_app: ProjectName,
        version: ProjectName,
        dig: DigName,
        entities: Service,
        _: Annotated[Principal, Depends(requires(Role.VIEWER))],
    ) -> Any:
        """One DIG with its live progress."""
        record = await _dig_in(entities, project, composite_app, version, dig)
        return await entities.get(record.id)

    @router.get("/{dig}/status", responses=ERRORS)
    async def dig_status(
        project: ProjectName,
        composite_app: ProjectName,
        version: ProjectName,
        dig: DigName,
        entities: Service,
        _: Annotated[Principal, Depends(requires(Role.VIEWER))],
        type: Annotated[str, Query(pattern="^(rsync|cluster)$")] = "rsync",
        output: Annotated[str, Query(pattern="^(summary|all|detail)$")] = "summary",
    ) -> dict[str, Any]:
        """EMCO's status shape: state.Actions (the lifecycle history), status, readiness,
        resource counts and per-app resources."""
        record = await _dig_in(entities, project, composite_app, version, dig)
        found = entities.entity(record, None)
        assert isinstance(found, Dig)
        counts: dict[str, int] = {}
        for app in found.app_states:
            counts[app.state.value] = counts.get(app.state.value, 0) + 1
        answer: dict[str, Any] = {
            "project": project,
            "composite-app-name": composite_app,
            "composite-app-version": version,
            "name": found.name,
            "state": {
                "Actions": [
                    {"State": e.state.capitalize(), "TimeStamp": e.at, "By": e.by}
                    for e in found.history
                ]
            },
            "status": found.deployed or found.status.capitalize(),
            "ready": found.ready,
            "resourceCount": counts,
        }
        if output != "summary":
            answer["apps"] = [
                {
                    "name": a.app,
                    "kind": a.kind.value,
                    "resources": [{"state": a.state.value, "ready": a.ready, "detail": a.detail}],
                }
                for a in found.app_states
            ]
        return answer

    def operation(name: str) -> None:
        action = SPEC.action(name)
        assert action is not None
        model = DigDecision if action.request is DigDecision else DigOperation

        async def operate(
            project: ProjectName,
            composite_app: ProjectName,
            version: ProjectName,
            dig: DigName,
            request: Request,
            entities: Service,
            principal: Annotated[Principal, Depends(requires(role_for_action(action)))],
            body: Annotated[OperationBody | None, Body()] = None,
        ) -> JSONResponse:
            record = await _dig_in(entities, project, composite_app, version, dig)
            given = body or OperationBody()
            values: dict[str, Any] = {"reason": given.reason, "actor": given.actor or "api"}
            return await perform_action(
                request, entities, action, record.id, model(**values), principal
            )

        router.add_api_route(
            "/{dig}" if name == "delete" else f"/{{dig}}/{name}",
            operate,
            methods=["DELETE" if name == "delete" else "POST"],
            response_model=ActionResult,
            responses=ERRORS,
            summary=f"{action.label} a DIG (EMCO)",
            description=f"{action.description}. 409 with the DIG's state when it does not take"
            " it now.",
            name=f"dig_{name}",
        )

    for name in ("approve", "instantiate", "terminate", "delete"):
        operation(name)
    return [router]
