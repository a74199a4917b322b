"""Bad starts are one readable line and exit 2, fast: no tracebacks at users."""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

from tests.e2e.processes import run_cli


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TEMPORAL_", "FLIGHTDECK_"))}
    env.update(extra)
    return env


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_tui_with_an_unusable_data_dir_is_one_line_and_exit_2(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    code, _, err = await run_cli("tui", "--data-dir", str(blocker / "data"), env=clean_env())
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("flightdeck: error: "), err
    assert "no backend is running" in lines[0]


async def test_everything_with_an_unwritable_data_dir_is_one_line_and_exit_2(
    tmp_path: Path,
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    code, _, err = await run_cli(env=clean_env(FLIGHTDECK_DATA_DIR=str(blocker / "data")))
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "cannot create data directory" in lines[0], err


async def test_a_stale_api_url_never_points_the_tui_at_a_dead_port(tmp_path: Path) -> None:
    (tmp_path / "api-url").write_text(f"http://127.0.0.1:{closed_port()}\n999999\n")
    (tmp_path / "api-token").write_text("x" * 32)
    code, _, err = await run_cli("tui", "--data-dir", str(tmp_path), env=clean_env())
    assert code == 2
    assert "no backend is running for data dir" in err and "--api URL" in err


async def test_unreachable_temporal_fails_within_10_s_saying_what_to_do(tmp_path: Path) -> None:
    env = clean_env(
        TEMPORAL_ADDRESS=f"127.0.0.1:{closed_port()}", FLIGHTDECK_DATA_DIR=str(tmp_path)
    )
    started = time.monotonic()
    code, _, err = await run_cli("worker", env=env, timeout=30)
    elapsed = time.monotonic() - started
    assert code == 2 and elapsed < 10, (elapsed, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "cannot reach Temporal" in lines[0], err
    assert "TEMPORAL_ADDRESS" in lines[0]


async def test_data_dir_and_log_level_are_taken_after_the_command_too(tmp_path: Path) -> None:
    code, out, _ = await run_cli("worker", "--help", env=clean_env())
    assert code == 0 and "--data-dir" in out and "--log-level" in out and "--api" in out
    code, _, err = await run_cli(
        "tui", "--data-dir", str(tmp_path / "elsewhere"), "--log-level", "debug", env=clean_env()
    )
    assert code == 2 and str(tmp_path / "elsewhere") in err
