"""The sandbox orchestrator: EMCO's DIG lifecycle on this machine, really running worker apps.

Each DIG is one JSON record, `<root>/<project>/<composite app>/<version>/<dig>.json`: its lifecycle
state (`Created`, `Approved`, `Instantiated`, `Terminated`, as EMCO names them) with their
history, the deployment's progress (`Instantiating`, `Instantiated`, `Terminating`, ...), and
every app's resource state. Records are rewritten atomically; every change holds an exclusive
`flock` on `<dig>.lock` beside the record, so concurrent activities (in one worker or several)
take turns. File work runs in threads, never on the event loop.

A `flightdeck-worker` app is a real process: `flightdeck hook-worker --task-queue Q --stop-with
OWNER` in its own session, environment = this process's + `worker_env` + `TEMPORAL_ADDRESS` and
`TEMPORAL_NAMESPACE` of the client, output appended to `<dig>.<app>.log` beside the record. The
record keeps its pid and start time (the pair tells it from a later process given the same pid).
The worker exits by itself once OWNER (this process by default) is gone, so nothing outlives
Flightdeck or a test. It is ready once it is alive and Temporal lists a poller of that pid on
its task queue (DescribeTaskQueue, workflow pollers). Terminate sends SIGTERM to its process
group, waits up to `stop_grace_seconds`, then SIGKILL. Other app kinds are recorded as Applied
(and ready): the sandbox has no cluster to put them on.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, Field, ValidationError
from temporalio.api.enums.v1 import TaskQueueKind, TaskQueueType
from temporalio.api.taskqueue.v1 import PollerInfo, TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client
from temporalio.service import RPCError

from backend.domains.digs.model import AppKind, AppState, DigApp, DigRef, OrchestratorStatus
from backend.domains.digs.model import ResourceState as Resource
from backend.domains.digs.orchestrator import (
    OrchestratorError,
    OrchestratorRefused,
    ProgressCallback,
)
from backend.providers.processes import process_start
from backend.store.clock import utc_now

_T = TypeVar("_T")

DEFAULT_WORKER_COMMAND = (sys.executable, "-m", "backend.cli", "hook-worker")
"""What a worker app runs; `--task-queue Q --stop-with PID` are appended."""
STOP_GRACE_SECONDS = 10.0
"""How long a worker may take to stop after SIGTERM before it is killed."""
LOCK_WAIT_SECONDS = 60.0
"""How long an operation waits for another one on the same DIG before giving up (retryable)."""
_KILL_WAIT_SECONDS = 5.0
_POLL_SECONDS = 0.05
_SEGMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")


class Lifecycle(StrEnum):
    """A DIG's lifecycle state, as EMCO's `state.Actions` name it."""

    CREATED = "Created"
    APPROVED = "Approved"
    INSTANTIATED = "Instantiated"
    TERMINATED = "Terminated"


class Deployment(StrEnum):
    """The deployment's progress (EMCO's app context status)."""

    NONE = ""
    INSTANTIATING = "Instantiating"
    INSTANTIATED = "Instantiated"
    INSTANTIATE_FAILED = "InstantiateFailed"
    TERMINATING = "Terminating"
    TERMINATED = "Terminated"


class WorkerProcess(BaseModel):
    """A worker app's process: what tells it apart, and where its output goes."""

    pid: int
    start: str
    """Its start time as the kernel reports it ("" when it had exited before it was read)."""
    task_queue: str
    command: list[str]
    log: str
    started_at: str


class AppRecord(BaseModel):
    """One app of a DIG in the sandbox: its last resource state and, for a worker, its process."""

    app: DigApp
    state: Resource = Resource.PENDING
    detail: str = ""
    process: WorkerProcess | None = None


class LifecycleAction(BaseModel):
    """One lifecycle operation done (EMCO's `state.Actions` entry)."""

    state: Lifecycle
    at: str


class DigRecord(BaseModel):
    """The sandbox's record of one DIG."""

    dig: DigRef
    description: str = ""
    state: Lifecycle = Lifecycle.CREATED
    deployed: Deployment = Deployment.NONE
    actions: list[LifecycleAction] = Field(default_factory=list)
    apps: list[AppRecord] = Field(default_factory=list)

    def move_to(self, state: Lifecycle) -> None:
        """Set the lifecycle state, adding it to the history when it changes."""
        if self.state != state or not self.actions:
            self.actions.append(LifecycleAction(state=state, at=utc_now().isoformat()))
        self.state = state

    def app_states(self) -> list[AppState]:
        """Every app's state as recorded (ready only for a non-worker app that is applied)."""
        return [
            AppState(
                app=a.app.name,
                kind=a.app.kind,
                state=a.state,
                ready=a.state == Resource.APPLIED and a.app.kind != AppKind.WORKER,
                detail=a.detail,
            )
            for a in self.apps
        ]


class SandboxOrchestrator:
    """An `Orchestrator` that keeps DIGs as files under `root` and runs worker apps as local
    processes (see the module docstring).

    `client` returns the Temporal client (the worker's, in an activity): workers connect to its
    address and namespace, and readiness asks it for the task queue's pollers. `worker_command`
    replaces the command's prefix (`flightdeck hook-worker`); `worker_env` is added to the
    worker's environment (e.g. `FLIGHTDECK_DATA_DIR`); `owner_pid` is the process whose end
    stops the workers (default: this one).
    """

    name = "sandbox"

    def __init__(
        self,
        root: Path,
        *,
        client: Callable[[], Client],
        worker_command: Sequence[str] | None = None,
        worker_env: Mapping[str, str] | None = None,
        owner_pid: int | None = None,
        stop_grace_seconds: float = STOP_GRACE_SECONDS,
    ) -> None:
        self.root = root
        self._client = client
        self.worker_command = list(worker_command or DEFAULT_WORKER_COMMAND)
        self.worker_env = dict(worker_env or {})
        self.owner_pid = owner_pid if owner_pid is not None else os.getpid()
        self.stop_grace_seconds = stop_grace_seconds

    # -- where things are ------------------------------------------------------------------

    def record_path(self, dig: DigRef) -> Path:
        """The DIG's record; OrchestratorRefused when a name cannot be a path segment."""
        for part in (dig.project, dig.composite_app, dig.version, dig.name):
            if not _SEGMENT.fullmatch(part):
                raise OrchestratorRefused(
                    f"{part!r} cannot name a DIG part (letters, digits, '.', '_', '-')"
                )
        return self.root / dig.project / dig.composite_app / dig.version / f"{dig.name}.json"

    def log_path(self, dig: DigRef, app: str) -> Path:
        """Where a worker app's process writes its output (appended, across restarts)."""
        return self.record_path(dig).with_name(f"{dig.name}.{app}.log")

    async def record(self, dig: DigRef) -> DigRecord | None:
        """The DIG's record as stored, or None when the sandbox does not know it."""
        return await asyncio.to_thread(self._read, self.record_path(dig))

    # -- the lifecycle ---------------------------------------------------------------------

    async def create(self, dig: DigRef, apps: Sequence[DigApp], description: str) -> None:
        """Record the DIG as Created; one that exists keeps its state (while Created, its apps
        and description are replaced: EMCO lets a created DIG be edited)."""
        async with self._locked(dig):
            record = await self._load(dig)
            if record is None:
                record = DigRecord(dig=dig)
                record.move_to(Lifecycle.CREATED)
            elif record.state != Lifecycle.CREATED:
                return
            record.description = description
            record.apps = [AppRecord(app=app) for app in apps]
            await self._save(record)

    async def approve(self, dig: DigRef) -> None:
        """Created → Approved; a DIG approved already (or further along) stays as it is."""
        async with self._locked(dig):
            record = await self._require(dig)
            if record.state == Lifecycle.CREATED:
                record.move_to(Lifecycle.APPROVED)
                await self._save(record)

    async def instantiate(
        self, dig: DigRef, apps: Sequence[DigApp], progress: ProgressCallback
    ) -> list[AppState]:
        """Start every worker app's process (one already running is kept) and record the
        other apps as Applied. Refused while the DIG is not approved."""
        async with self._locked(dig):
            record = await self._require(dig)
            if record.state == Lifecycle.CREATED:
                raise OrchestratorRefused(f"DIG {_label(dig)} is not approved; approve it first")
            record.apps = _merged_apps(record, apps)
            record.move_to(Lifecycle.INSTANTIATED)
            record.deployed = Deployment.INSTANTIATING
            await self._save(record)
            progress(record.app_states())
            for app in record.apps:
                if app.app.kind == AppKind.WORKER:
                    await self._ensure_worker(dig, app)
                else:
                    app.state = Resource.APPLIED
                    app.detail = f"{app.app.kind.value} recorded by the sandbox"
                await self._save(record)
                progress(record.app_states())
            failed = any(a.state == Resource.FAILED for a in record.apps)
            record.deployed = Deployment.INSTANTIATE_FAILED if failed else Deployment.INSTANTIATED
            await self._save(record)
            return record.app_states()

    async def status(self, dig: DigRef, apps: Sequence[DigApp]) -> OrchestratorStatus:
        """The lifecycle state, deployment progress and apps; a worker app is ready when its
        process is alive and polls its task queue, Failed when its process is gone."""
        record = await self._require(dig)
        states = record.app_states()
        if record.state == Lifecycle.INSTANTIATED:
            for index, app in enumerate(record.apps):
                if app.app.kind == AppKind.WORKER and app.process is not None:
                    states[index] = await self._worker_state(app, app.process)
        known = {s.app for s in states}
        states += [AppState(app=a.name, kind=a.kind) for a in apps if a.name not in known]
        return OrchestratorStatus(
            state=record.state.value,
            deployed=record.deployed.value,
            ready=record.state == Lifecycle.INSTANTIATED
            and bool(states)
            and all(s.ready for s in states),
            resources=dict(Counter(s.state.value for s in states)),
            apps=states,
        )

    async def terminate(
        self, dig: DigRef, apps: Sequence[DigApp], progress: ProgressCallback
    ) -> list[AppState]:
        """Stop every worker app's process and mark the apps Terminated. A DIG never
        instantiated has nothing to remove: it is left as it is."""
        async with self._locked(dig):
            record = await self._require(dig)
            if record.state in (Lifecycle.CREATED, Lifecycle.APPROVED):
                return record.app_states()
            record.move_to(Lifecycle.TERMINATED)
            record.deployed = Deployment.TERMINATING
            await self._save(record)
            progress(record.app_states())
            for app in record.apps:
                if app.process is not None:
                    app.detail = await self._stop(app.process)
                else:
                    app.detail = "removed"
                app.state = Resource.TERMINATED
                await self._save(record)
                progress(record.app_states())
            record.deployed = Deployment.TERMINATED
            await self._save(record)
            return record.app_states()

    async def delete(self, dig: DigRef) -> None:
        """Forget the DIG (its logs stay); refused while it is instantiated or a worker of it
        still runs. Deleting an unknown DIG does nothing."""
        async with self._locked(dig):
            record = await self._load(dig)
            if record is None:
                return
            if record.state == Lifecycle.INSTANTIATED or record.deployed == Deployment.TERMINATING:
                raise OrchestratorRefused(
                    f"DIG {_label(dig)} is {record.state.value.lower()}; terminate it first"
                )
            for app in record.apps:
                if app.process is not None and await _alive(app.process):
                    raise OrchestratorRefused(
                        f"DIG {_label(dig)}: worker pid {app.process.pid} of app"
                        f" {app.app.name} still runs; terminate the DIG again"
                    )
            await _to_completion(self.record_path(dig).unlink, True)

    async def aclose(self) -> None:
        """Nothing to release: worker processes belong to their DIGs, not to this object."""

    # -- worker processes ------------------------------------------------------------------

    async def _ensure_worker(self, dig: DigRef, app: AppRecord) -> None:
        """Keep the app's worker if it runs on the right queue, else start one."""
        queue = app.app.task_queue or ""
        running = app.process
        if running is not None and await _alive(running):
            if running.task_queue == queue:
                app.state = Resource.APPLIED
                app.detail = f"pid {running.pid} running on {queue}"
                return
            await self._stop(running)
        client = self._client()
        env = {
            **os.environ,
            **self.worker_env,
            "TEMPORAL_ADDRESS": client.service_client.config.target_host,
            "TEMPORAL_NAMESPACE": client.namespace,
        }
        command = [
            *self.worker_command,
            "--task-queue",
            queue,
            "--stop-with",
            str(self.owner_pid),
        ]
        log = self.log_path(dig, app.app.name)
        try:
            process = await _to_completion(_spawn, command, env, log, queue)
        except OSError as err:
            raise OrchestratorError(
                f"cannot start the worker of app {app.app.name}: {err.strerror or err}"
            ) from None
        app.process = process
        if process.start:
            app.state = Resource.APPLIED
            app.detail = f"pid {process.pid} started on {queue}"
        else:
            app.state = Resource.FAILED
            app.detail = f"pid {process.pid} exited at once{await _log_hint(log)}"

    async def _worker_state(self, app: AppRecord, process: WorkerProcess) -> AppState:
        """A worker app's state now: Failed when its process is gone, ready when Temporal
        lists a poller of its pid on its task queue."""
        state = AppState(app=app.app.name, kind=app.app.kind, state=app.state)
        if not await _alive(process):
            log = Path(process.log)
            state.state = Resource.FAILED
            state.detail = f"pid {process.pid} is not running{await _log_hint(log)}"
            return state
        pollers = await self._pollers(process.task_queue)
        mine = [p for p in pollers if p.identity.startswith(f"{process.pid}@")]
        state.state = Resource.APPLIED
        state.ready = bool(mine)
        if mine:
            count = f"{len(mine)} poller" + ("s" if len(mine) > 1 else "")
            state.detail = f"pid {process.pid}, {count} on {process.task_queue}"
        else:
            others = f" ({len(pollers)} from other processes)" if pollers else ""
            state.detail = f"pid {process.pid}, no poller on {process.task_queue} yet{others}"
        return state

    async def _pollers(self, task_queue: str) -> list[PollerInfo]:
        """The workflow pollers Temporal lists on the task queue."""
        client = self._client()
        request = DescribeTaskQueueRequest(
            namespace=client.namespace,
            task_queue=TaskQueue(name=task_queue, kind=TaskQueueKind.TASK_QUEUE_KIND_NORMAL),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
        )
        try:
            response = await client.workflow_service.describe_task_queue(request)
        except RPCError as err:
            raise OrchestratorError(f"cannot describe task queue {task_queue}: {err}") from None
        return list(response.pollers)

    async def _stop(self, process: WorkerProcess) -> str:
        """SIGTERM the worker's process group, SIGKILL it after the grace period; what
        happened, in a few words. OrchestratorError when it does not go."""
        if not await _alive(process):
            return f"pid {process.pid} gone"
        _signal_group(process.pid, signal.SIGTERM)
        if await _gone(process, self.stop_grace_seconds):
            return f"pid {process.pid} stopped"
        _signal_group(process.pid, signal.SIGKILL)
        if await _gone(process, _KILL_WAIT_SECONDS):
            return f"pid {process.pid} killed after {self.stop_grace_seconds:g} s"
        raise OrchestratorError(f"worker pid {process.pid} does not stop, even when killed")

    # -- records ---------------------------------------------------------------------------

    @asynccontextmanager
    async def _locked(self, dig: DigRef) -> AsyncIterator[None]:
        """Hold the DIG's lock (polled, so waiting never blocks the loop or a thread)."""
        path = self.record_path(dig).with_suffix(".lock")
        fd = await _to_completion(_open_lock, path)
        try:
            deadline = time.monotonic() + LOCK_WAIT_SECONDS
            while not _try_lock(fd):
                if time.monotonic() >= deadline:
                    raise OrchestratorError(
                        f"DIG {_label(dig)} stays locked by another operation on it"
                    )
                await asyncio.sleep(_POLL_SECONDS / 2)
            yield
        finally:
            os.close(fd)

    async def _load(self, dig: DigRef) -> DigRecord | None:
        return await asyncio.to_thread(self._read, self.record_path(dig))

    async def _require(self, dig: DigRef) -> DigRecord:
        record = await self._load(dig)
        if record is None:
            raise OrchestratorRefused(f"DIG {_label(dig)} does not exist in the sandbox")
        return record

    async def _save(self, record: DigRecord) -> None:
        text = record.model_dump_json(indent=2)
        await _to_completion(_write_atomically, self.record_path(record.dig), text)

    @staticmethod
    def _read(path: Path) -> DigRecord | None:
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError as err:
            raise OrchestratorError(f"cannot read {path}: {err.strerror or err}") from None
        try:
            return DigRecord.model_validate_json(text)
        except ValidationError:
            raise OrchestratorRefused(
                f"the sandbox record {path} is corrupt; move it away to start over"
            ) from None


def _merged_apps(record: DigRecord, apps: Sequence[DigApp]) -> list[AppRecord]:
    """The apps to deploy (`apps`, else the recorded ones), keeping what is recorded about each;
    a recorded app no longer asked for stays while it has a process (terminate stops it)."""
    recorded = {a.app.name: a for a in record.apps}
    if not apps:
        return list(record.apps)
    merged = []
    for app in apps:
        known = recorded.pop(app.name, None)
        merged.append(
            known.model_copy(update={"app": app}) if known is not None else AppRecord(app=app)
        )
    merged += [a for a in recorded.values() if a.process is not None]
    return merged


def _spawn(command: list[str], env: dict[str, str], log: Path, queue: str) -> WorkerProcess:
    """Start a worker in its own session, output appended to `log`; reaped by a thread."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as output:
        output.write(f"--- {utc_now().isoformat()} {shlex.join(command)}\n".encode())
        output.flush()
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
            close_fds=True,
        )
    threading.Thread(target=process.wait, name=f"reap-{process.pid}", daemon=True).start()
    return WorkerProcess(
        pid=process.pid,
        start=process_start(process.pid) or "",
        task_queue=queue,
        command=command,
        log=str(log),
        started_at=utc_now().isoformat(),
    )


async def _alive(process: WorkerProcess) -> bool:
    """Whether the recorded process still runs (the same process: pid and start time)."""
    if not process.start:
        return False
    return await asyncio.to_thread(process_start, process.pid) == process.start


async def _gone(process: WorkerProcess, seconds: float) -> bool:
    """Whether the process is gone within `seconds` (polled)."""
    deadline = time.monotonic() + seconds
    while await _alive(process):
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(_POLL_SECONDS)
    return True


def _signal_group(pid: int, sig: signal.Signals) -> None:
    """Signal the worker and anything it started (its own session: its group is its pid)."""
    try:
        if os.getpgid(pid) == pid:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


async def _log_hint(log: Path) -> str:
    """`: <last line of the log>` (or `, see <log>`) for a detail saying a worker is gone."""
    last = await asyncio.to_thread(_last_line, log)
    return f": {last}" if last else f", see {log}"


def _last_line(path: Path, limit: int = 200) -> str:
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - 4096))
            tail = handle.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
    lines = [line.strip() for line in tail.splitlines() if line.strip()]
    if not lines or lines[-1].startswith("--- "):
        return ""
    flat = " ".join(lines[-1].split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _label(dig: DigRef) -> str:
    return f"{dig.project}/{dig.composite_app}/{dig.version}/{dig.name}"


def _open_lock(path: Path) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    return os.open(path, os.O_RDWR | os.O_CREAT, 0o644)


def _try_lock(fd: int) -> bool:
    """Take the exclusive lock if it is free (a non-blocking call)."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _write_atomically(path: Path, text: str) -> None:
    """Write a temp file beside `path`, flush it to disk, rename it over `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with tmp.open("w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


async def _to_completion(function: Callable[..., _T], *args: Any) -> _T:
    """Run `function` in a thread and wait for it even when cancelled (then re-raise the
    cancellation): a record is never half-written, a process never started unrecorded."""
    task = asyncio.ensure_future(asyncio.to_thread(function, *args))
    cancelled = False
    while not task.done():
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            if task.done() and task.cancelled():
                raise
            cancelled = True
    if cancelled:
        raise asyncio.CancelledError
    return task.result()
