"""The sandbox orchestrator against the real dev server: a worker app is a real `flightdeck
hook-worker` process that polls its task queue and runs the sample hook workflows; terminate,
a kill and the end of its owner really end it. The hook workflows themselves run on an
in-process worker."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import PendingActivityState
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ApplicationError, CancelledError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from backend.domains.digs.hook_activities import HookActivities
from backend.domains.digs.hook_workflows import HOOK_RECORD_WORKFLOW, HOOK_WORKFLOWS
from backend.domains.digs.model import AppKind, AppState, DigApp, DigRef, ResourceState
from backend.domains.digs.orchestrator import OrchestratorRefused
from backend.domains.digs.sandbox_orchestrator import (
    DigRecord,
    SandboxOrchestrator,
    WorkerProcess,
)
from backend.providers.processes import process_start
from tests.stack import eventually

READY_TIMEOUT = 15.0
"""A worker process imports, connects and polls within this (it takes 1-2 s)."""


def dig_ref(name: str = "") -> DigRef:
    return DigRef(
        project="proj",
        composite_app="hooks",
        version="v1",
        name=name or f"dig-{uuid.uuid4().hex[:6]}",
    )


def worker_app(queue: str, name: str = "worker") -> DigApp:
    return DigApp(name=name, kind=AppKind.WORKER, task_queue=queue)


def recorded_processes(root: Path) -> Iterator[WorkerProcess]:
    """Every worker process the records under `root` name."""
    for path in root.rglob("*.json"):
        record = DigRecord.model_validate_json(path.read_text())
        yield from (a.process for a in record.apps if a.process is not None)


def alive(process: WorkerProcess) -> bool:
    return bool(process.start) and process_start(process.pid) == process.start


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """The worker processes' data dir (their hook records and logs)."""
    return tmp_path / "data"


@pytest.fixture
async def orchestrator(
    dev_env: WorkflowEnvironment, tmp_path: Path, data_dir: Path
) -> AsyncIterator[SandboxOrchestrator]:
    """A sandbox orchestrator on the dev server; any worker still running afterwards is
    killed, so no test leaves a process behind."""
    root = tmp_path / "digs"
    yield SandboxOrchestrator(
        root,
        client=lambda: dev_env.client,
        worker_env={"FLIGHTDECK_DATA_DIR": str(data_dir), "PYTHONUNBUFFERED": "1"},
        stop_grace_seconds=5.0,
    )
    for process in recorded_processes(root):
        if alive(process):
            os.killpg(process.pid, signal.SIGKILL)


async def ready_status(orchestrator: SandboxOrchestrator, dig: DigRef, apps: list[DigApp]) -> None:
    await eventually(
        lambda: orchestrator.status(dig, apps), lambda s: s.ready, timeout=READY_TIMEOUT
    )


async def worker_of(
    orchestrator: SandboxOrchestrator, dig: DigRef, app: str = "worker"
) -> WorkerProcess:
    record = await orchestrator.record(dig)
    assert record is not None
    (process,) = [a.process for a in record.apps if a.app.name == app and a.process is not None]
    return process


async def process_gone(pid: int) -> None:
    """Until `os.kill(pid, 0)` says there is no such process (reaped, not only exited)."""

    async def exists() -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True

    await eventually(exists, lambda found: not found, timeout=READY_TIMEOUT)


async def test_worker_app_runs_hook_workflows_until_terminated(
    orchestrator: SandboxOrchestrator,
    dev_env: WorkflowEnvironment,
    task_queue: str,
    data_dir: Path,
) -> None:
    dig = dig_ref()
    apps = [worker_app(task_queue), DigApp(name="web", kind=AppKind.HELM)]
    moves: list[list[AppState]] = []
    await orchestrator.create(dig, apps, "hook workers")
    await orchestrator.approve(dig)

    states = await orchestrator.instantiate(dig, apps, moves.append)

    assert [(s.app, s.state) for s in moves[0]] == [
        ("worker", ResourceState.PENDING),
        ("web", ResourceState.PENDING),
    ]
    assert [(s.app, s.state) for s in states] == [
        ("worker", ResourceState.APPLIED),
        ("web", ResourceState.APPLIED),
    ]
    assert moves[-1] == states
    process = await worker_of(orchestrator, dig)
    assert alive(process)
    assert process.command[-4:] == ["--task-queue", task_queue, "--stop-with", str(os.getpid())]

    await ready_status(orchestrator, dig, apps)
    status = await orchestrator.status(dig, apps)
    assert (status.state, status.deployed, status.resources) == (
        "Instantiated",
        "Instantiated",
        {"Applied": 2},
    )
    assert status.apps[0].detail == f"pid {process.pid}, 1 poller on {task_queue}"

    workflow_id = f"hook-{uuid.uuid4().hex[:8]}"
    result = await dev_env.client.execute_workflow(
        HOOK_RECORD_WORKFLOW,
        {"message": "hello"},
        id=workflow_id,
        task_queue=task_queue,
        execution_timeout=timedelta(seconds=20),
    )
    recorded = json.loads((data_dir / "hooks" / f"{workflow_id}.json").read_text())
    assert result == {"pid": process.pid, "path": str(data_dir / "hooks" / f"{workflow_id}.json")}
    assert (recorded["pid"], recorded["task_queue"], recorded["params"]) == (
        process.pid,
        task_queue,
        {"message": "hello"},
    )

    again = await orchestrator.instantiate(dig, apps, moves.append)
    assert again[0].detail == f"pid {process.pid} running on {task_queue}"
    assert await worker_of(orchestrator, dig) == process
    log = Path(process.log).read_text()
    assert log.count("--- ") == 1, log

    moves.clear()
    terminated = await orchestrator.terminate(dig, apps, moves.append)

    assert [s.state for s in terminated] == [ResourceState.TERMINATED] * 2
    assert moves[-1] == terminated
    assert terminated[0].detail == f"pid {process.pid} stopped"
    await process_gone(process.pid)
    status = await orchestrator.status(dig, apps)
    assert (status.state, status.deployed, status.ready) == ("Terminated", "Terminated", False)
    await orchestrator.terminate(dig, apps, moves.append)  # idempotent
    await orchestrator.delete(dig)
    assert await orchestrator.record(dig) is None


async def test_killed_worker_is_reported_failed_and_instantiate_starts_another(
    orchestrator: SandboxOrchestrator, task_queue: str
) -> None:
    dig = dig_ref()
    apps = [worker_app(task_queue)]
    await orchestrator.create(dig, apps, "")
    await orchestrator.approve(dig)
    await orchestrator.instantiate(dig, apps, lambda _states: None)
    first = await worker_of(orchestrator, dig)

    os.killpg(first.pid, signal.SIGKILL)

    status = await eventually(
        lambda: orchestrator.status(dig, apps),
        lambda s: s.apps[0].state == ResourceState.FAILED,
        timeout=READY_TIMEOUT,
    )
    assert not status.ready and not status.apps[0].ready
    assert status.apps[0].detail.startswith(f"pid {first.pid} is not running")
    assert status.resources == {"Failed": 1}

    states = await orchestrator.instantiate(dig, apps, lambda _states: None)
    second = await worker_of(orchestrator, dig)
    assert second.pid != first.pid and alive(second)
    assert states[0].detail == f"pid {second.pid} started on {task_queue}"
    await orchestrator.terminate(dig, apps, lambda _states: None)
    assert not alive(second)


async def test_worker_stops_by_itself_when_its_owner_is_gone(
    dev_env: WorkflowEnvironment, tmp_path: Path, data_dir: Path, task_queue: str
) -> None:
    owner = await asyncio.create_subprocess_exec(
        sys.executable, "-c", "import time; time.sleep(120)"
    )
    root = tmp_path / "owned"
    orchestrator = SandboxOrchestrator(
        root,
        client=lambda: dev_env.client,
        worker_env={"FLIGHTDECK_DATA_DIR": str(data_dir)},
        owner_pid=owner.pid,
    )
    dig = dig_ref()
    apps = [worker_app(task_queue)]
    try:
        await orchestrator.create(dig, apps, "")
        await orchestrator.approve(dig)
        await orchestrator.instantiate(dig, apps, lambda _states: None)
        process = await worker_of(orchestrator, dig)
        assert process.command[-2:] == ["--stop-with", str(owner.pid)]
        await ready_status(orchestrator, dig, apps)

        owner.kill()
        await owner.wait()

        await process_gone(process.pid)
        status = await orchestrator.status(dig, apps)
        assert status.apps[0].state == ResourceState.FAILED
        assert "stopped" in Path(process.log).read_text()
    finally:
        if owner.returncode is None:
            owner.kill()
            await owner.wait()
        for leftover in recorded_processes(root):
            if alive(leftover):
                os.killpg(leftover.pid, signal.SIGKILL)


async def test_other_apps_are_recorded_as_applied_and_ready(
    orchestrator: SandboxOrchestrator,
) -> None:
    dig = dig_ref()
    apps = [DigApp(name="web", kind=AppKind.HELM), DigApp(name="cfg", kind=AppKind.MANIFEST)]
    await orchestrator.create(dig, apps, "no workers")
    await orchestrator.approve(dig)

    states = await orchestrator.instantiate(dig, apps, lambda _states: None)

    assert [(s.app, s.state, s.ready) for s in states] == [
        ("web", ResourceState.APPLIED, True),
        ("cfg", ResourceState.APPLIED, True),
    ]
    status = await orchestrator.status(dig, apps)
    assert (status.state, status.ready, status.resources) == ("Instantiated", True, {"Applied": 2})
    stored = json.loads(orchestrator.record_path(dig).read_text())
    assert [a["state"] for a in stored["actions"]] == ["Created", "Approved", "Instantiated"]
    assert [a["state"] for a in stored["apps"]] == ["Applied", "Applied"]


async def test_lifecycle_rules_follow_emco(orchestrator: SandboxOrchestrator) -> None:
    dig = dig_ref()
    apps = [DigApp(name="web")]
    with pytest.raises(OrchestratorRefused, match="does not exist"):
        await orchestrator.status(dig, apps)
    await orchestrator.delete(dig)  # unknown: nothing to do
    await orchestrator.create(dig, apps, "")

    with pytest.raises(OrchestratorRefused, match="not approved"):
        await orchestrator.instantiate(dig, apps, lambda _states: None)
    assert [s.state for s in await orchestrator.terminate(dig, apps, lambda _s: None)] == [
        ResourceState.PENDING
    ]

    await orchestrator.approve(dig)
    await orchestrator.approve(dig)  # idempotent
    await orchestrator.create(dig, [DigApp(name="other")], "")  # exists: left as it is
    await orchestrator.instantiate(dig, apps, lambda _states: None)
    with pytest.raises(OrchestratorRefused, match="terminate it first"):
        await orchestrator.delete(dig)
    await orchestrator.terminate(dig, apps, lambda _states: None)
    await orchestrator.delete(dig)

    assert await orchestrator.record(dig) is None
    with pytest.raises(OrchestratorRefused, match="cannot name"):
        await orchestrator.status(dig.model_copy(update={"name": "../x"}), apps)


async def test_concurrent_operations_on_one_dig_take_turns(
    orchestrator: SandboxOrchestrator,
) -> None:
    dig = dig_ref()
    apps = [DigApp(name=f"app-{n}") for n in range(5)]
    await orchestrator.create(dig, apps, "")
    await orchestrator.approve(dig)

    results = await asyncio.gather(
        *(orchestrator.instantiate(dig, apps, lambda _states: None) for _ in range(4))
    )

    assert all([s.state for s in r] == [ResourceState.APPLIED] * 5 for r in results)
    record = await orchestrator.record(dig)
    assert record is not None
    assert [a.state for a in record.actions].count("Instantiated") == 1


@pytest.fixture
async def hook_worker(
    dev_env: WorkflowEnvironment, task_queue: str, data_dir: Path
) -> AsyncIterator[Worker]:
    """The sample hook workflows on an in-process worker."""
    worker = Worker(
        dev_env.client,
        task_queue=task_queue,
        workflows=HOOK_WORKFLOWS,
        activities=HookActivities(data_dir).all(),
        max_heartbeat_throttle_interval=timedelta(seconds=1),
        default_heartbeat_throttle_interval=timedelta(seconds=1),
    )
    async with worker:
        yield worker


async def test_hook_asked_to_fail_fails_for_good(
    hook_worker: Worker, dev_env: WorkflowEnvironment, task_queue: str, data_dir: Path
) -> None:
    workflow_id = f"hook-{uuid.uuid4().hex[:8]}"
    with pytest.raises(WorkflowFailureError) as failed:
        await dev_env.client.execute_workflow(
            HOOK_RECORD_WORKFLOW,
            {"message": "no", "fail": True},
            id=workflow_id,
            task_queue=task_queue,
            execution_timeout=timedelta(seconds=20),
        )

    cause = failed.value.cause
    assert isinstance(cause, ApplicationError)
    assert (cause.message, cause.type) == ("hook asked to fail", "HookAskedToFail")
    history = await dev_env.client.get_workflow_handle(workflow_id).fetch_history()
    attempts = [
        e.activity_task_started_event_attributes.attempt
        for e in history.events
        if e.HasField("activity_task_started_event_attributes")
    ]
    assert attempts == [1]
    assert json.loads((data_dir / "hooks" / f"{workflow_id}.json").read_text())["params"] == {
        "message": "no",
        "fail": True,
    }


async def test_hook_with_bad_params_fails_without_running(
    hook_worker: Worker, dev_env: WorkflowEnvironment, task_queue: str
) -> None:
    with pytest.raises(WorkflowFailureError) as failed:
        await dev_env.client.execute_workflow(
            HOOK_RECORD_WORKFLOW,
            {"seconds": "soon"},
            id=f"hook-{uuid.uuid4().hex[:8]}",
            task_queue=task_queue,
            execution_timeout=timedelta(seconds=20),
        )

    cause = failed.value.cause
    assert isinstance(cause, ApplicationError)
    assert cause.message.startswith("bad hook params: seconds")


async def test_cancelled_hook_stops_waiting(
    hook_worker: Worker, dev_env: WorkflowEnvironment, task_queue: str, data_dir: Path
) -> None:
    workflow_id = f"hook-{uuid.uuid4().hex[:8]}"
    handle = await dev_env.client.start_workflow(
        HOOK_RECORD_WORKFLOW,
        {"message": "slow", "seconds": 60},
        id=workflow_id,
        task_queue=task_queue,
        execution_timeout=timedelta(seconds=120),
    )

    async def started() -> bool:
        described = await handle.describe()
        pending = described.raw_description.pending_activities
        return (
            bool(pending)
            and pending[0].state == PendingActivityState.PENDING_ACTIVITY_STATE_STARTED
        )

    await eventually(started, bool, timeout=10)
    await handle.cancel()

    with pytest.raises(WorkflowFailureError) as failed:
        await asyncio.wait_for(handle.result(), timeout=15)
    assert isinstance(failed.value.cause, CancelledError)
    assert not (data_dir / "hooks" / f"{workflow_id}.json").exists()
