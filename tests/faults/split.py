"""A split Flightdeck under fault: `flightdeck api` (owns the store) and `flightdeck worker`
(reports to it over HTTP) as real processes on their own data dirs and task queue, a client that
counts every HTTP answer, and a monitor of what the store says about each tracked entity."""

from __future__ import annotations

import asyncio
import os
import socket
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from temporalio.testing import WorkflowEnvironment

from backend.domain.catalog import all_specs
from tests.e2e.processes import WORKER_READY, Running, start

FINAL = {"labs": "cancelled", "tenants": "DEPROVISIONED", "infra-runs": "applied"}
"""Where each kind of entity ends in the fault workload."""
ROLLED_BACK = "PROVISION_FAILED"
"""A tenant whose forward step lost all its (three) attempts to kills is rolled back, by design:
an end too, when the sandbox holds nothing of it afterwards."""
FAILED = {"labs": {"failed", "expired"}, "tenants": set(), "infra-runs": {"failed"}}
"""Ends that mean the workload failed (waiting on is pointless)."""
POLL_SECONDS = 0.1


@dataclass
class Tracked:
    """One entity as the store reports it, with the moments its status or percent moved."""

    plural: str
    id: str
    status: str = ""
    percent: int = -1
    moved_at: list[float] = field(default_factory=list)

    @property
    def final(self) -> bool:
        """Reached the end the workload drives it to (or a failed end)."""
        ends = (
            {FINAL[self.plural], ROLLED_BACK} if self.plural == "tenants" else {FINAL[self.plural]}
        )
        return self.status in ends or self.status in FAILED[self.plural]

    def first_move_after(self, moment: float) -> float | None:
        """When the entity first moved after `moment` (None: never)."""
        return next((at for at in self.moved_at if at > moment), None)


def temporal_address(temporal: WorkflowEnvironment | str) -> str:
    """host:port of a Temporal frontend: the session's dev server, or one given as is."""
    if isinstance(temporal, str):
        return temporal
    return temporal.client.service_client.config.target_host


def process_env(address: str, data_dir: Path, queue: str, **extra: str) -> dict[str, str]:
    """A clean environment for a flightdeck process (as `tests.e2e.processes.flightdeck_env`,
    for any Temporal address): its own data dir, every domain on `queue`, no demo latency."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TEMPORAL_", "FLIGHTDECK_"))}
    env.update(
        TEMPORAL_ADDRESS=address,
        TEMPORAL_NAMESPACE="flightdeck",
        FLIGHTDECK_DATA_DIR=str(data_dir),
        FLIGHTDECK_SANDBOX_STEP_SECONDS="0",
        PYTHONUNBUFFERED="1",
    )
    env.update({spec.task_queue_env: queue for spec in all_specs()})
    env.update(extra)
    return env


class SplitFlightdeck:
    """The API process, the current worker process, and an HTTP client of the API."""

    def __init__(
        self,
        temporal: WorkflowEnvironment | str,
        root: Path,
        *,
        step_seconds: float,
        api_port: int = 0,
        **extra: str,
    ) -> None:
        queue = f"faults-{uuid.uuid4().hex[:8]}"
        address = temporal_address(temporal)
        self.root = root
        self.api_port = api_port
        """The API's port (0: any free one, chosen anew at every start)."""
        self.api_dir, self.worker_dir = root / "api", root / "worker"
        self.api_env = process_env(address, self.api_dir, queue, **extra)
        self.worker_env = process_env(
            address, self.worker_dir, queue, FLIGHTDECK_SANDBOX_STEP_SECONDS=str(step_seconds)
        )
        self.api: Running | None = None
        self.worker: Running | None = None
        self.started: list[Running] = []
        self.client: httpx.AsyncClient | None = None
        self.answers: Counter[int] = Counter()
        """HTTP status of every answer the API gave this harness (0: no answer)."""
        self.slowest = 0.0
        """Seconds of the slowest API call (answered or not)."""
        self.posting = 0
        """POSTs of this harness sent and not answered yet (creates and actions in flight)."""
        self.worker_starts: list[float] = []
        """Seconds each worker took from launch to its ready line."""

    @property
    def sandbox(self) -> Path:
        """Where the workers' sandbox providers keep what they make."""
        return self.worker_dir / "sandbox"

    @property
    def database(self) -> Path:
        """The API's SQLite store."""
        return self.api_dir / "flightdeck.db"

    @property
    def token(self) -> str:
        """The API's bearer token (written by its first start, kept across restarts)."""
        return (self.api_dir / "api-token").read_text().strip()

    async def start_api(self) -> None:
        """Start `flightdeck api` on `api_port` (0: a free one); a client with its token the
        first time (a restart on the same port keeps it)."""
        self.api = await start(
            "api", "--port", str(self.api_port), env=self.api_env, log_dir=self.root
        )
        self.started.append(self.api)
        if self.client is None:
            self.client = httpx.AsyncClient(
                base_url=self.api.url, headers={"Authorization": f"Bearer {self.token}"}, timeout=30
            )

    async def kill_api(self) -> float:
        """kill -9 the API and reap it; the moment of the kill."""
        assert self.api is not None
        killed_at = time.monotonic()
        self.api.kill()
        await self.api.process.wait()
        self.api = None
        return killed_at

    async def start_worker(self) -> None:
        """Start a `flightdeck worker` reporting to the API; wait for its ready line."""
        assert self.api is not None
        launched = time.monotonic()
        self.worker = await start(
            "worker",
            "--api",
            self.api.url,
            "--token-file",
            str(self.api_dir / "api-token"),
            env=self.worker_env,
            log_dir=self.root,
            ready=WORKER_READY,
        )
        self.started.append(self.worker)
        self.worker_starts.append(time.monotonic() - launched)

    async def kill_worker(self) -> float:
        """kill -9 the current worker and reap it; the moment of the kill."""
        assert self.worker is not None
        killed_at = time.monotonic()
        self.worker.kill()
        await self.worker.process.wait()
        self.worker = None
        return killed_at

    async def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response | None:
        """One API call; None when no answer came (counted either way)."""
        assert self.client is not None
        asked = time.monotonic()
        posting = method == "POST"
        self.posting += posting
        try:
            response = await self.client.request(method, path, **kwargs)
        except httpx.HTTPError:
            self.answers[0] += 1
            return None
        finally:
            self.posting -= posting
            self.slowest = max(self.slowest, time.monotonic() - asked)
        self.answers[response.status_code] += 1
        return response

    async def get(self, path: str, **params: Any) -> Any:
        """GET JSON, retrying (bounded) until a 200."""
        deadline = time.monotonic() + 30
        while True:
            response = await self.request("GET", path, params=params)
            if response is not None and response.status_code == 200:
                return response.json()
            if time.monotonic() > deadline:
                detail = "no answer" if response is None else response.text
                raise AssertionError(f"GET {path}: {detail}")
            await asyncio.sleep(POLL_SECONDS)

    async def stop(self) -> None:
        """Kill and reap every process this harness started; close the client."""
        for process in self.started:
            process.kill()
            await process.process.wait()
        if self.client is not None:
            await self.client.aclose()


@asynccontextmanager
async def split_flightdeck(
    temporal: WorkflowEnvironment | str,
    root: Path,
    *,
    step_seconds: float,
    api_port: int = 0,
    **extra: str,
) -> AsyncIterator[SplitFlightdeck]:
    """An API and one worker against `temporal` (the session's dev server, or an address),
    running; every process reaped at the end whatever happened."""
    flightdeck = SplitFlightdeck(
        temporal, root, step_seconds=step_seconds, api_port=api_port, **extra
    )
    try:
        await flightdeck.start_api()
        await flightdeck.start_worker()
        yield flightdeck
    finally:
        await flightdeck.stop()


class Monitor:
    """Polls the list endpoints (the store, no Temporal query) and keeps each tracked entity's
    status and the moments it moved."""

    def __init__(self, flightdeck: SplitFlightdeck) -> None:
        self._flightdeck = flightdeck
        self.entities: dict[str, Tracked] = {}

    def track(self, plural: str, entity_id: str) -> Tracked:
        """Follow one entity from now on."""
        tracked = self.entities.setdefault(entity_id, Tracked(plural, entity_id))
        return tracked

    def in_flight(self) -> list[Tracked]:
        """The tracked entities not at their end yet."""
        return [t for t in self.entities.values() if not t.final]

    async def poll(self) -> None:
        """Read every kind's list once and note what moved."""
        for plural in FINAL:
            response = await self._flightdeck.request(
                "GET", f"/api/v1/{plural}", params={"limit": 1000}
            )
            if response is None or response.status_code != 200:
                continue
            now = time.monotonic()
            for item in response.json()["items"]:
                tracked = self.entities.get(item["id"])
                if tracked is None:
                    continue
                if (item["status"], item["percent"]) != (tracked.status, tracked.percent):
                    tracked.status, tracked.percent = item["status"], item["percent"]
                    tracked.moved_at.append(now)

    @asynccontextmanager
    async def running(self) -> AsyncIterator[Monitor]:
        """Poll in the background for the duration of the block."""

        async def loop() -> None:
            while True:
                await self.poll()
                await asyncio.sleep(POLL_SECONDS)

        task = asyncio.create_task(loop())
        try:
            yield self
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def wait_status(self, tracked: Tracked, *statuses: str, timeout: float) -> None:
        """Until the store says one of `statuses` (AssertionError after `timeout`, or at once
        when the entity ended otherwise)."""
        deadline = time.monotonic() + timeout
        while tracked.status not in statuses:
            if tracked.status in FAILED[tracked.plural]:
                body = await self._flightdeck.get(f"/api/v1/{tracked.plural}/{tracked.id}")
                progress = body.get("progress") or {}
                raise AssertionError(
                    f"{tracked.plural} {tracked.id} ended {tracked.status}: "
                    f"{body.get('status_reason')}; last error {progress.get('last_error')}; "
                    f"steps {[(s['name'], s.get('attempts')) for s in progress.get('steps', [])]}"
                )
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{tracked.plural} {tracked.id} not {'/'.join(statuses)} within {timeout} s; "
                    f"still {tracked.status or 'unseen'}"
                )
            await asyncio.sleep(POLL_SECONDS / 2)


def free_port() -> int:
    """A loopback port nothing listens on now, for a process that must come back on the same
    port after a kill (the kernel may hand it out again meanwhile: rare, and the start fails)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port
