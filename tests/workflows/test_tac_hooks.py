"""The TAC hook flow end to end (specs/tac-worker-deployment.md): a DIG's pre-install hook needs
a worker on a task queue; the spec's three scenarios, with the worker DIG really starting a
worker process (the sandbox orchestrator) and the hook workflow completing on it; cleanup after
success, failure and cancel leaves no worker process and the worker DIG terminated."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from backend.domains.digs.hook_activities import HookActivities
from backend.domains.digs.hook_workflows import HOOK_WORKFLOWS
from tests.api.conftest import api_client
from tests.stack import Stack, eventually, platform_stack

HOOK = "flightdeck.hooks.Record"


@pytest.fixture
async def api(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client(stack) as client:
        yield client


@pytest.fixture
def queue() -> str:
    """The task queue the hook workflows run on (a worker DIG's worker polls it)."""
    return f"hooks-{uuid.uuid4().hex[:8]}"


async def get(api: httpx.AsyncClient, path: str) -> dict[str, Any]:
    body: dict[str, Any] = (await api.get(path)).json()
    return body


async def resting(api: httpx.AsyncClient, dig_id: str, *statuses: str) -> dict[str, Any]:
    return await eventually(
        lambda: get(api, f"/api/v1/digs/{dig_id}"),
        lambda b: b["status"] in statuses and bool(b["accepts"]),
        timeout=90,
    )


async def create_dig(api: httpx.AsyncClient, body: dict[str, Any]) -> str:
    response = await api.post("/api/v1/digs", json={"requested_by": "alice", **body})
    assert response.status_code == 201, response.text
    dig_id: str = response.json()["id"]
    await resting(api, dig_id, "created")
    return dig_id


async def act(api: httpx.AsyncClient, dig_id: str, action: str) -> None:
    response = await api.post(
        f"/api/v1/digs/{dig_id}/{action}", json={"actor": "bob", "reason": "test"}
    )
    assert response.status_code == 200, response.text


async def worker_dig(
    api: httpx.AsyncClient, queue: str, *, approve: bool = True, apps: str = ""
) -> str:
    dig_id = await create_dig(
        api,
        {
            "name": "mig-worker",
            "project": "proj1",
            "composite_app": "workers",
            "version": "v1",
            "apps": apps or f"worker:flightdeck-worker:{queue}",
        },
    )
    if approve:
        await act(api, dig_id, "approve")
        await resting(api, dig_id, "approved")
    return dig_id


async def register(api: httpx.AsyncClient, queue: str) -> None:
    response = await api.post(
        "/v2/projects/proj1/composite-apps/capp/v1/deployment-intent-groups/app-dig"
        "/temporal-action-controller/migrate/workers",
        json={
            "metadata": {"name": "mig", "description": "migration worker"},
            "spec": {
                "taskQueue": queue,
                "dig": "mig-worker",
                "cApp": "workers",
                "project": "proj1",
                "cAppVersion": "v1",
            },
        },
    )
    assert response.status_code == 201, response.text


async def instantiate_app_dig(
    api: httpx.AsyncClient, queue: str, params: dict[str, Any] | None = None
) -> str:
    dig_id = await create_dig(
        api,
        {
            "name": "app-dig",
            "project": "proj1",
            "composite_app": "capp",
            "version": "v1",
            "apps": "web:helm",
            "tac_intents": [
                {
                    "name": "migrate",
                    "hook_type": "pre-install",
                    "workflows": [
                        {"workflow_type": HOOK, "task_queue": queue, "params": params or {}}
                    ],
                }
            ],
        },
    )
    await act(api, dig_id, "approve")
    await resting(api, dig_id, "approved")
    await act(api, dig_id, "instantiate")
    return dig_id


async def hook_run(api: httpx.AsyncClient, *statuses: str) -> dict[str, Any]:
    listed = await eventually(
        lambda: get(api, "/api/v1/hook-runs"),
        lambda b: any(r["status"] in statuses for r in b["items"]),
        timeout=90,
    )
    [run] = listed["items"]
    return await get(api, f"/api/v1/hook-runs/{run['id']}")


def hook_record(stack: Stack, workflow_id: str) -> dict[str, Any]:
    record: dict[str, Any] = json.loads(
        (stack.settings.data_dir / "hooks" / f"{workflow_id}.json").read_text()
    )
    return record


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def worker_pid(dig: dict[str, Any]) -> int | None:
    """The worker process's pid, from the sandbox's detail (`pid 4242, ...`)."""
    for app in dig["app_states"]:
        if app["detail"].startswith("pid "):
            return int(app["detail"].split()[1].rstrip(","))
    return None


async def test_scenario_1_instantiates_the_worker_dig_runs_the_hook_on_it_and_cleans_up(
    api: httpx.AsyncClient, stack: Stack, queue: str
) -> None:
    worker_id = await worker_dig(api, queue)
    await register(api, queue)
    app_id = await instantiate_app_dig(api, queue, {"message": "migrate v7"})

    run = await hook_run(api, "succeeded", "failed")
    assert run["status"] == "succeeded", run
    [check] = run["checks"]
    assert check["scenario"].startswith("1:") and check["outcome"] == "ready" and check["started"]
    [hook] = run["hooks"]
    assert hook["outcome"] == "completed"
    assert run["cleanup"] == [{"worker_dig": "mig-worker", "outcome": "terminated", "detail": ""}]

    record = hook_record(stack, hook["workflow_id"])
    assert record["task_queue"] == queue and record["params"]["message"] == "migrate v7"
    assert record["pid"] != os.getpid(), "the hook ran in the worker DIG's process"
    assert gone(record["pid"]), "cleanup stopped the worker process"

    worker = await resting(api, worker_id, "terminated")
    assert {a["state"] for a in worker["app_states"]} == {"Terminated"}
    app = await resting(api, app_id, "instantiated")
    assert app["ready"] is True

    audit = (await api.get("/api/v1/audit", params={"target_id": worker_id})).json()
    by_hook = {e["action"] for e in audit["items"] if e["actor"].startswith("tac-hook:")}
    assert by_hook == {"instantiate", "terminate"}


async def test_scenario_2_a_worker_dig_not_approved_fails_the_hook_and_starts_nothing(
    api: httpx.AsyncClient, queue: str
) -> None:
    worker_id = await worker_dig(api, queue, approve=False)
    await register(api, queue)
    app_id = await instantiate_app_dig(api, queue)

    run = await hook_run(api, "failed", "succeeded")
    assert run["status"] == "failed"
    [check] = run["checks"]
    assert check["scenario"].startswith("2:") and not check["started"]
    assert "not approved (state: created)" in check["detail"]
    assert run["hooks"] == [] and run["cleanup"] == []

    app = await resting(api, app_id, "failed")
    assert "pre-install hook migrate failed" in app["status_reason"]
    worker = await get(api, f"/api/v1/digs/{worker_id}")
    assert worker["status"] == "created" and worker["app_states"] == []


async def test_scenario_2_a_worker_dig_with_more_than_the_worker_is_not_started(
    api: httpx.AsyncClient, queue: str
) -> None:
    await worker_dig(api, queue, apps=f"worker:flightdeck-worker:{queue}, web:helm")
    await register(api, queue)
    await instantiate_app_dig(api, queue)

    run = await hook_run(api, "failed", "succeeded")
    [check] = run["checks"]
    assert check["scenario"].startswith("2:")
    assert "holds worker (flightdeck-worker), web (helm)" in check["detail"]


async def test_scenario_3_an_unregistered_queue_is_a_warning_and_the_hook_still_runs(
    api: httpx.AsyncClient, stack: Stack, queue: str, tmp_path: Path
) -> None:
    # The queue's worker is "dealt with externally": this test runs it.
    async with Worker(
        stack.client,
        task_queue=queue,
        workflows=HOOK_WORKFLOWS,
        activities=HookActivities(tmp_path).all(),
    ):
        await instantiate_app_dig(api, queue)
        run = await hook_run(api, "succeeded", "failed")
    assert run["status"] == "succeeded", run
    [check] = run["checks"]
    assert check["scenario"].startswith("3:") and check["outcome"] == "warning"
    assert run["cleanup"] == []
    audit = (await api.get("/api/v1/audit", params={"target_id": run["id"]})).json()
    [warning] = [e for e in audit["items"] if e["action"] == "tac.worker.unregistered"]
    assert queue in warning["message"]


async def test_a_failing_hook_still_cleans_up_its_worker(
    api: httpx.AsyncClient, stack: Stack, queue: str
) -> None:
    worker_id = await worker_dig(api, queue)
    await register(api, queue)
    app_id = await instantiate_app_dig(api, queue, {"fail": True})

    run = await hook_run(api, "failed", "succeeded")
    assert run["status"] == "failed" and "hook asked to fail" in run["status_reason"]
    assert run["cleanup"][0]["outcome"] == "terminated"
    worker = await resting(api, worker_id, "terminated")
    pid = hook_record_pid(stack, run)
    assert pid is None or gone(pid)
    assert worker_pid(worker) is None or gone(worker_pid(worker) or 0)
    await resting(api, app_id, "failed")


def hook_record_pid(stack: Stack, run: dict[str, Any]) -> int | None:
    path = stack.settings.data_dir / "hooks" / f"{run['hooks'][0]['workflow_id']}.json"
    return json.loads(path.read_text())["pid"] if path.exists() else None


async def test_a_cancelled_hook_run_cleans_up_its_worker(
    api: httpx.AsyncClient, queue: str
) -> None:
    worker_id = await worker_dig(api, queue)
    await register(api, queue)
    await instantiate_app_dig(api, queue, {"seconds": 60})

    running = await hook_run(api, "running_hooks")
    worker = await get(api, f"/api/v1/digs/{worker_id}")
    pid = worker_pid(worker)
    assert pid is not None and not gone(pid)
    cancelled = await api.post(
        f"/api/v1/hook-runs/{running['id']}/cancel", json={"actor": "bob", "reason": "abort"}
    )
    assert cancelled.status_code == 200, cancelled.text

    run = await hook_run(api, "cancelled")
    assert run["hooks"][0]["outcome"] == "cancelled"
    assert run["cleanup"][0]["outcome"] == "terminated"
    await resting(api, worker_id, "terminated")
    assert gone(pid)


async def test_a_worker_dig_that_never_gets_ready_fails_the_hook_with_the_reason_and_is_cleaned_up(
    dev_env: WorkflowEnvironment, tmp_path: Path, task_queue: str, queue: str
) -> None:
    # The readiness check is refused for good (FLIGHTDECK_FAIL=ready:invalid): the worker DIG
    # ends instantiate `failed`, the hook says why, and still terminates the DIG it started.
    async with (
        platform_stack(dev_env.client, tmp_path, task_queue, faults="ready:invalid") as stack,
        api_client(stack) as api,
    ):
        worker_id = await worker_dig(api, queue)
        await register(api, queue)
        app_id = await instantiate_app_dig(api, queue)

        run = await hook_run(api, "failed", "succeeded")
        [check] = run["checks"]
        assert check["scenario"].startswith("1:") and check["outcome"] == "failed"
        assert "DIG mig-worker failed" in check["detail"] and "ready refused" in check["detail"]
        assert run["hooks"] == []
        assert run["cleanup"][0]["outcome"] == "terminated"
        worker = await resting(api, worker_id, "terminated")
        assert {a["state"] for a in worker["app_states"]} == {"Terminated"}
        await resting(api, app_id, "failed")
