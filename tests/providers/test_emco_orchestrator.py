"""The EMCO orchestrator against respx: the v2 API paths and bodies of each lifecycle call, the
status answers (22.03 format and the older one) read into OrchestratorStatus, and how EMCO's
errors map to a final refusal or a retryable error."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import respx

from backend.domains.digs.emco import EmcoOrchestrator, parse_status
from backend.domains.digs.model import AppKind, AppState, DigApp, DigRef, ResourceState
from backend.domains.digs.orchestrator import OrchestratorError, OrchestratorRefused

BASE = "http://emco.test:9015"
DIG = DigRef(project="proj", composite_app="capp", version="v1", name="dig1")
DIG_URL = f"{BASE}/v2/projects/proj/composite-apps/capp/v1/deployment-intent-groups/dig1"
APPS = [
    DigApp(name="worker", kind=AppKind.WORKER, task_queue="hooks"),
    DigApp(name="web", kind=AppKind.HELM),
]


def actions(*states: str) -> dict[str, Any]:
    return {
        "statusctxid": "2033187047192820370",
        "actions": [
            {"state": s, "instance": "", "time": f"2022-03-15T03:11:2{n}.591Z", "revision": 0}
            for n, s in enumerate(states)
        ],
    }


def resource(name: str, key: str, value: str) -> dict[str, Any]:
    return {
        "GVK": {"Group": "apps", "Version": "v1", "Kind": "Deployment"},
        "name": name,
        key: value,
    }


def app(name: str, key: str, *values: str, connectivity: str = "Available") -> dict[str, Any]:
    return {
        "name": name,
        "clusters": [
            {
                "clusterProvider": "provider1",
                "cluster": "edge01",
                "connectivity": connectivity,
                "resources": [resource(f"{name}-{n}", key, v) for n, v in enumerate(values)],
            }
        ],
    }


def deployed(
    *states: str, status: str = "Instantiated", apps: list[Any] | None = None
) -> dict[str, Any]:
    """A `status=deployed` answer (EMCO 22.03 format)."""
    return {
        "project": "proj",
        "compositeApp": "capp",
        "compositeAppVersion": "v1",
        "name": "dig1",
        "states": actions(*states),
        "deployedStatus": status,
        "deployedCounts": {"Applied": 3},
        "apps": apps
        if apps is not None
        else [
            app("worker", "deployedStatus", "Applied", "Applied"),
            app("web", "deployedStatus", "Applied"),
        ],
    }


def ready(overall: str, worker: tuple[str, ...], web: tuple[str, ...]) -> dict[str, Any]:
    """A `status=ready` answer."""
    return {
        "name": "dig1",
        "states": actions("Created", "Approved", "Instantiated"),
        "deployedStatus": "Instantiated",
        "readyStatus": overall,
        "readyCounts": {"Ready": 3},
        "apps": [app("worker", "readyStatus", *worker), app("web", "readyStatus", *web)],
    }


@pytest.fixture
def router() -> respx.MockRouter:
    return respx.MockRouter(assert_all_called=False)


@pytest.fixture
async def emco(router: respx.MockRouter) -> AsyncIterator[EmcoOrchestrator]:
    orchestrator = EmcoOrchestrator(
        BASE,
        transport=httpx.MockTransport(router.async_handler),
        composite_profile="capp-profile",
        logical_cloud="lc1",
    )
    yield orchestrator
    await orchestrator.aclose()


def route_status(router: respx.MockRouter, deployed_answer: Any, ready_answer: Any = None) -> None:
    router.get(f"{DIG_URL}/status", params__eq={"status": "deployed"}).respond(
        200, json=deployed_answer
    )
    if ready_answer is not None:
        router.get(f"{DIG_URL}/status", params__eq={"status": "ready"}).respond(
            200, json=ready_answer
        )


async def test_create_posts_the_dig_with_its_spec(
    emco: EmcoOrchestrator, router: respx.MockRouter
) -> None:
    route = router.post(
        f"{BASE}/v2/projects/proj/composite-apps/capp/v1/deployment-intent-groups"
    ).respond(201, json={})

    await emco.create(DIG, APPS, "hook workers")

    assert json.loads(route.calls.last.request.content) == {
        "metadata": {"name": "dig1", "description": "hook workers"},
        "spec": {"version": "v1", "compositeProfile": "capp-profile", "logicalCloud": "lc1"},
    }


async def test_create_of_a_dig_that_exists_is_done(
    emco: EmcoOrchestrator, router: respx.MockRouter
) -> None:
    route = router.post(
        f"{BASE}/v2/projects/proj/composite-apps/capp/v1/deployment-intent-groups"
    ).respond(409, text="Intent already exists")

    await emco.create(DIG, APPS, "")

    assert route.call_count == 1


async def test_lifecycle_operations_post_to_the_dig_and_report_the_apps(
    emco: EmcoOrchestrator, router: respx.MockRouter
) -> None:
    approve = router.post(f"{DIG_URL}/approve").respond(202)
    instantiate = router.post(f"{DIG_URL}/instantiate").respond(202)
    terminate = router.post(f"{DIG_URL}/terminate").respond(202)
    route_status(
        router,
        deployed("Created", "Approved", "Instantiated"),
        ready("NotReady", ("Ready", "NotReady"), ("Ready",)),
    )
    moves: list[list[AppState]] = []

    await emco.approve(DIG)
    states = await emco.instantiate(DIG, APPS, moves.append)

    assert (approve.call_count, instantiate.call_count) == (1, 1)
    assert moves == [states]
    assert [(s.app, s.state, s.ready) for s in states] == [
        ("worker", ResourceState.APPLIED, False),
        ("web", ResourceState.APPLIED, True),
    ]

    route_status(
        router,
        deployed(
            "Created",
            "Approved",
            "Instantiated",
            "Terminated",
            status="Terminated",
            apps=[
                app("worker", "deployedStatus", "Deleted", "Deleted"),
                app("web", "deployedStatus", "Deleted"),
            ],
        ),
    )
    states = await emco.terminate(DIG, APPS, moves.append)

    assert terminate.call_count == 1
    assert [s.state for s in states] == [ResourceState.TERMINATED] * 2
    assert moves[-1] == states


async def test_status_reads_state_progress_counts_apps_and_readiness(
    emco: EmcoOrchestrator, router: respx.MockRouter
) -> None:
    route_status(
        router,
        deployed("Created", "Approved", "Instantiated"),
        ready("Ready", ("Ready", "Ready"), ("Ready",)),
    )

    status = await emco.status(DIG, APPS)

    assert (status.state, status.deployed, status.ready, status.resources) == (
        "Instantiated",
        "Instantiated",
        True,
        {"Applied": 3},
    )
    worker, web = status.apps
    assert (worker.app, worker.kind, worker.state, worker.ready) == (
        "worker",
        AppKind.WORKER,
        ResourceState.APPLIED,
        True,
    )
    assert worker.detail == "2 resources on 1 cluster: Applied 2, ready 2/2"
    assert (web.kind, web.ready) == (AppKind.HELM, True)


async def test_status_asks_for_readiness_only_once_instantiated(
    emco: EmcoOrchestrator, router: respx.MockRouter
) -> None:
    route_status(router, deployed("Created", "Approved", status="", apps=[]))
    asked_ready = router.get(f"{DIG_URL}/status", params__eq={"status": "ready"}).respond(500)

    status = await emco.status(DIG, APPS)

    assert asked_ready.call_count == 0
    assert (status.state, status.ready) == ("Approved", False)
    assert [(a.app, a.state) for a in status.apps] == [
        ("worker", ResourceState.PENDING),
        ("web", ResourceState.PENDING),
    ]


def test_the_older_status_format_is_read_too() -> None:
    older = {
        "composite-app-name": "capp",
        "name": "dig1",
        "state": {"Actions": [{"State": "Approved"}, {"State": "Instantiated", "ContextId": "1"}]},
        "status": "Instantiating",
        "rsync-status": {"Applied": 1, "Pending": 1},
        "apps": [
            {
                "name": "worker",
                "clusters": [
                    {
                        "cluster-provider": "p",
                        "cluster": "edge01",
                        "readystatus": "Retrying",
                        "resources": [{"name": "w", "rsync-status": "Pending"}],
                    }
                ],
            },
            app("web", "rsync-status", "Applied", "Failed"),
        ],
    }

    status = parse_status(older, None, APPS)

    assert (status.state, status.deployed, status.ready) == ("Instantiated", "Instantiating", False)
    assert status.resources == {"Applied": 1, "Pending": 1}
    assert [(a.app, a.state) for a in status.apps] == [
        ("worker", ResourceState.RETRYING),
        ("web", ResourceState.FAILED),
    ]


async def test_an_operation_done_already_is_not_an_error(
    emco: EmcoOrchestrator, router: respx.MockRouter
) -> None:
    router.post(f"{DIG_URL}/instantiate").respond(409, text="DIG already instantiated")
    route_status(
        router,
        deployed("Created", "Approved", "Instantiated"),
        ready("Ready", ("Ready", "Ready"), ("Ready",)),
    )

    states = await emco.instantiate(DIG, APPS, lambda _states: None)

    assert [s.state for s in states] == [ResourceState.APPLIED] * 2


async def test_a_refusal_carries_emcos_message(
    emco: EmcoOrchestrator, router: respx.MockRouter
) -> None:
    router.post(f"{DIG_URL}/instantiate").respond(
        409, text="DeploymentIntentGroup must be approved before it is instantiated\n"
    )
    route_status(router, deployed("Created", status="", apps=[]))

    with pytest.raises(OrchestratorRefused) as refused:
        await emco.instantiate(DIG, APPS, lambda _states: None)

    assert str(refused.value) == (
        "EMCO refused to instantiate DIG proj/capp/v1/dig1 (409): DeploymentIntentGroup must be"
        " approved before it is instantiated"
    )


async def test_an_unknown_dig_is_refused(emco: EmcoOrchestrator, router: respx.MockRouter) -> None:
    router.get(f"{DIG_URL}/status").respond(
        404, json={"message": "DeploymentIntentGroup not found"}
    )

    with pytest.raises(OrchestratorRefused, match=r"\(404\): DeploymentIntentGroup not found$"):
        await emco.status(DIG, APPS)


async def test_delete_removes_the_dig_and_gone_is_fine(
    emco: EmcoOrchestrator, router: respx.MockRouter
) -> None:
    route = router.delete(DIG_URL).mock(side_effect=[httpx.Response(204), httpx.Response(404)])

    await emco.delete(DIG)
    await emco.delete(DIG)

    assert route.call_count == 2


async def test_delete_of_an_instantiated_dig_is_refused(
    emco: EmcoOrchestrator, router: respx.MockRouter
) -> None:
    router.delete(DIG_URL).respond(409, text="DIG must be terminated before it is deleted")

    with pytest.raises(OrchestratorRefused, match="must be terminated"):
        await emco.delete(DIG)


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (httpx.Response(500, text="etcd unavailable"), r"could not approve .* \(500\): etcd"),
        (httpx.Response(503), r"\(503\)$"),
        (httpx.Response(429, text="slow down"), r"\(429\): slow down"),
        (httpx.ConnectError("connection refused"), "cannot reach EMCO at .*: connection refused"),
        (httpx.ReadTimeout("read timed out"), "timed out"),
    ],
)
async def test_outages_and_server_errors_are_retryable(
    emco: EmcoOrchestrator, router: respx.MockRouter, answer: Any, message: str
) -> None:
    router.post(f"{DIG_URL}/approve").mock(side_effect=[answer])

    with pytest.raises(OrchestratorError, match=message):
        await emco.approve(DIG)


async def test_a_status_that_is_not_json_is_retryable(
    emco: EmcoOrchestrator, router: respx.MockRouter
) -> None:
    router.get(f"{DIG_URL}/status").respond(200, text="<html>proxy</html>")

    with pytest.raises(OrchestratorError, match="no JSON"):
        await emco.status(DIG, APPS)
