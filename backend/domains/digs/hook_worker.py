"""`flightdeck hook-worker`: a Temporal worker running the sample TAC hook workflows on one task
queue, the process a worker DIG's app is in the sandbox.

It connects as every Flightdeck worker does (`TEMPORAL_*` settings and profiles, the pydantic
data converter, payload encryption when codec keys are configured); without TEMPORAL_ADDRESS
(or a profile) it uses the data dir's embedded dev server when one runs, and never starts one.
It stops gracefully on SIGTERM / SIGINT, or once the `--stop-with` process is gone (checked every
second), so a worker started for a DIG never outlives the Flightdeck that started it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
from datetime import timedelta

from temporalio.worker import Worker

from backend.config import (
    ConfigError,
    Settings,
    TemporalSettings,
    load_settings,
    load_temporal_settings,
)
from backend.domains.digs.hook_activities import HookActivities
from backend.domains.digs.hook_workflows import HOOK_WORKFLOWS
from backend.providers.processes import process_start
from backend.runtime.codec_keys import load_keyring
from backend.runtime.temporal_client import TemporalTarget, connect, resolve_target
from backend.runtime.temporal_server import read_running

log = logging.getLogger(__name__)

READY_PREFIX = "Flightdeck hook worker ready on "
OWNER_CHECK_SECONDS = 1.0
"""How often the `--stop-with` process is looked for."""
GRACEFUL_SHUTDOWN_SECONDS = 5.0
"""At most this long for running hook activities to finish on stop (the sandbox kills the
worker 10 s after SIGTERM)."""


async def run_hook_worker(
    task_queue: str,
    *,
    stop_with: int | None,
    settings: Settings | None = None,
    temporal: TemporalSettings | None = None,
    stop: asyncio.Event | None = None,
) -> int:
    """Serve the hook workflows on `task_queue` until stopped; the exit code (0).

    `stop_with` is the pid whose end stops the worker; `settings` and `temporal` default to the
    environment's; `stop` lets a caller stop it. ConfigError when Temporal cannot be reached."""
    settings = settings or load_settings()
    temporal = temporal or load_temporal_settings()
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    owner_start = process_start(stop_with) if stop_with is not None else None
    if stop_with is not None and owner_start is None:
        log.info("process %s is gone already; not starting", stop_with)
        print(f"process {stop_with} (--stop-with) is not running; nothing to do", flush=True)
        return 0
    target = await _target(settings, temporal)
    client = await connect(
        target, keyring=load_keyring(settings), wait_seconds=30.0 if temporal.embedded else 8.0
    )
    identity = f"{os.getpid()}@{socket.gethostname()}"
    if temporal.worker_identity:
        identity += f" {temporal.worker_identity}"
    worker = Worker(
        client,
        task_queue=task_queue,
        workflows=HOOK_WORKFLOWS,
        activities=HookActivities(settings.paths.root).all(),
        identity=identity,
        max_concurrent_activities=temporal.worker_max_concurrent_activities,
        max_concurrent_workflow_tasks=temporal.worker_max_concurrent_workflows,
        graceful_shutdown_timeout=timedelta(
            seconds=min(temporal.worker_graceful_shutdown_seconds, GRACEFUL_SHUTDOWN_SECONDS)
        ),
        max_heartbeat_throttle_interval=timedelta(seconds=1),
        default_heartbeat_throttle_interval=timedelta(seconds=1),
    )
    running = asyncio.create_task(worker.run(), name=f"hook worker {task_queue}")
    watching = asyncio.create_task(_watch_owner(stop_with, owner_start, stop), name="owner")
    waiting = asyncio.create_task(stop.wait(), name="stop")
    log.info("hook worker polling %s on %s/%s", task_queue, target.address, target.namespace)
    print(f"{READY_PREFIX}{task_queue} (pid {os.getpid()})", flush=True)
    try:
        await asyncio.wait([running, waiting], return_when=asyncio.FIRST_COMPLETED)
    finally:
        log.info("hook worker on %s stopping", task_queue)
        watching.cancel()
        waiting.cancel()
        if not running.done():
            await worker.shutdown()
        await asyncio.gather(watching, waiting, return_exceptions=True)
    await running  # a worker that failed on its own raises here
    print(f"Flightdeck hook worker on {task_queue} stopped", flush=True)
    return 0


async def _target(settings: Settings, temporal: TemporalSettings) -> TemporalTarget:
    """The configured Temporal, else the data dir's embedded dev server if it runs."""
    if not temporal.embedded:
        return resolve_target(profile=temporal.profile)
    info = await asyncio.to_thread(read_running, settings.paths.temporal_state)
    if info is None:
        raise ConfigError(
            f"no Temporal to connect to: set TEMPORAL_ADDRESS, or start flightdeck on data dir"
            f" {settings.paths.root} (its embedded dev server)"
        )
    return TemporalTarget(address=info.address, namespace=info.namespace, connect_args={})


async def _watch_owner(pid: int | None, start: str | None, stop: asyncio.Event) -> None:
    """Set `stop` once process `pid` (started at `start`) is gone; never, without a pid."""
    if pid is None:
        return
    while True:
        await asyncio.sleep(OWNER_CHECK_SECONDS)
        if await asyncio.to_thread(process_start, pid) != start:
            break
    log.info("process %s is gone; stopping", pid)
    stop.set()
