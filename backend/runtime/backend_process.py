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
from collections.abc import AsyncIterator, Collection, Generator

import uvicorn
from temporalio.client import Client

from backend.api.app import create_app
from backend.api.codec import cors_origins
from backend.api.context import ApiContext
from backend.config import (
    DEFAULT_API_PORT,
    ConfigError,
    Settings,
    TemporalSettings,
    ensure_api_token,
)
from backend.domains import domain_modules
from backend.providers.oidc import OidcConfig, OidcVerifier
from backend.providers.status import ApiStatusSink, StatusSink
from backend.runtime.api_url import forget_api_url, read_api_url, write_api_url
from backend.runtime.codec import encryption_codec
from backend.runtime.codec_keys import load_keyring
from backend.runtime.components import (
    Services,
    build_registrars,
    build_services,
    shared_activities,
    worker_options,
)
from backend.runtime.embedded import embedded_server
from backend.runtime.temporal_client import TemporalTarget, connect, resolve_target
from backend.runtime.temporal_server import TemporalServerError
from backend.workflows.registry import UnknownTaskQueue, register_all

log = logging.getLogger(__name__)

READY_PREFIX = "Flightdeck API ready at "


class _QuietSignalsServer(uvicorn.Server):
    """uvicorn without its own signal handling: this process owns SIGINT/SIGTERM."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


def bind_socket(host: str, port: int) -> socket.socket:
    """Bind the API socket (port 0: any free port); ConfigError when the port is taken.

    Created with IPPROTO_TCP so asyncio turns Nagle off on accepted connections (a small
    response must not wait for the client's delayed ACK)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
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
    api_token: str | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Run until SIGINT/SIGTERM (or `stop` is set), then shut down gracefully.

    Without TEMPORAL_ADDRESS (or a profile), the data dir's own embedded dev server is used,
    started if none runs, never another data dir's. A worker without an API in its process
    reports status to the API at `settings.api_url` (else this data dir's running backend).
    """
    settings.paths.ensure()
    if api:
        settings.check_exposure()  # refuse a bad exposure before anything starts
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    if os.environ.get("FLIGHTDECK_EMBEDDED_CHILD") == "1":
        watch_parent(loop, stop)

    keyring = load_keyring(settings)
    if keyring is not None:
        log.info(
            "payload encryption on: encrypting with key %s (key ring %s)",
            keyring.current,
            ", ".join(keyring.keys),
        )
    async with contextlib.AsyncExitStack() as exits:
        target = await exits.enter_async_context(temporal_target(settings, temporal))
        client = await connect(
            target, keyring=keyring, wait_seconds=30.0 if temporal.embedded else 8.0
        )
        services = await build_services(settings, client) if api else None
        if services is not None:
            exits.push_async_callback(services.database.close)
        sink: StatusSink
        if services is not None:
            sink = services.status
        else:
            remote = ApiStatusSink(
                worker_api_url(settings), api_token or ensure_api_token(settings)
            )
            exits.push_async_callback(remote.aclose)
            sink = remote
            log.info("reporting status to %s", remote.base_url)
        await _serve(settings, temporal, target, client, services, sink, workers, task_queues, stop)


async def _serve(
    settings: Settings,
    temporal: TemporalSettings,
    target: TemporalTarget,
    client: Client,
    services: Services | None,
    sink: StatusSink,
    workers: bool,
    task_queues: Collection[str],
    stop: asyncio.Event,
) -> None:
    running: list[asyncio.Task[None]] = []
    starting: list[asyncio.Task[None]] = []
    temporal_workers = []
    server: uvicorn.Server | None = None
    url_file = settings.paths.root / "api-url"
    queues = ""
    registrars = build_registrars(settings, sink) if workers else []
    exposure_warning = settings.check_exposure() if services is not None else None
    try:
        if workers:
            try:
                temporal_workers = register_all(
                    client,
                    registrars,
                    only=set(task_queues) or None,
                    options=worker_options(temporal),
                    shared_activities=shared_activities(sink),  # type: ignore[arg-type]
                )
            except UnknownTaskQueue as err:
                raise ConfigError(str(err)) from None
            for worker in temporal_workers:
                running.append(
                    asyncio.create_task(worker.run(), name=f"worker {worker.task_queue}")
                )
            queues = ", ".join(w.task_queue for w in temporal_workers)
            log.info("workers polling %s on %s/%s", queues, target.address, target.namespace)
        if services is not None:
            if exposure_warning:
                log.warning("%s", exposure_warning)
                print(exposure_warning, file=sys.stderr, flush=True)
            sock = bind_socket(settings.api_host, settings.api_port)
            host, port = sock.getsockname()[:2]
            context = ApiContext(
                client=client,
                database=services.database,
                entities=services.entities,
                actions=services.actions,
                needs=services.needs,
                audit=services.audit,
                status=services.status,
                token=ensure_api_token(settings),
                namespace=target.namespace,
                temporal_address=target.address,
                temporal_ui=settings.temporal_ui_url,
                oidc=oidc_verifier(settings),
                four_eyes=settings.four_eyes,
            )
            app = create_app(
                context,
                codec=encryption_codec(client.data_converter),
                codec_origins=cors_origins(
                    (settings.temporal_ui_url, target.ui_url), settings.codec_cors_origins
                ),
            )
            tls = settings.api_tls_cert is not None
            config = uvicorn.Config(
                app,
                log_config=None,
                access_log=False,
                lifespan="off",
                ssl_certfile=str(settings.api_tls_cert) if tls else None,
                ssl_keyfile=str(settings.api_tls_key) if tls else None,
            )
            server = _QuietSignalsServer(config)
            running.append(asyncio.create_task(server.serve(sockets=[sock]), name="api"))
            while not server.started:
                if running[-1].done():
                    await running[-1]
                    raise ConfigError("the API server stopped during start-up")
                await asyncio.sleep(0.02)
            url_host = f"[{host}]" if ":" in host else host
            url = f"{'https' if tls else 'http'}://{url_host}:{port}"
            write_api_url(url_file, url)
            print(f"{READY_PREFIX}{url}", flush=True)
            for module in domain_modules("startup"):
                # Not in `running`: a start-up task that ends is no reason to stop.
                starting.append(asyncio.create_task(module.on_api_start(context)))
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
            forget_api_url(url_file)
        await asyncio.gather(*(w.shutdown() for w in temporal_workers), return_exceptions=True)
        await asyncio.gather(*running, return_exceptions=True)
        for task in starting:
            task.cancel()
        await asyncio.gather(*starting, return_exceptions=True)
        for registrar in registrars:
            for hook in registrar.on_shutdown:
                with contextlib.suppress(Exception):
                    await hook()
        sys.stdout.flush()


@contextlib.asynccontextmanager
async def temporal_target(
    settings: Settings, temporal: TemporalSettings
) -> AsyncIterator[TemporalTarget]:
    """Where Temporal is: the configured one, else this data dir's embedded dev server
    (started when none runs, and stopped again on exit if this process started it)."""
    if not temporal.embedded:
        yield resolve_target(profile=temporal.profile)
        return
    server = embedded_server(settings, temporal, headless=True)
    try:
        info = await asyncio.to_thread(server.start_or_reuse, 60.0)
    except TemporalServerError as err:
        raise ConfigError(str(err)) from None
    how = "started" if info.owned else "reusing"
    log.info("embedded Temporal dev server %s at %s", how, info.address)
    try:
        yield TemporalTarget(
            address=info.address, namespace=info.namespace, connect_args={}, ui_url=info.ui_url
        )
    finally:
        if info.owned:
            await asyncio.to_thread(server.stop)


def oidc_verifier(settings: Settings) -> OidcVerifier | None:
    """The OIDC verifier FLIGHTDECK_OIDC_JWKS_URL / _AUDIENCE ask for (None: no OIDC)."""
    if not settings.oidc_jwks_url:
        return None
    if not settings.oidc_audience:
        raise ConfigError("FLIGHTDECK_OIDC_JWKS_URL needs FLIGHTDECK_OIDC_AUDIENCE too")
    return OidcVerifier(
        OidcConfig(
            jwks_url=settings.oidc_jwks_url,
            audience=settings.oidc_audience,
            issuer=settings.oidc_issuer,
            roles_claim=settings.oidc_roles_claim,
            name_claim=settings.oidc_name_claim,
        )
    )


def worker_api_url(settings: Settings) -> str:
    """The API a worker reports status to: FLIGHTDECK_API_URL, else this data dir's running
    backend, else the default local address."""
    if settings.api_url:
        return settings.api_url
    recorded = read_api_url(settings.paths.root / "api-url")
    return recorded or f"http://127.0.0.1:{settings.api_port or DEFAULT_API_PORT}"
