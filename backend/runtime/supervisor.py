"""`flightdeck` with no command: embedded Temporal dev server, the backend as a child process, the TUI.

This process never imports temporalio (the TUI is an HTTP client; the dev server is a binary), so
the SDK's exit-time hazards stay in the backend child, which exits with `os._exit`.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO

from backend.config import ConfigError, Settings, TemporalSettings, ensure_api_token
from backend.runtime.embedded import embedded_server
from backend.runtime.temporal_server import EmbeddedTemporalServer, TemporalServerInfo

READY_PREFIX = "Flightdeck API ready at "
BACKEND_START_TIMEOUT = 90.0


def port_is_free(host: str, port: int) -> bool:
    """True when nothing listens on host:port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


class BackendChild:
    """The backend (`flightdeck backend`) as a child process whose output goes to a log file."""

    def __init__(self, settings: Settings, env: dict[str, str], port: int) -> None:
        self._log_path = settings.paths.logs / "backend.out"
        self._log: IO[bytes] = self._log_path.open("ab")
        command = [
            sys.executable,
            "-m",
            "backend.cli",
            "--data-dir",
            str(settings.paths.root),
            "backend",
            "--port",
            str(port),
            "--host",
            settings.api_host,
        ]
        self.process = subprocess.Popen(
            command,
            env={**env, "FLIGHTDECK_EMBEDDED_CHILD": "1", "PYTHONUNBUFFERED": "1"},
            stdout=subprocess.PIPE,
            stderr=self._log,
            stdin=subprocess.PIPE,  # closed when we die: the child then shuts down by itself
            start_new_session=True,
        )
        self.url: str | None = None
        self._ready = threading.Event()
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        assert self.process.stdout is not None
        for raw in self.process.stdout:
            line = raw.decode(errors="replace").rstrip()
            if line.startswith(READY_PREFIX) and self.url is None:
                self.url = line[len(READY_PREFIX) :].strip()
                self._ready.set()
            self._log.write(raw)
            self._log.flush()
        self._ready.set()

    def wait_ready(self, timeout: float) -> str:
        """The API URL once the backend says it is ready; ConfigError if it exits or times out."""
        self._ready.wait(timeout)
        if self.url:
            return self.url
        code = self.process.poll()
        tail = _tail(self._log_path)
        self.stop()
        if code is None:
            raise ConfigError(f"the backend did not become ready in {timeout:.0f} s. {tail}")
        raise ConfigError(f"the backend exited with code {code}. {tail}")

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM (graceful: workers finish or leave resumable activities), then SIGKILL."""
        if self.process.stdin is not None:
            with contextlib.suppress(OSError):
                self.process.stdin.close()
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)
        self._log.close()


def _tail(path: Path, lines: int = 6) -> str:
    try:
        text = path.read_text(errors="replace").strip().splitlines()[-lines:]
    except OSError:
        return ""
    return ("Last log lines (" + str(path) + "):\n  " + "\n  ".join(text)) if text else ""


FLIGHTDECK_OWNED_TEMPORAL_VARS = ("TEMPORAL_WORKER_", "TEMPORAL_CLI_PATH")
"""TEMPORAL_* variables that tune Flightdeck itself (with every `TEMPORAL_*_TASK_QUEUE`), not the
connection: the embedded backend keeps them."""


def embedded_child_env(env: dict[str, str], info: TemporalServerInfo) -> dict[str, str]:
    """The backend's environment for the embedded server: its address and namespace only.

    Connection settings of the user's own (e.g. Temporal Cloud) profile or environment must not
    leak in: TLS or an API key against the plaintext local dev server would fail.
    """
    child = {
        key: value
        for key, value in env.items()
        if not key.startswith("TEMPORAL_")
        or key.startswith(FLIGHTDECK_OWNED_TEMPORAL_VARS)
        or key.endswith("_TASK_QUEUE")
    }
    child.update(
        TEMPORAL_ADDRESS=info.address,
        TEMPORAL_NAMESPACE=info.namespace,
        TEMPORAL_CONFIG_FILE=os.devnull,
    )
    return child


def run_all(settings: Settings, temporal: TemporalSettings) -> int:
    """Start (or reuse) Temporal, start the backend, run the TUI; stop what we started."""
    settings.paths.ensure()
    from tui.app import run_tui

    env = dict(os.environ)
    server: EmbeddedTemporalServer | None = None
    info: TemporalServerInfo | None = None
    backend: BackendChild | None = None
    try:

        def hang_up(signum: int, _frame: object) -> None:
            # SSH dropped or we were told to stop: take our children with us.
            if backend is not None:
                backend.stop(timeout=10.0)
            if server is not None and info is not None and info.owned:
                server.stop()
            os._exit(128 + signum)

        signal.signal(signal.SIGHUP, hang_up)
        signal.signal(signal.SIGTERM, hang_up)
        if temporal.embedded:
            print("Starting the embedded Temporal dev server ...", flush=True)
            server = embedded_server(settings, temporal)
            info = server.start_or_reuse(timeout=60.0)
            how = "started" if info.owned else "reusing the one already running"
            print(f"Temporal {how}: {info.address}, namespace {info.namespace}", flush=True)
            if info.ui_url:
                print(f"Temporal UI: {info.ui_url}", flush=True)
            env = embedded_child_env(env, info)
            if info.ui_url:
                env["FLIGHTDECK_TEMPORAL_UI_URL"] = info.ui_url
        token = ensure_api_token(settings)
        port = settings.api_port if port_is_free(settings.api_host, settings.api_port) else 0
        print("Starting the backend (API + worker) ...", flush=True)
        started = time.monotonic()
        backend = BackendChild(settings, env, port)
        url = backend.wait_ready(BACKEND_START_TIMEOUT)
        print(f"Backend ready at {url} ({time.monotonic() - started:.1f} s)", flush=True)
        run_tui(url, token)
    except KeyboardInterrupt:
        print("\nInterrupted.", file=sys.stderr)
        return 130
    finally:
        if backend is not None:
            backend.stop()
        if server is not None and info is not None and info.owned:
            server.stop()
    print(f"Flightdeck stopped. Logs: {settings.paths.logs}")
    return 0
