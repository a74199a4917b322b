"""`flightdeck create|get|update|delete` and `flightdeck host-agent` against the real app (real
SQLite, a worker on the Temporal dev server) served over HTTP on a loopback port: the spec's
walk, refusals as one line and a non-zero exit code, and the reference host agent writing,
replacing and removing renderings and reporting them deployed."""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import json
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from backend.api.app import create_app
from backend.domains.placement.cli import Api, run
from backend.domains.placement.host_agent import HostAgent
from backend.runtime.backend_process import bind_socket
from tests.api.conftest import TOKEN, api_context
from tests.e2e.processes import run_cli
from tests.e2e.test_cli_errors import clean_env, closed_port
from tests.stack import Stack

TEMPLATE = "app: ${deployment}\nimage: ${repo}\nhost: ${host}\nport: ${port}\n"
RENDERED = "app: prod\nimage: https://example.test/temp\nhost: tim-pi\nport: 8080\n"


class _Server(uvicorn.Server):
    """Uvicorn that leaves the test process's signal handlers alone."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@pytest.fixture
async def url(stack: Stack) -> AsyncIterator[str]:
    """The real app over `stack`, served on a loopback port of its own (bound before serving,
    so the first request just waits for the server)."""
    sock = bind_socket("127.0.0.1", 0)  # as the backend binds it: Nagle off on each connection
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        create_app(api_context(stack)), lifespan="off", log_level="warning", access_log=False
    )
    server = _Server(config)
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await serving
        sock.close()


class Cli:
    """`flightdeck ...` in-process (in a thread: the server runs on this loop)."""

    def __init__(self, url: str, capsys: pytest.CaptureFixture[str]) -> None:
        self.url = url
        self.capsys = capsys

    async def __call__(self, *argv: str, token: str = TOKEN) -> tuple[int, str, str]:
        self.capsys.readouterr()
        code = await asyncio.to_thread(run, [*argv, "--api", self.url, "--token", token])
        out, err = self.capsys.readouterr()
        return code, out, err

    async def ok(self, *argv: str) -> str:
        code, out, err = await self(*argv)
        assert code == 0 and err == "", (argv, code, out, err)
        return out

    async def refused(self, *argv: str, code: int = 1) -> str:
        """The one error line of a refused command."""
        got, out, err = await self(*argv)
        assert got == code and out == "", (argv, got, out, err)
        lines = err.splitlines()
        assert len(lines) == 1 and lines[0].startswith("flightdeck: error: "), err
        assert "Traceback" not in err
        return lines[0].removeprefix("flightdeck: error: ")

    async def agent(self, host: str, directory: Path) -> str:
        """One round of the host agent: its log line."""
        code, out, err = await self("host-agent", host, "--dir", str(directory), "--once")
        assert code == 0 and out == "", (code, out, err)
        (line,) = err.splitlines()
        assert f" host-agent {host}: bookmark #" in line, line
        return line

    async def json(self, *argv: str) -> Any:
        return json.loads(await self.ok(*argv, "-o", "json"))


@pytest.fixture
def cli(url: str, capsys: pytest.CaptureFixture[str]) -> Cli:
    return Cli(url, capsys)


async def _walk(cli: Cli, tmp_path: Path) -> None:
    """The spec's developer experience."""
    template = tmp_path / "device-service"
    template.write_text(TEMPLATE)
    out = await cli.ok("create", "host", "tim-pi", "--labels", "name=tim-pi,platform=kubernetes")
    assert out == "host tim-pi created (change #1)\n"
    out = await cli.ok("create", "template", "device-service", "-f", str(template))
    assert out == "template device-service created (change #2)\n"
    await cli.ok("create", "workload", "temperature-sensor", "--repo", "https://example.test/temp")
    await cli.ok("create", "target", "tim-pi", "--labels", "name=tim-pi")
    out = await cli.ok(
        "create",
        "deployment",
        "prod",
        "--workload",
        "temperature-sensor",
        "--template",
        "device-service",
        "--target",
        "tim-pi",
        "--values",
        "port=8080",
    )
    assert out == "deployment prod created (change #5)\n"


async def test_spec_walk_then_every_get(cli: Cli, tmp_path: Path) -> None:
    await _walk(cli, tmp_path)

    shown = (await cli.ok("get", "deployment", "prod")).splitlines()
    assert "workload:   temperature-sensor" in shown and "values:     port=8080" in shown
    header = next(i for i, line in enumerate(shown) if line.startswith("HOST"))
    assert shown[header].split() == ["HOST", "REVISION", "STATE", "DEPLOYED", "ASSIGNED"]
    row = shown[header + 1].split()
    assert row[:2] == ["tim-pi", "#5"] and " ".join(row[2:4]) in ("committed -", "event sent")

    hosts = (await cli.ok("get", "hosts")).splitlines()
    assert hosts[0].split()[:4] == ["NAME", "LABELS", "DEPLOYMENTS", "DEPLOYED"]
    assert hosts[1].split()[:4] == ["tim-pi", "name=tim-pi,platform=kubernetes", "1", "0"]
    assert "create deployment prod" in hosts[1]

    host = await cli.ok("get", "host", "tim-pi")
    assert "name=tim-pi,platform=kubernetes" in host and "never reported" in host
    assert any(line.startswith("prod ") for line in host.splitlines())

    assert await cli.ok("get", "template", "device-service") == TEMPLATE
    for noun, name in (("workloads", "temperature-sensor"), ("targets", "tim-pi")):
        assert (await cli.ok("get", noun)).splitlines()[1].startswith(name)
    page = await cli.json("get", "deployments")
    assert page["total"] == 1 and page["items"][0]["values"] == {"port": "8080"}
    assert (await cli.json("get", "deployment", "prod"))["matching_hosts"] == 1

    out = await cli.ok("update", "deployment", "prod", "--values", "port=9090", "--replicas", "1")
    assert out == "deployment prod updated (change #6)\n"
    record = await cli.json("get", "deployment", "prod")
    assert record["deployment"]["values"] == {"port": "9090"}
    assert record["deployment"]["replicas"] == 1
    await cli.ok("update", "deployment", "prod", "--replicas", "all")
    assert (await cli.json("get", "deployment", "prod"))["deployment"]["replicas"] is None

    # Changes are recorded for the local user (the shared token names no one).
    changes = await asyncio.to_thread(
        lambda: Api(cli.url, TOKEN).call("GET", "/api/v1/changes", params={"after": 0})
    )
    assert {change["actor"] for change in changes["items"]} == {getpass.getuser()}


async def test_refusals_are_one_line_and_non_zero(cli: Cli, tmp_path: Path) -> None:
    await _walk(cli, tmp_path)

    missing = await cli.refused(
        "create", "deployment", "dev", "--workload", "temperature-sensor",
        "--template", "nope", "--target", "tim-pi",
    )  # fmt: skip
    assert missing == "no template named nope"
    assert await cli.refused("create", "host", "edge-2", "--labels", "name", code=2) == (
        "--labels 'name': 'name' is not key=value (write --labels key=value,key2=value2)"
    )
    assert "given twice" in await cli.refused(
        "update", "target", "tim-pi", "--labels", "a=1,a=2", code=2
    )
    assert "cannot read" in await cli.refused(
        "create", "template", "t2", "-f", str(tmp_path / "absent"), code=2
    )
    assert "nothing to update" in await cli.refused("update", "deployment", "prod", code=2)
    assert "--replicas" in await cli.refused(
        "update", "deployment", "prod", "--replicas", "many", code=2
    )

    # The API's own refusals: its message, as it said it.
    assert await cli.refused("delete", "template", "device-service") == (
        "template device-service is used by deployment prod; delete or change those first"
    )
    assert await cli.refused("create", "host", "tim-pi") == "host tim-pi exists"
    assert await cli.refused("get", "host", "nobody") == "no host named nobody"
    assert "pattern" in await cli.refused("create", "host", "Not_A_Name")
    assert "check the API token" in ((await cli("get", "hosts", token="wrong-token-0123456789"))[2])
    # Nothing of that changed anything.
    assert (await cli.json("get", "templates"))["total"] == 1

    out = await cli.ok("delete", "deployment", "prod")
    assert out == "deployment prod deleted (change #6)\n"
    await cli.ok("delete", "template", "device-service")
    assert await cli.ok("get", "deployments") == "no deployments\n"


async def test_unreachable_api_and_bad_labels_through_flightdeck(tmp_path: Path) -> None:
    env = clean_env(FLIGHTDECK_DATA_DIR=str(tmp_path))
    api = f"http://127.0.0.1:{closed_port()}"
    code, out, err = await run_cli("get", "hosts", "--api", api, "--token", "t" * 20, env=env)
    assert code == 1 and out == "", err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        f"flightdeck: error: cannot reach the API at {api}"
    )
    code, _, err = await run_cli("create", "host", "x", "--labels", "k", env=env)
    assert code == 2 and len(err.splitlines()) == 1 and "is not key=value" in err, err


async def test_host_agent_writes_moves_and_removes_renderings(cli: Cli, tmp_path: Path) -> None:
    await _walk(cli, tmp_path)
    pi, edge = tmp_path / "tim-pi", tmp_path / "edge-2"

    assert "wrote prod; reported (1 newly deployed)" in await cli.agent("tim-pi", pi)
    assert (pi / "prod.yaml").read_text() == RENDERED
    assert json.loads((pi / ".revisions.json").read_text()) == {"prod": 5}
    assert (pi / ".bookmark").read_text() == "5\n"
    view = await cli.json("get", "deployment", "prod")
    assert [(a["host"], a["state"]) for a in view["assignments"]] == [("tim-pi", "deployed")]
    assert (await cli.ok("get", "hosts")).splitlines()[1].split()[2:4] == ["1", "1"]

    # Again: nothing new, nothing rewritten (idempotent).
    written = (pi / "prod.yaml").stat().st_mtime_ns
    assert "wrote nothing; reported (0 newly deployed)" in await cli.agent("tim-pi", pi)
    assert (pi / "prod.yaml").stat().st_mtime_ns == written

    # Retarget: the deployment leaves tim-pi for edge-2.
    await cli.ok("create", "host", "--name", "edge-2", "--labels", "name=edge-2")  # the spec's form
    await cli.ok("create", "target", "edge", "--labels", "name=edge-2")
    await cli.ok("update", "deployment", "prod", "--target", "edge")
    assert "wrote nothing; removed prod" in await cli.agent("tim-pi", pi)
    assert not (pi / "prod.yaml").exists()
    assert json.loads((pi / ".revisions.json").read_text()) == {}
    await cli.agent("edge-2", edge)
    assert (edge / "prod.yaml").read_text() == RENDERED.replace("tim-pi", "edge-2")
    view = await cli.json("get", "deployment", "prod")
    assert [(a["host"], a["state"]) for a in view["assignments"]] == [("edge-2", "deployed")]

    # Delete: the rendering goes.
    await cli.ok("delete", "deployment", "prod")
    assert "removed prod" in await cli.agent("edge-2", edge)
    assert not (edge / "prod.yaml").exists()
    assert sorted(p.name for p in edge.iterdir()) == [".bookmark", ".revisions.json"]


async def test_host_agent_starts_over_from_a_bookmark_the_api_does_not_know(
    cli: Cli, tmp_path: Path
) -> None:
    await _walk(cli, tmp_path)
    pi = tmp_path / "tim-pi"
    pi.mkdir()
    (pi / ".bookmark").write_text("999\n")  # e.g. the API's database was replaced
    (pi / ".revisions.json").write_text('{"ghost": 3}')
    (pi / "ghost.yaml").write_text("left over\n")
    (pi / "notes.txt").write_text("not the agent's\n")

    code, _, err = await cli("host-agent", "tim-pi", "--dir", str(pi), "--once")
    assert code == 0, err
    assert "bookmark 999 is past the newest change (5); start again from 0" in err
    assert "removed ghost" in err.splitlines()[-1]
    assert sorted(p.name for p in pi.iterdir()) == [
        ".bookmark", ".revisions.json", "notes.txt", "prod.yaml",
    ]  # fmt: skip
    assert (pi / ".bookmark").read_text() == "5\n"

    # The loop: one round, then stop (set already: no waiting); a failing round is logged.
    stop = threading.Event()
    stop.set()
    with Api(cli.url, TOKEN) as api:
        assert await asyncio.to_thread(HostAgent(api, "tim-pi", pi).run, interval=5, once=False,
                                       stop=stop) == 0  # fmt: skip
        assert await asyncio.to_thread(HostAgent(api, "nobody", pi).run, interval=5, once=False,
                                       stop=stop) == 0  # fmt: skip
    assert "no host named nobody; trying again in 5 s" in cli.capsys.readouterr().err
    assert await cli.refused("host-agent", "nobody", "--dir", str(pi), "--once") == (
        "no host named nobody"
    )
