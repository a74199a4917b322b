"""`flightdeck backend` as a real process with a fresh data dir, against the dev server."""

from __future__ import annotations

import asyncio
import os
import signal
import stat
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from tests.e2e.processes import API_READY, flightdeck_env, run_cli
from tests.stack import eventually


@pytest.fixture
async def backend(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> AsyncIterator[tuple[str, Path, asyncio.subprocess.Process]]:
    data_dir = tmp_path / "data"
    stderr_log = tmp_path / "backend.stderr"
    env = flightdeck_env(dev_env, data_dir, f"e2e-{uuid.uuid4().hex[:8]}")
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "backend.cli",
        "backend",
        "--port",
        "0",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=stderr_log.open("wb"),
    )
    assert proc.stdout is not None
    try:
        line = (await asyncio.wait_for(proc.stdout.readline(), 60)).decode()
        assert line.startswith(API_READY), line + stderr_log.read_text()
        yield line[len(API_READY) :].strip(), data_dir, proc
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def test_backend_process_serves_a_lab_from_create_to_running_and_stops_cleanly(
    backend: tuple[str, Path, asyncio.subprocess.Process],
) -> None:
    url, data_dir, proc = backend
    token_file = data_dir / "api-token"
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert (data_dir / "api-url").read_text().split()[0] == url
    headers = {"Authorization": f"Bearer {token_file.read_text().strip()}"}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=10) as api:
        assert (await api.get("/healthz")).json()["temporal"] == "connected"
        created = await api.post("/api/v1/labs", json={"name": "e2e", "requested_by": "ci"})
        assert created.status_code == 201, created.text
        lab_id = created.json()["id"]

        async def lab() -> dict[str, Any]:
            body: dict[str, Any] = (await api.get(f"/api/v1/labs/{lab_id}")).json()
            return body

        await eventually(lab, lambda b: b["status"] == "awaiting_review", timeout=60)
        review = await api.post(
            f"/api/v1/labs/{lab_id}/review", json={"decision": "approve", "reviewer": "ci"}
        )
        assert review.status_code == 200, review.text
        running = await eventually(
            lab,
            lambda b: b["status"] == "running" and (b["progress"] or {}).get("phase") == "running",
            timeout=60,
        )
        assert running["progress"]["percent"] == 100
    assert (data_dir / "flightdeck.db").exists()
    assert (data_dir / "sandbox" / "labs" / lab_id / "resources" / "vm-1.json").exists()
    proc.send_signal(signal.SIGTERM)
    assert await asyncio.wait_for(proc.wait(), 30) == 0
    assert not (data_dir / "api-url").exists()  # a stopped backend leaves no stale address


async def test_unknown_task_queue_is_one_readable_line_and_exit_2(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    env = flightdeck_env(dev_env, tmp_path, "labs.provisioning.v1")
    code, _out, err = await run_cli("worker", "--task-queue", "nope", env=env)
    assert code == 2
    assert err.strip().splitlines() == [
        "flightdeck: error: no workflows are registered on task queue nope"
        " (known: labs.provisioning.v1)"
    ]


async def test_bad_setting_is_one_readable_line_and_exit_2(tmp_path: Path) -> None:
    env = {**os.environ, "FLIGHTDECK_DATA_DIR": str(tmp_path), "FLIGHTDECK_API_PORT": "eighty"}
    code, _, err = await run_cli("backend", env=env)
    assert code == 2
    assert err.strip().splitlines() == [
        "flightdeck: error: invalid setting FLIGHTDECK_API_PORT: Input should be a valid integer, "
        "unable to parse string as an integer"
    ]


async def test_every_command_has_help(tmp_path: Path) -> None:
    for command in ("backend", "api", "worker", "tui", "server"):
        code, out, _ = await run_cli(command, "--help", env=dict(os.environ))
        assert code == 0 and "usage: flightdeck" in out, command
