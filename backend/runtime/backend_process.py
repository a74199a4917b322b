"""The backend process: the HTTP API and/or the Temporal workers, in one asyncio loop.

`flightdeck backend` runs both (the embedded default), `flightdeck api` only the API,
`flightdeck worker --task-queue Q` only workers. SIGINT/SIGTERM shut down gracefully: the API
stops accepting, workers finish in-flight activities within the graceful timeout (long ones
heartbeat, so a retry resumes where they were).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import sys
import threading
from collections.abc import Collection, Generator

import uvicorn

from backend.api.app import create_app
from backend.api.context import ApiContext
from backend.config import ConfigError, Settings, TemporalSettings, ensure_api_token
from backend.runtime.components import build_components, worker_options
from backend.runtime.temporal_client import connect, resolve_target
from backend.workflows.registry import UnknownTaskQueue, register_all

log = logging.getLogger(__name__)

READY_PREFIX = "Flightdeck API ready at "


class _QuietSignalsServer(uvicorn.Server):
    """uvicorn without its own signal handling: this process owns SIGINT/SIGTERM."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


def bind_socket(host: str, port: int) -> socket.socket:
    """Bind the API socket (port 0: any free port); ConfigError when the port is taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as err:
        sock.close()
        raise ConfigError(f"cannot listen on {host}:{port}: {err.strerror}") from None
    sock.listen(128)
    sock.setblocking(False)
    return sock


def watch_parent(loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> None:
    """Stop when stdin closes: the supervisor holds it open, so EOF means it is gone."""

    def wait_for_eof() -> None:
        with contextlib.suppress(OSError, ValueError):
            while sys.stdin.buffer.read(4096):
                pass
        loop.call_soon_threadsafe(stop.set)

    threading.Thread(target=wait_for_eof, name="parent-watch", daemon=True).start()


async def run_backend(
    settings: Settings,
    temporal: TemporalSettings,
    *,
    api: bool = True,
    workers: bool = True,
    task_queues: Collection[str] = (),
    stop: asyncio.Event | None = None,
) -> None:
    """Run until SIGINT/SIGTERM (or `stop` is set), then shut down gracefully."""
    settings.paths.ensure()
    target = resolve_target(profile=temporal.profile)
    client = await connect(target)
    components = await build_components(settings, temporal, client)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    if os.environ.get("FLIGHTDECK_EMBEDDED_CHILD") == "1":
        watch_parent(loop, stop)

    running: list[asyncio.Task[None]] = []
    temporal_workers = []
    server: uvicorn.Server | None = None
    try:
        if workers:
            try:
                temporal_workers = register_all(
                    client,
                    components.registrars,
                    only=set(task_queues) or None,
                    options=worker_options(temporal),
                )
            except UnknownTaskQueue as err:
                raise ConfigError(str(err)) from None
            for worker in temporal_workers:
                running.append(
                    asyncio.create_task(worker.run(), name=f"worker {worker.task_queue}")
                )
            queues = ", ".join(w.task_queue for w in temporal_workers)
            log.info("workers polling %s on %s/%s", queues, target.address, target.namespace)
        if api:
            sock = bind_socket(settings.api_host, settings.api_port)
            host, port = sock.getsockname()[:2]
            context = ApiContext(
                client=client,
                database=components.database,
                labs=components.lab_service,
                audit=components.audit,
                token=ensure_api_token(settings),
                namespace=target.namespace,
                temporal_address=target.address,
                temporal_ui=settings.temporal_ui_url,
            )
            config = uvicorn.Config(
                create_app(context), log_config=None, access_log=False, lifespan="off"
            )
            server = _QuietSignalsServer(config)
            running.append(asyncio.create_task(server.serve(sockets=[sock]), name="api"))
            while not server.started:
                if running[-1].done():
                    await running[-1]
                    raise ConfigError("the API server stopped during start-up")
                await asyncio.sleep(0.02)
            url_host = f"[{host}]" if ":" in host else host
            url = f"http://{url_host}:{port}"
            (settings.paths.root / "api-url").write_text(url + "\n")
            print(f"{READY_PREFIX}{url}", flush=True)
        elif workers:
            print(f"Flightdeck worker ready on {queues}", flush=True)
        waiter = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait([waiter, *running], return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            if task is not waiter and task.exception() is not None:
                raise task.exception()  # type: ignore[misc]
    finally:
        log.info("shutting down")
        if server is not None:
            server.should_exit = True
        await asyncio.gather(*(w.shutdown() for w in temporal_workers), return_exceptions=True)
        await asyncio.gather(*running, return_exceptions=True)
        await components.database.close()
        sys.stdout.flush()
