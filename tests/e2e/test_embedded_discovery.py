"""Without TEMPORAL_ADDRESS, each data dir's processes use that data dir's own embedded dev
server: started when none runs, reused when one does, never another data dir's."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from pathlib import Path

import httpx

from tests.e2e.processes import WORKER_READY, running


def embedded_env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TEMPORAL_", "FLIGHTDECK_"))}
    env.update(
        FLIGHTDECK_DATA_DIR=str(data_dir),
        FLIGHTDECK_SANDBOX_STEP_SECONDS="0",
        PYTHONUNBUFFERED="1",
    )
    return env


def server_state(data_dir: Path) -> dict[str, object]:
    state: dict[str, object] = json.loads((data_dir / "temporal" / "server.json").read_text())
    return state


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def test_each_data_dir_runs_and_reuses_its_own_embedded_server(tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    async with (
        running("backend", "--port", "0", env=embedded_env(first), log_dir=tmp_path) as one,
        running("backend", "--port", "0", env=embedded_env(second), log_dir=tmp_path) as two,
    ):
        state_one, state_two = server_state(first), server_state(second)
        assert state_one["port"] != state_two["port"]
        assert state_one["db_path"] == str(first / "temporal" / "temporal.db")
        for process, state in ((one, state_one), (two, state_two)):
            async with httpx.AsyncClient(base_url=process.url, timeout=10) as api:
                health = (await api.get("/healthz")).json()
            assert health["temporal"] == "connected"
            assert health["temporal_address"] == f"127.0.0.1:{state['port']}"
        # A worker on the first data dir reuses the first data dir's server.
        async with running(
            "worker",
            "--data-dir",
            str(first),
            env=embedded_env(first),
            log_dir=tmp_path,
            ready=WORKER_READY,
        ):
            assert server_state(first)["pid"] == state_one["pid"]
        for process in (one, two):
            process.process.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(process.process.wait(), 30) == 0
    # Each backend started its server, so each stopped it.
    assert not alive(int(str(state_one["pid"]))) and not alive(int(str(state_two["pid"])))
