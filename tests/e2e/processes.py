"""Flightdeck commands as real processes for end-to-end tests: start, wait until ready, stop."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from backend.domain.catalog import all_specs

API_READY = "Flightdeck API ready at "
WORKER_READY = "Flightdeck worker ready on "


def flightdeck_env(
    dev_env: WorkflowEnvironment, data_dir: Path, queue: str, **extra: str
) -> dict[str, str]:
    """A clean environment for a flightdeck process: the test's dev server, its own data dir,
    every domain on the test's own task queue, no demo latency."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TEMPORAL_", "FLIGHTDECK_"))}
    env.update(
        TEMPORAL_ADDRESS=dev_env.client.service_client.config.target_host,
        TEMPORAL_NAMESPACE="flightdeck",
        FLIGHTDECK_DATA_DIR=str(data_dir),
        FLIGHTDECK_SANDBOX_STEP_SECONDS="0",
        PYTHONUNBUFFERED="1",
    )
    env.update({spec.task_queue_env: queue for spec in all_specs()})
    env.update(extra)
    return env


async def run_cli(*args: str, env: dict[str, str], timeout: float = 60) -> tuple[int, str, str]:
    """Run `flightdeck ARGS` to completion: exit code, stdout, stderr."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "backend.cli",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout)
    return proc.returncode or 0, out.decode(), err.decode()


@dataclass
class Running:
    """A flightdeck process that said it is ready."""

    process: asyncio.subprocess.Process
    ready_line: str
    stderr_path: Path

    @property
    def url(self) -> str:
        """The API URL an `api` / `backend` process printed."""
        return self.ready_line.removeprefix(API_READY).strip()

    def kill(self) -> None:
        """kill -9."""
        if self.process.returncode is None:
            self.process.kill()


async def start(
    *args: str, env: dict[str, str], log_dir: Path, ready: str = API_READY, timeout: float = 60
) -> Running:
    """Start `flightdeck ARGS` and wait for its ready line (AssertionError with its log if not)."""
    log_dir.mkdir(parents=True, exist_ok=True)
    stderr_path = log_dir / f"{args[0]}-{os.getpid()}-{id(args)}.stderr"
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "backend.cli",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=stderr_path.open("wb"),
    )
    assert proc.stdout is not None
    try:
        line = (await asyncio.wait_for(proc.stdout.readline(), timeout)).decode()
    except TimeoutError:
        proc.kill()
        raise AssertionError(
            f"{args} not ready in {timeout} s: {stderr_path.read_text()}"
        ) from None
    if not line.startswith(ready):
        proc.kill()
        raise AssertionError(f"{args} said {line!r}: {stderr_path.read_text()}")
    return Running(proc, line, stderr_path)


@asynccontextmanager
async def running(
    *args: str, env: dict[str, str], log_dir: Path, ready: str = API_READY
) -> AsyncIterator[Running]:
    """A started process for the duration of the block; killed afterwards if still running."""
    started = await start(*args, env=env, log_dir=log_dir, ready=ready)
    try:
        yield started
    finally:
        started.kill()
        await started.process.wait()
