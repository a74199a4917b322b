"""Hosts and placement over HTTP: create, read, update and delete each noun; the per-host feed
(`GET /api/v1/hosts/{host}/changes?since=T`), the change log as a resumable stream
(`GET /api/v1/changes?after=SEQ`), each host's messages from the change processor, and the
host agent's `deployed` report."""

import re
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Header, Path, Query, Request

from backend.api.auth import require_token
from backend.api.context import ApiContext
from backend.api.errors import error_responses
from backend.api.identity import requires
from backend.domain.identity import Principal, Role
from backend.domains.placement.model import (
    NAME_PATTERN,
    NOUNS,
    PATCHES,
    PLURALS,
    RECORDS,
    ChangePage,
    DeployedAnswer,
    DeployedReport,
    DeploymentBody,
    DeploymentView,
    HostBody,
    HostEventPage,
    HostFeed,
    HostRows,
    HostView,
    Noun,
    Page,
    TargetBody,
    TemplateBody,
    WorkloadBody,
)
from backend.domains.placement.processor import nudge_processor
from backend.services.errors import Conflict, NotFound, ServiceError
from backend.store.placement import InUse, Invalid, NameTaken, NotFoundError, PlacementStore
from backend.store.placement_feed import FeedError, PlacementFeed, UnknownHost

ACTOR_HEADER = "X-Flightdeck-Actor"
"""Who acts, when the shared token is used (a personal identity acts as itself)."""
_ACTOR = re.compile(r"^[A-Za-z0-9._@+-]{1,64}$")

Viewer = Annotated[Principal, Depends(requires(Role.VIEWER))]
Operator = Annotated[Principal, Depends(requires(Role.OPERATOR))]
Name = Annotated[
    str, Path(min_length=1, max_length=63, pattern=NAME_PATTERN, description="The noun's name")
]
Limit = Annotated[int, Query(ge=1, le=1000)]
Offset = Annotated[int, Query(ge=0, le=1_000_000_000)]
After = Annotated[int, Query(ge=0, le=2**62, description="Resume after this sequence number")]


def _context(request: Request) -> ApiContext:
    context: ApiContext = request.app.state.context
    return context


def _store(request: Request) -> PlacementStore:
    return PlacementStore(_context(request).database)


def _feed(request: Request) -> PlacementFeed:
    return PlacementFeed(_context(request).database)


Store = Annotated[PlacementStore, Depends(_store)]
Feed = Annotated[PlacementFeed, Depends(_feed)]


def actor_of(principal: Principal, header: str | None) -> str:
    """Who the change is recorded for."""
    if principal.personal or not header:
        return principal.name
    if not _ACTOR.match(header):
        raise ServiceError(f"{ACTOR_HEADER} must be a user name (letters, digits, ._@+-)")
    return header


ActorHeader = Annotated[str | None, Header(alias=ACTOR_HEADER, include_in_schema=False)]

router = APIRouter(
    prefix="/api/v1",
    tags=["placement"],
    dependencies=[Depends(require_token)],
    responses=error_responses(400, 401, 403, 404, 409, 413, 422, 503),
)


def _refusal(err: Exception) -> ServiceError:
    if isinstance(err, NotFoundError):
        return NotFound(str(err))
    # Names a missing noun, or values the template cannot take: the request is well formed
    # but does not fit what is stored now.
    return Conflict(str(err))


async def _write(request: Request, work: Any) -> Any:
    try:
        written = await work
    except (NotFoundError, NameTaken, InUse, Invalid) as err:
        raise _refusal(err) from None
    nudge_processor(_context(request))
    return written.record


def _add_noun_routes(noun: Noun, body_model: type[Any]) -> None:
    plural = PLURALS[noun]
    patch_model = PATCHES[noun]

    record_model = RECORDS[noun]

    async def create(
        request: Request,
        store: Store,
        principal: Operator,
        body: Annotated[body_model, Body()],  # type: ignore[valid-type]
        actor: ActorHeader = None,
    ) -> Any:
        return await _write(request, store.create(noun, body, actor=actor_of(principal, actor)))

    router.add_api_route(
        f"/{plural}",
        create,
        methods=["POST"],
        status_code=201,
        response_model=record_model,
        summary=f"Create a {noun}",
        description=f"Create a {noun}; 409 when a live {noun} has the name.",
    )

    async def update(
        request: Request,
        name: Name,
        store: Store,
        principal: Operator,
        body: Annotated[patch_model, Body()],  # type: ignore[valid-type]
        actor: ActorHeader = None,
    ) -> Any:
        changes = body.model_dump(exclude_unset=True)  # type: ignore[attr-defined]
        return await _write(
            request, store.update(noun, name, changes, actor=actor_of(principal, actor))
        )

    router.add_api_route(
        f"/{plural}/{{name}}",
        update,
        methods=["PATCH"],
        response_model=record_model,
        summary=f"Update a {noun}",
        description=f"Replace the given fields of a {noun} (its name stays).",
    )

    async def delete(
        request: Request,
        name: Name,
        store: Store,
        principal: Operator,
        actor: ActorHeader = None,
    ) -> Any:
        return await _write(request, store.delete(noun, name, actor=actor_of(principal, actor)))

    router.add_api_route(
        f"/{plural}/{{name}}",
        delete,
        methods=["DELETE"],
        response_model=record_model,
        summary=f"Delete a {noun}",
        description=f"Delete a {noun} (kept as deleted, so hosts' feeds carry tombstones);"
        " 409 while a deployment names it.",
    )

    if noun in ("host", "deployment"):
        return

    async def list_nouns(store: Store, _: Viewer, limit: Limit = 200, offset: Offset = 0) -> Page:
        items, total = await store.list(noun, limit=limit, offset=offset)
        return Page(items=[item.model_dump(mode="json") for item in items], total=total)

    router.add_api_route(f"/{plural}", list_nouns, methods=["GET"], summary=f"List {plural}")

    async def get_noun(name: Name, store: Store, _: Viewer) -> Any:
        found = await store.get(noun, name)
        if found is None:
            raise NotFound(f"no {noun} named {name}")
        return found

    router.add_api_route(
        f"/{plural}/{{name}}",
        get_noun,
        methods=["GET"],
        response_model=record_model,
        summary=f"Get a {noun}",
    )


for _noun, _body in (
    ("host", HostBody),
    ("workload", WorkloadBody),
    ("template", TemplateBody),
    ("target", TargetBody),
    ("deployment", DeploymentBody),
):
    _add_noun_routes(_noun, _body)  # type: ignore[arg-type]
assert set(PLURALS) == set(NOUNS)


@router.get("/hosts")
async def list_hosts(feed: Feed, _: Viewer, limit: Limit = 200, offset: Offset = 0) -> HostRows:
    """Hosts by name, each with its deployments, how many run their current revision, the
    newest change that reached it and its agent's last report."""
    return await feed.host_rows(limit=limit, offset=offset)


@router.get("/hosts/{name}")
async def get_host(name: Name, feed: Feed, _: Viewer) -> HostView:
    """A host and every deployment assigned to it, with each one's end-to-end state."""
    found = await feed.host_view(name)
    if found is None:
        raise NotFound(f"no host named {name}")
    return found


@router.get("/deployments")
async def list_deployments(store: Store, _: Viewer, limit: Limit = 200, offset: Offset = 0) -> Page:
    """Deployments by name."""
    items, total = await store.list("deployment", limit=limit, offset=offset)
    return Page(items=[item.model_dump(mode="json") for item in items], total=total)


@router.get("/deployments/{name}")
async def get_deployment(name: Name, feed: Feed, _: Viewer) -> DeploymentView:
    """A deployment, the hosts it reaches and its state on each (committed, event sent,
    deployed)."""
    found = await feed.deployment_view(name)
    if found is None:
        raise NotFound(f"no deployment named {name}")
    return found


Since = Annotated[
    int,
    Query(
        ge=0,
        le=2**62,
        description="The bookmark of an earlier answer (a change-log sequence number, the"
        " feed's clock); 0 for everything",
    ),
]


@router.get("/hosts/{name}/changes")
async def host_changes(name: Name, feed: Feed, _: Viewer, since: Since = 0) -> HostFeed:
    """What changed for the host since the bookmark: every deployment on it whose deployment,
    workload, template or placement changed, rendered; tombstones for those removed from it;
    the bookmark to ask with next."""
    try:
        return await feed.host_feed(name, since)
    except UnknownHost as err:
        raise NotFound(str(err)) from None
    except FeedError as err:
        raise Conflict(str(err)) from None


@router.get("/hosts/{name}/events")
async def host_events(
    name: Name, feed: Feed, _: Viewer, after: After = 0, limit: Limit = 500
) -> HostEventPage:
    """The change processor's messages for the host (its HostDeployment topic), oldest first:
    consume at least once, apply idempotently, resume with `next_after`."""
    return await feed.host_events(name, after, limit=limit)


@router.post("/hosts/{name}/deployed")
async def host_deployed(
    name: Name, report: DeployedReport, feed: Feed, _: Operator
) -> DeployedAnswer:
    """The host's agent applied its feed up to `bookmark` and runs these revisions."""
    try:
        return await feed.report_deployed(name, report)
    except UnknownHost as err:
        raise NotFound(str(err)) from None


@router.get("/changes")
async def changes(feed: Feed, _: Viewer, after: After = 0, limit: Limit = 500) -> ChangePage:
    """The change log after `after`, oldest first: every create, update and delete of every
    noun with its state before and after. Resume with `next_after`."""
    return await feed.changes(after, limit=limit)


def routers() -> list[APIRouter]:
    """The placement domain's routers."""
    return [router]
