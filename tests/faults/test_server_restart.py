"""kill -9 the Temporal dev server while labs, tenants and infra runs progress, and start it again
on the same port and database file: the API and the worker (the same processes) reconnect by
themselves, and afterwards every workflow finished, the store agrees with each workflow, every
side effect exists once in the sandbox and every action is audited once.

The session's dev server is in memory and shared, so this test runs one of its own.
FLIGHTDECK_FAULT_SEED (default 21) picks the kill moment.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.faults.devserver import DevServer
from tests.faults.split import Monitor, SplitFlightdeck, Tracked, split_flightdeck
from tests.faults.workload import Workload, outcome_problems

SEED = int(os.environ.get("FLIGHTDECK_FAULT_SEED", "21"))
STEP_SECONDS = 0.2
KILL_AFTER = (1.0, 2.5)
"""The server lives this long (seconds, uniform) after the workload was launched."""
DOWN_SECONDS = float(os.environ.get("FLIGHTDECK_FAULT_SERVER_DOWN", "5"))
"""How long the server stays dead (seconds)."""
RECONNECT_TIMEOUT = 60.0

pytestmark = [pytest.mark.faults, pytest.mark.e2e, pytest.mark.timeout(180)]


async def test_temporal_server_killed_and_restarted_loses_nothing(
    tmp_path: Path, fault_figures: list[str]
) -> None:
    rng = random.Random(SEED)
    began = time.monotonic()
    server = DevServer(tmp_path)
    try:
        await asyncio.to_thread(server.start)
        async with split_flightdeck(
            server.address, tmp_path / "flightdeck", step_seconds=STEP_SECONDS
        ) as flightdeck:
            assert flightdeck.worker is not None and flightdeck.api is not None
            worker, api = flightdeck.worker, flightdeck.api
            monitor = Monitor(flightdeck)
            workload = Workload(flightdeck, monitor)
            async with monitor.running():
                workload.launch_wave(0)
                workload.launch_wave(1)
                await asyncio.sleep(rng.uniform(*KILL_AFTER))  # the kill moment, not a sync
                in_flight = monitor.in_flight()
                landed = Counter(f"{t.plural}:{t.status or 'created'}" for t in in_flight)
                before = dict(flightdeck.answers)
                killed_at = server.kill()
                workload.launch_infra_probe(3)  # a create while Temporal is away
                ready_down = await _readyz_until(flightdeck, 503, timeout=15)
                await asyncio.sleep(DOWN_SECONDS)  # the fault's duration
                during = _since(before, flightdeck.answers)
                exits = {
                    name: process.process.returncode
                    for name, process in (("worker", worker), ("api", api))
                    if process.process.returncode is not None
                }
                assert not exits, f"exited while Temporal was away: {exits}"
                await asyncio.to_thread(server.start)
                back_at = time.monotonic()
                api_back = await _readyz_until(flightdeck, 200, timeout=RECONNECT_TIMEOUT)
                moved = await _all_moved_after(monitor, in_flight, back_at)
                workload.launch_wave(2)  # new work after the restart
                await workload.finish(timeout=120)
                problems = await outcome_problems(flightdeck, monitor)
                alive = {
                    name: process.process.returncode is None
                    for name, process in (("worker", worker), ("api", api))
                }
            answers = dict(flightdeck.answers)
    finally:
        server.stop()
    total = time.monotonic() - began

    fault_figures.extend(
        [
            f"Temporal dev server kill -9, restarted on {server.address} + same db (seed {SEED})",
            f"  server down                 {back_at - killed_at:.1f} s"
            f" (kill to namespace served; starts took {_seconds(server.starts)})",
            f"  kill landed in              {', '.join(sorted(landed))}",
            f"  API /readyz 503 after kill  {ready_down - killed_at:.1f} s",
            f"  API answers while down      {during}; slowest answer {flightdeck.slowest:.1f} s"
            " (a create waits for Temporal, 503 after ~10 s)",
            f"  API ready again             {api_back - back_at:.1f} s after the server",
            f"  worker back                 {moved - back_at:.1f} s after the server"
            f" (until every workflow in flight at the kill moved again)",
            f"  processes                   {alive} (the same pids throughout:"
            f" worker {worker.process.pid}, api {api.process.pid})",
            f"  creates                     {dict(workload.creates)}",
            f"  tenants rolled back         {len(workload.rolled_back)}",
            f"  entities                    {len(monitor.entities)}",
            f"  action retries              {dict(workload.retries)}",
            f"  API answers                 {answers}",
            f"  problems                    {len(problems)}",
            f"  total                       {total:.1f} s",
        ]
    )
    assert all(alive.values()), alive
    assert len(flightdeck.worker_starts) == 1
    assert not problems, "\n".join(problems)
    assert 500 not in answers, answers


async def _readyz_until(flightdeck: SplitFlightdeck, status: int, *, timeout: float) -> float:
    """Poll the API's /readyz until it answers `status` (bounded); when."""
    deadline = time.monotonic() + timeout
    while True:
        response = await flightdeck.request("GET", "/readyz")
        if response is not None and response.status_code == status:
            return time.monotonic()
        if time.monotonic() > deadline:
            got = "no answer" if response is None else f"{response.status_code} {response.text}"
            raise AssertionError(f"/readyz not {status} within {timeout} s: {got}")
        await asyncio.sleep(0.1)


async def _all_moved_after(monitor: Monitor, tracked: list[Tracked], moment: float) -> float:
    """Until every entity in `tracked` moved in the store after `moment` or ended (bounded)."""
    deadline = time.monotonic() + RECONNECT_TIMEOUT
    while True:
        waiting = [t for t in tracked if t.first_move_after(moment) is None and not t.final]
        if not waiting:
            return max(
                (m for t in tracked if (m := t.first_move_after(moment)) is not None),
                default=time.monotonic(),
            )
        if time.monotonic() > deadline:
            stuck = [(t.id, t.status) for t in waiting]
            raise AssertionError(f"not moving after the restart: {stuck}")
        await asyncio.sleep(0.1)


def _since(before: dict[int, int], now: Counter[int]) -> dict[int, int]:
    return {code: n - before.get(code, 0) for code, n in now.items() if n != before.get(code, 0)}


def _seconds(values: list[float]) -> str:
    return ", ".join(f"{v:.1f}" for v in values) + " s"
