"""TAC worker registrations over HTTP: the v2 API exactly as specs/tac-worker-deployment.md gives
it (EMCO's paths and bodies), and `GET /api/v1/workers` for the TUI's Workers view, where each
row says whether a worker polls its task queue now (Temporal's DescribeTaskQueue)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status
from temporalio.api.enums.v1 import TaskQueueKind, TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client

from backend.api.auth import require_token
from backend.api.context import ApiContext
from backend.api.errors import API_ERRORS, error_responses
from backend.api.identity import requires
from backend.domain.audit import AuditOutcome
from backend.domain.identity import Principal, Role
from backend.domains.tac.registrations import (
    MAX_NAME,
    NAME_PATTERN,
    WORKERS_KIND,
    RegistrationPath,
    WorkerRegistration,
    WorkerRegistrationBody,
    WorkerRows,
)
from backend.services.errors import Conflict, NotFound, ServiceError
from backend.store.audit import NewAuditEntry
from backend.store.worker_registrations import (
    DuplicateRegistration,
    QueueTaken,
    RegistrationRecord,
    WorkerRegistrations,
)

log = logging.getLogger(__name__)

WORKERS_PATH = (
    "/v2/projects/{project}/composite-apps/{compositeApp}/{compositeAppVersion}"
    "/deployment-intent-groups/{deploymentIntentGroup}/temporal-action-controller/{tacIntent}"
    "/workers"
)
"""The registrations of one DIG's TAC intent (the spec's URL)."""
ERRORS = error_responses(400, 401, 403, 404, 409, 413, 422, 503)
POLLERS_TTL = 1.0
"""How long a task queue's poller count is reused (many TUIs polling cost one call)."""
POLLERS_CONCURRENCY = 8
"""At most this many DescribeTaskQueue calls at a time."""
POLLERS_TIMEOUT = 2.0


def _segment(what: str, alias: str | None = None) -> object:
    return Path(
        alias=alias,
        min_length=1,
        max_length=MAX_NAME,
        pattern=NAME_PATTERN,
        description=f"The {what}'s name",
    )


def registration_path(
    project: Annotated[str, _segment("project")],
    composite_app: Annotated[str, _segment("composite app", "compositeApp")],
    version: Annotated[str, _segment("composite app version", "compositeAppVersion")],
    dig: Annotated[str, _segment("deployment intent group", "deploymentIntentGroup")],
    tac_intent: Annotated[str, _segment("TAC intent", "tacIntent")],
) -> RegistrationPath:
    """The DIG and TAC intent a v2 request is about, from its path."""
    return RegistrationPath(
        project=project,
        composite_app=composite_app,
        version=version,
        dig=dig,
        tac_intent=tac_intent,
    )


IntentPath = Annotated[RegistrationPath, Depends(registration_path)]
WorkerName = Annotated[str, _segment("worker registration")]


def registrations(request: Request) -> WorkerRegistrations:
    """The registrations repository over the API's database."""
    context: ApiContext = request.app.state.context
    return WorkerRegistrations(context.database)


Registrations = Annotated[WorkerRegistrations, Depends(registrations)]
Viewer = Annotated[Principal, Depends(requires(Role.VIEWER))]
Operator = Annotated[Principal, Depends(requires(Role.OPERATOR))]

v2_router = APIRouter(
    prefix=WORKERS_PATH,
    tags=["tac workers"],
    dependencies=[Depends(require_token)],
    responses=ERRORS,
)


@v2_router.post("", status_code=status.HTTP_201_CREATED)
async def register_worker(
    path: IntentPath,
    body: WorkerRegistrationBody,
    repo: Registrations,
    principal: Operator,
) -> WorkerRegistration:
    """Register a worker: the task queue and the DIG that runs its worker (409 when the name,
    or the task queue, is registered under this intent already)."""
    name = body.metadata.name
    entry = _audit(principal, "worker.register", path, name, body=body)
    try:
        record = await repo.create(path, body, requested_by=principal.name, audit=entry)
    except DuplicateRegistration:
        raise Conflict(f"worker {name} is already registered under {_where(path)}") from None
    except QueueTaken as err:
        raise Conflict(str(err)) from None
    return record.registration()


async def list_workers(
    path: IntentPath, repo: Registrations, _: Viewer
) -> list[WorkerRegistration]:
    """Every worker registered under this DIG's TAC intent, by name."""
    return [record.registration() for record in await repo.list(path)]


v2_router.add_api_route("", list_workers, methods=["GET"], summary="List worker registrations")
v2_router.add_api_route(
    "/", list_workers, methods=["GET"], summary="List worker registrations (the spec's URL)"
)


@v2_router.get("/{worker}")
async def get_worker(
    path: IntentPath, worker: WorkerName, repo: Registrations, _: Viewer
) -> WorkerRegistration:
    """One worker registration."""
    return (await _existing(repo, path, worker)).registration()


@v2_router.put("/{worker}")
async def update_worker(
    path: IntentPath,
    worker: WorkerName,
    body: WorkerRegistrationBody,
    repo: Registrations,
    principal: Operator,
) -> WorkerRegistration:
    """Replace a registration's description and spec; `metadata.name` must be the path's (a
    registration is not renamed: delete it and register the new name)."""
    before = await _existing(repo, path, worker)
    if body.metadata.name != worker:
        raise ServiceError(
            f"metadata.name {body.metadata.name!r} differs from the path's worker {worker!r};"
            " a registration cannot be renamed"
        )
    entry = _audit(principal, "worker.update", path, worker, body=body, before=before)
    try:
        record = await repo.update(path, body, audit=entry)
    except QueueTaken as err:
        raise Conflict(str(err)) from None
    if record is None:
        raise _not_found(path, worker)
    return record.registration()


@v2_router.delete("/{worker}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
async def delete_worker(
    path: IntentPath, worker: WorkerName, repo: Registrations, principal: Operator
) -> Response:
    """Delete a registration (the worker DIG itself is left as it is)."""
    before = await _existing(repo, path, worker)
    entry = _audit(principal, "worker.delete", path, worker, before=before)
    if not await repo.delete(path, worker, audit=entry):
        raise _not_found(path, worker)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


workers_router = APIRouter(
    prefix="/api/v1/workers",
    tags=["workers"],
    dependencies=[Depends(require_token), Depends(requires(Role.VIEWER))],
    responses=API_ERRORS,
)


@workers_router.get("")
async def worker_rows(
    request: Request,
    repo: Registrations,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
) -> WorkerRows:
    """Every registration, newest first, with its worker DIG's state and the workflow pollers
    on its task queue now (`pollers` null when Temporal did not answer)."""
    rows, total = await repo.workers(limit=limit, offset=offset)
    counts = await poller_counts(request).counts(row.task_queue for row in rows)
    items = [
        row.model_copy(
            update={"pollers": counts[row.task_queue], "ready": bool(counts[row.task_queue])}
        )
        for row in rows
    ]
    return WorkerRows(items=items, total=total)


def routers() -> list[APIRouter]:
    """The routers of the TAC domain, for the app to include."""
    return [v2_router, workers_router]


@dataclass
class _Count:
    task: asyncio.Task[int | None]
    finished: float | None = None


POLLER_FRESH_SECONDS = 75.0
"""A poller counts while it polled this recently: a live worker polls again at least every
minute (long polls end after about 60 s), while Temporal lists a stopped one for minutes."""


class PollerCounts:
    """Workflow pollers per task queue, from DescribeTaskQueue: one call per queue at a time and
    per `ttl` seconds however many requests ask, at most `concurrency` calls at once; None when
    Temporal does not answer."""

    def __init__(
        self,
        client: Client,
        *,
        ttl: float = POLLERS_TTL,
        concurrency: int = POLLERS_CONCURRENCY,
        timeout: float = POLLERS_TIMEOUT,
    ) -> None:
        self._client = client
        self._ttl = ttl
        self._timeout = timeout
        self._limit = asyncio.Semaphore(concurrency)
        self._counts: dict[str, _Count] = {}

    async def counts(self, task_queues: Iterable[str]) -> dict[str, int | None]:
        """The poller count of each distinct queue."""
        self._forget_stale()
        wanted = {queue: self._count(queue) for queue in dict.fromkeys(task_queues)}
        # Shielded: a request that goes away must not cancel a call other requests share.
        found = await asyncio.gather(*(asyncio.shield(task) for task in wanted.values()))
        return dict(zip(wanted, found, strict=True))

    def _count(self, queue: str) -> asyncio.Task[int | None]:
        known = self._counts.get(queue)
        if known is not None and not self._stale(known):
            return known.task
        count = _Count(asyncio.create_task(self._describe(queue)))
        count.task.add_done_callback(lambda _: setattr(count, "finished", time.monotonic()))
        self._counts[queue] = count
        return count.task

    def _stale(self, count: _Count) -> bool:
        return count.finished is not None and time.monotonic() - count.finished >= self._ttl

    def _forget_stale(self) -> None:
        for queue in [q for q, count in self._counts.items() if self._stale(count)]:
            del self._counts[queue]

    async def _describe(self, queue: str) -> int | None:
        request = DescribeTaskQueueRequest(
            namespace=self._client.namespace,
            task_queue=TaskQueue(name=queue, kind=TaskQueueKind.TASK_QUEUE_KIND_NORMAL),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
        )
        async with self._limit:
            try:
                answer = await self._client.workflow_service.describe_task_queue(
                    request, timeout=timedelta(seconds=self._timeout)
                )
            except Exception as err:  # any Temporal trouble: unknown, never a failed request
                log.info("DescribeTaskQueue %s failed: %s", queue, err)
                return None
        now = time.time()
        return sum(
            1
            for poller in answer.pollers
            if not poller.HasField("last_access_time")
            or now - poller.last_access_time.ToSeconds() <= POLLER_FRESH_SECONDS
        )


def poller_counts(request: Request) -> PollerCounts:
    """The app's poller counts (made on first use, shared by every request)."""
    state = request.app.state
    counts: PollerCounts | None = getattr(state, "tac_poller_counts", None)
    if counts is None:
        context: ApiContext = state.context
        counts = PollerCounts(context.client)
        state.tac_poller_counts = counts
    return counts


async def _existing(
    repo: WorkerRegistrations, path: RegistrationPath, name: str
) -> RegistrationRecord:
    record = await repo.get(path, name)
    if record is None:
        raise _not_found(path, name)
    return record


def _not_found(path: RegistrationPath, name: str) -> NotFound:
    return NotFound(f"no worker {name} registered under {_where(path)}")


def _where(path: RegistrationPath) -> str:
    """`DIG dig (project/app/version), TAC intent intent`: where a registration lives."""
    return (
        f"DIG {path.dig} ({path.project}/{path.composite_app}/{path.version}),"
        f" TAC intent {path.tac_intent}"
    )


_DONE = {"worker.register": "registered", "worker.update": "updated", "worker.delete": "deleted"}


def _audit(
    principal: Principal,
    action: str,
    path: RegistrationPath,
    name: str,
    *,
    body: WorkerRegistrationBody | None = None,
    before: RegistrationRecord | None = None,
) -> NewAuditEntry:
    details: dict[str, object] = {"name": name}
    if body is not None:
        details["body"] = body.model_dump(mode="json")
    if before is not None:
        details["before"] = before.body().model_dump(mode="json")
    return NewAuditEntry(
        actor=principal.name,
        action=action,
        target_kind=WORKERS_KIND,
        target_id=path.of(name),
        outcome=AuditOutcome.ACCEPTED,
        message=f"worker {name} {_DONE[action]} under {_where(path)}",
        details=details,
    )
