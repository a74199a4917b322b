"""kill -9 the API while two TUIs poll it and labs, tenants and infra runs progress; restart it on
the same data dir and port: the TUIs see `BackendUnreachable` (never a crash), the worker keeps
running and retries its status reports until the API is back, and afterwards every workflow
finished, the store agrees with each workflow, every side effect exists once in the sandbox and
every action is audited once.

FLIGHTDECK_FAULT_SEED (default 21) picks the kill moment.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import time
from collections import Counter
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from tests.faults.split import Monitor, SplitFlightdeck, free_port, split_flightdeck
from tests.faults.tui_clients import TuiPoller, tui_clients
from tests.faults.workload import Workload, outcome_problems

SEED = int(os.environ.get("FLIGHTDECK_FAULT_SEED", "21"))
STEP_SECONDS = 0.2
KILL_AFTER = (1.0, 2.5)
"""The API lives this long (seconds, uniform) after the workload was launched."""
DOWN_SECONDS = 4.0
"""How long the API stays dead: several TUI refreshes and status-report retries."""
CATCH_UP_TIMEOUT = 30.0
TUIS = 2
REPORT_FAILED = re.compile(
    r"Completing activity as failed \(\{[^}]*'activity_type': 'flightdeck.ReportStatus',"
    r" 'attempt': (\d+)"
)
"""The SDK's log line for a failed attempt of a status report (a local activity)."""

pytestmark = [pytest.mark.faults, pytest.mark.e2e, pytest.mark.timeout(180)]


async def test_api_killed_with_tuis_connected_and_restarted_loses_nothing(
    dev_env: WorkflowEnvironment, tmp_path: Path, fault_figures: list[str]
) -> None:
    rng = random.Random(SEED)
    began = time.monotonic()
    port = free_port()
    async with split_flightdeck(
        dev_env, tmp_path, step_seconds=STEP_SECONDS, api_port=port
    ) as flightdeck:
        assert flightdeck.api is not None and flightdeck.worker is not None
        url, worker = flightdeck.api.url, flightdeck.worker
        monitor = Monitor(flightdeck)
        workload = Workload(flightdeck, monitor)
        async with monitor.running(), tui_clients(TUIS, url, flightdeck.token, monitor) as tuis:
            workload.launch_wave(0)
            workload.launch_wave(1)
            await asyncio.sleep(rng.uniform(*KILL_AFTER))  # the kill moment, not a sync
            killed_at = await _kill_between_posts(flightdeck)
            landed = Counter(f"{t.plural}:{t.status or 'created'}" for t in monitor.in_flight())
            await asyncio.sleep(DOWN_SECONDS)  # the fault's duration
            assert worker.process.returncode is None, "the worker exited without its API"
            await flightdeck.start_api()
            assert flightdeck.api is not None and flightdeck.api.url == url
            back_at = time.monotonic()
            unreachable = [
                sum(killed_at < at < back_at for at in tui.unreachable_at) for tui in tuis
            ]
            caught_up = await _store_caught_up(flightdeck, monitor) - back_at
            await _tuis_answered_after(tuis, back_at)
            workload.launch_wave(2)  # new work through the restarted API
            await workload.finish(timeout=120)
            problems = await outcome_problems(flightdeck, monitor)
            worker_alive = worker.process.returncode is None
        answers = dict(flightdeck.answers)
        report_failures, most_attempts = _failed_reports(flightdeck)
    total = time.monotonic() - began

    tui_outcomes = [dict(tui.outcomes) for tui in tuis]
    crashes = [repr(err) for tui in tuis for err in tui.crashes]
    fault_figures.extend(
        [
            f"API kill -9 with {TUIS} TUIs connected, restarted on port {port} (seed {SEED})",
            f"  API down                    {back_at - killed_at:.1f} s (kill to ready again)",
            f"  kill landed in              {', '.join(sorted(landed))}",
            f"  BackendUnreachable per TUI  {unreachable} while down",
            f"  TUI outcomes                {tui_outcomes}",
            f"  store caught up             {caught_up:.1f} s after the API was back"
            " (every entity's store status = its workflow's phase)",
            f"  worker                      pid {worker.process.pid}, one process throughout,"
            f" {'alive' if worker_alive else 'EXITED'};"
            f" {report_failures} status report attempts failed and were retried"
            f" (up to attempt {most_attempts})",
            f"  entities                    {len(monitor.entities)}",
            f"  action retries              {dict(workload.retries)}",
            f"  API answers                 {answers}",
            f"  problems                    {len(problems)}",
            f"  total                       {total:.1f} s",
        ]
    )
    assert not crashes, crashes
    assert all(n > 0 for n in unreachable), f"TUIs saw no BackendUnreachable: {tui_outcomes}"
    assert worker_alive, "the worker exited"
    assert flightdeck.worker_starts and len(flightdeck.worker_starts) == 1
    assert not problems, "\n".join(problems)
    assert 500 not in answers, answers
    assert not any("api 500" in outcomes for outcomes in tui_outcomes), tui_outcomes
    assert report_failures > 0, "no status report failed while the API was down"


async def _kill_between_posts(flightdeck: SplitFlightdeck) -> float:
    """kill -9 the API at the first moment no create or action of the workload is in flight
    (bounded): a request the dead API had half answered would keep its idempotency key
    reserved for a minute (STALE_RESERVATION), a separate matter from this scenario."""
    deadline = time.monotonic() + 10
    while True:
        if not flightdeck.posting:
            return await flightdeck.kill_api()  # kills before its first await: no POST slips in
        assert time.monotonic() < deadline, "the workload never paused its POSTs"
        await asyncio.sleep(0.01)


async def _store_caught_up(flightdeck: SplitFlightdeck, monitor: Monitor) -> float:
    """Poll until every tracked entity's store status equals its workflow's phase; when."""
    deadline = time.monotonic() + CATCH_UP_TIMEOUT
    behind: list[str] = []
    while time.monotonic() < deadline:
        behind = []
        for tracked in list(monitor.entities.values()):
            body = await flightdeck.get(f"/api/v1/{tracked.plural}/{tracked.id}")
            phase = (body.get("progress") or {}).get("phase")
            if body["status"] != phase:
                behind.append(f"{tracked.plural} {tracked.id}: store {body['status']}, {phase}")
        if not behind:
            return time.monotonic()
        await asyncio.sleep(0.1)
    raise AssertionError(f"store behind after {CATCH_UP_TIMEOUT} s: {behind}")


async def _tuis_answered_after(tuis: list[TuiPoller], moment: float) -> None:
    """Until every TUI had a request answered after `moment` (bounded)."""
    deadline = time.monotonic() + 15
    while any(tui.ok_at <= moment for tui in tuis):
        assert time.monotonic() < deadline, [dict(t.outcomes) for t in tuis]
        await asyncio.sleep(0.05)


def _failed_reports(flightdeck: SplitFlightdeck) -> tuple[int, int]:
    """Status report attempts the worker logged as failed, and the most attempts one took."""
    text = "".join(
        p.read_text(errors="replace") for p in (flightdeck.worker_dir / "logs").glob("*.log*")
    )
    attempts = [int(n) for n in REPORT_FAILED.findall(text)]
    return len(attempts), max(attempts, default=0)
