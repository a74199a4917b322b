"""TAC worker registrations at the spec's v2 URLs (create, read, replace, delete, every refusal,
audited), and `GET /api/v1/workers`: each row's worker DIG state and the pollers Temporal sees
on its task queue (a real worker on a real dev server)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from temporalio import workflow
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from backend.api.app import create_app
from backend.api.context import ApiContext
from backend.domain.identity import Role
from backend.domains.digs.model import DIG_KIND
from backend.domains.tac.routes import PollerCounts
from backend.store.entities import EntityRepository
from backend.store.tokens import TokenRepository
from tests.api.conftest import TOKEN, api_context
from tests.stack import Stack, eventually

WORKERS = (
    "/v2/projects/proj/composite-apps/app/v1/deployment-intent-groups/main"
    "/temporal-action-controller/pre-install/workers"
)
BODY = {
    "metadata": {"name": "ABCD", "description": "tac intent"},
    "spec": {
        "taskQueue": "MIGRATION_WORKFLOW",
        "dig": "digOne",
        "cApp": "cAppone",
        "project": "projectOne",
        "cAppVersion": "cAppVersionOne",
    },
}


def registration(name: str = "ABCD", queue: str = "MIGRATION_WORKFLOW", **spec: str) -> Any:
    return {
        "metadata": {**BODY["metadata"], "name": name},
        "spec": {**BODY["spec"], "taskQueue": queue, **spec},
    }


@pytest.fixture
async def context(stack: Stack) -> ApiContext:
    return api_context(stack)


@pytest.fixture
async def client(context: ApiContext) -> AsyncIterator[Any]:
    app = create_app(context)
    opened: list[httpx.AsyncClient] = []

    def make(token: str | None = TOKEN) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        made = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://flightdeck", headers=headers
        )
        opened.append(made)
        return made

    yield make
    for made in opened:
        await made.aclose()


@pytest.fixture
def api(client: Any) -> httpx.AsyncClient:
    made: httpx.AsyncClient = client()
    return made


async def test_a_registration_is_created_read_replaced_and_deleted(
    api: httpx.AsyncClient, context: ApiContext
) -> None:
    created = await api.post(WORKERS, json=BODY)
    assert created.status_code == 201, created.text
    answer = created.json()
    assert (answer["metadata"], answer["spec"]) == (BODY["metadata"], BODY["spec"])
    assert answer["status"]["requestedBy"] == "shared-token"
    assert answer["status"]["createdAt"] == answer["status"]["updatedAt"]

    assert (await api.get(f"{WORKERS}/ABCD")).json() == answer
    for url in (WORKERS, f"{WORKERS}/"):
        listed = await api.get(url)
        assert listed.status_code == 200
        assert listed.json() == [answer]

    changed = registration(queue="NEW_QUEUE", dig="digTwo")
    replaced = await api.put(f"{WORKERS}/ABCD", json=changed)
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["spec"] == changed["spec"]
    assert replaced.json()["status"]["createdAt"] == answer["status"]["createdAt"]
    assert (await api.get(f"{WORKERS}/ABCD")).json()["spec"]["taskQueue"] == "NEW_QUEUE"

    deleted = await api.delete(f"{WORKERS}/ABCD")
    assert (deleted.status_code, deleted.content) == (204, b"")
    assert (await api.get(f"{WORKERS}/ABCD")).status_code == 404
    assert (await api.get(WORKERS)).json() == []

    entries = await context.audit.list(target_kind="worker")
    assert [e.action for e in entries] == ["worker.delete", "worker.update", "worker.register"]
    assert {e.target_id for e in entries} == {f"{WORKERS}/ABCD"}
    assert {e.actor for e in entries} == {"shared-token"}
    delete, update, register = entries
    assert register.details == {"name": "ABCD", "body": BODY}
    assert update.details == {"name": "ABCD", "body": changed, "before": BODY}
    assert delete.details == {"name": "ABCD", "before": changed}


async def test_refusals_say_why_and_change_nothing(
    api: httpx.AsyncClient, context: ApiContext
) -> None:
    for method in ("GET", "DELETE"):
        missing = await api.request(method, f"{WORKERS}/nobody")
        assert missing.status_code == 404
        assert missing.json()["detail"] == (
            "no worker nobody registered under DIG main (proj/app/v1), TAC intent pre-install"
        )
    assert (await api.put(f"{WORKERS}/nobody", json=registration("nobody"))).status_code == 404

    assert (await api.post(WORKERS, json=BODY)).status_code == 201
    duplicate = await api.post(WORKERS, json=registration(queue="OTHER"))
    assert duplicate.status_code == 409
    assert duplicate.json()["detail"].startswith("worker ABCD is already registered under DIG main")
    same_queue = await api.post(WORKERS, json=registration("EFGH"))
    assert same_queue.status_code == 409
    assert "task queue MIGRATION_WORKFLOW is already registered" in same_queue.json()["detail"]

    renamed = await api.put(f"{WORKERS}/ABCD", json=registration("EFGH"))
    assert renamed.status_code == 400
    assert "differs from the path's worker 'ABCD'" in renamed.json()["detail"]

    bad_bodies = {
        "spec.cApp": {**BODY, "spec": {k: v for k, v in BODY["spec"].items() if k != "cApp"}},
        "spec.taskQueue": registration("x", queue="has space"),
        "metadata.name": registration("-starts-with-a-dash"),
        "metadata.description": {**BODY, "metadata": {"name": "x", "description": "\x1b[2J"}},
        "metadata.owner": {**BODY, "metadata": {"name": "x", "owner": "eve"}},
    }
    for field, bad in bad_bodies.items():
        refused = await api.post(WORKERS, json=bad)
        assert refused.status_code == 422, field
        assert refused.json()["detail"].startswith(field), refused.json()["detail"]
    bad_path = WORKERS.replace("/main/", "/bad%20dig/")
    assert (await api.post(bad_path, json=BODY)).status_code == 422

    assert [r["metadata"]["name"] for r in (await api.get(WORKERS)).json()] == ["ABCD"]
    assert (await api.get(f"{WORKERS}/ABCD")).json()["spec"] == BODY["spec"]
    assert [e.action for e in await context.audit.list(target_kind="worker")] == ["worker.register"]


async def test_a_token_is_needed_and_viewers_only_read(client: Any, context: ApiContext) -> None:
    anonymous = client(None)
    for method, url in (("GET", WORKERS), ("POST", WORKERS), ("GET", "/api/v1/workers")):
        refused = await anonymous.request(method, url, json=BODY if method == "POST" else None)
        assert refused.status_code == 401, url
        assert refused.headers["www-authenticate"] == "Bearer"
    assert (await client("wrong-token").get(f"{WORKERS}/ABCD")).status_code == 401

    tokens = TokenRepository(context.database)
    viewer = client(await tokens.add("vic", [Role.VIEWER]))
    operator = client(await tokens.add("olga", [Role.OPERATOR]))
    assert (await viewer.post(WORKERS, json=BODY)).status_code == 403
    assert (await operator.post(WORKERS, json=BODY)).status_code == 201
    assert (await viewer.get(WORKERS)).status_code == 200
    assert (await viewer.get("/api/v1/workers")).status_code == 200
    assert (await viewer.delete(f"{WORKERS}/ABCD")).status_code == 403
    [entry] = await context.audit.list(target_kind="worker")
    assert entry.actor == "olga"


@workflow.defn(name="TacTrivialWorkflow")
class TrivialWorkflow:
    """Only here so a worker polls the test's task queue."""

    @workflow.run
    async def run(self) -> None:
        return None


async def test_workers_rows_say_whether_a_worker_polls_the_queue(
    api: httpx.AsyncClient, stack: Stack, context: ApiContext
) -> None:
    polled, idle = f"tac-polled-{uuid.uuid4().hex[:8]}", f"tac-idle-{uuid.uuid4().hex[:8]}"
    await EntityRepository(context.database).create(
        kind=DIG_KIND,
        entity_id="d1",
        name="worker-dig",
        requested_by="alice",
        status="instantiated",
        workflow_id="dig-d1",
        fields={"project": "proj", "composite_app": "workers", "version": "v1"},
    )
    worker_dig = {"dig": "worker-dig", "project": "proj", "cApp": "workers", "cAppVersion": "v1"}
    polled_body = registration("polled", queue=polled, **worker_dig)
    assert (await api.post(WORKERS, json=polled_body)).status_code == 201
    idle_body = registration("idle", queue=idle, dig="missing")
    assert (await api.post(WORKERS, json=idle_body)).status_code == 201

    async def rows() -> dict[str, dict[str, Any]]:
        answer = await api.get("/api/v1/workers")
        assert answer.status_code == 200, answer.text
        assert answer.json()["total"] == 2
        return {row["name"]: row for row in answer.json()["items"]}

    async with Worker(
        stack.client,
        task_queue=polled,
        workflows=[TrivialWorkflow],
        workflow_runner=UnsandboxedWorkflowRunner(),
    ):
        found = await eventually(rows, lambda r: (r["polled"]["pollers"] or 0) >= 1, timeout=20)
    assert found["polled"]["ready"] is True
    assert (found["polled"]["dig_status"], found["polled"]["worker_dig_id"]) == (
        "instantiated",
        "d1",
    )
    assert found["polled"]["task_queue"] == polled
    assert (found["idle"]["pollers"], found["idle"]["ready"]) == (0, False)
    assert (found["idle"]["dig_status"], found["idle"]["worker_dig_id"]) == ("not found", None)
    assert list(found) == ["idle", "polled"]  # newest first
    page = (await api.get("/api/v1/workers", params={"limit": 1, "offset": 1})).json()
    assert ([row["name"] for row in page["items"]], page["total"]) == (["polled"], 2)


class CountingService:
    """The real DescribeTaskQueue, counting calls and held until `release` (a spy: every call
    reaches the dev server)."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.calls: list[str] = []
        self.release = asyncio.Event()

    async def describe_task_queue(self, request: Any, timeout: Any = None) -> Any:
        self.calls.append(request.task_queue.name)
        await self.release.wait()
        return await self.real.describe_task_queue(request, timeout=timeout)


class CountingClient:
    def __init__(self, client: Client) -> None:
        self.namespace = client.namespace
        self.workflow_service = CountingService(client.workflow_service)


async def test_poller_counts_share_one_call_per_queue_and_survive_temporal_errors(
    dev_env: WorkflowEnvironment,
) -> None:
    client = CountingClient(dev_env.client)
    a, b = f"a-{uuid.uuid4().hex[:6]}", f"b-{uuid.uuid4().hex[:6]}"
    counts = PollerCounts(client, ttl=3600)  # type: ignore[arg-type]
    first = asyncio.create_task(counts.counts([a, b, a]))
    second = asyncio.create_task(counts.counts([a]))  # asks while the call for a runs
    client.workflow_service.release.set()
    assert await first == {a: 0, b: 0}
    assert await second == {a: 0}
    assert await counts.counts([b, a]) == {b: 0, a: 0}  # cached
    assert sorted(client.workflow_service.calls) == sorted([a, b])

    # A Temporal that does not answer: unknown (None), never an error, and not cached.
    dead = await Client.connect("127.0.0.1:1", namespace="flightdeck", lazy=True)
    stale = PollerCounts(dead, ttl=0, timeout=2)
    assert await stale.counts([a]) == {a: None}
    assert await stale.counts([a]) == {a: None}
