"""kill -9 the worker at seeded random moments while labs, tenants (provision and deprovision)
and infra runs progress: afterwards every workflow finished, the store agrees with each workflow,
every side effect exists once in the sandbox and every action is audited once.

FLIGHTDECK_FAULT_RUNS kills (default 3, `make faults` 20), FLIGHTDECK_FAULT_SEED (default 21).
"""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import time
from collections import Counter
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from tests.faults.split import Monitor, split_flightdeck
from tests.faults.workload import Workload, outcome_problems

RUNS = int(os.environ.get("FLIGHTDECK_FAULT_RUNS", "3"))
SEED = int(os.environ.get("FLIGHTDECK_FAULT_SEED", "21"))
STEP_SECONDS = 0.2
"""Demo latency per unit of sandbox work: small, so kills land inside steps."""
KILL_AFTER = (0.3, 2.0)
"""A worker lives this long (seconds, uniform) after its wave was launched."""

pytestmark = [pytest.mark.faults, pytest.mark.e2e, pytest.mark.timeout(120 + 12 * RUNS)]


async def test_worker_killed_at_random_points_loses_nothing_and_does_nothing_twice(
    dev_env: WorkflowEnvironment, tmp_path: Path, fault_figures: list[str]
) -> None:
    rng = random.Random(SEED)
    began = time.monotonic()
    kills: list[tuple[float, list[str]]] = []
    landed: Counter[str] = Counter()
    async with split_flightdeck(dev_env, tmp_path, step_seconds=STEP_SECONDS) as flightdeck:
        monitor = Monitor(flightdeck)
        workload = Workload(flightdeck, monitor)
        async with monitor.running():
            for run in range(RUNS):
                workload.launch_wave(run)
                await _sleep_until_kill(rng)
                in_flight = monitor.in_flight()
                landed.update(f"{t.plural}:{t.status or 'created'}" for t in in_flight)
                kills.append((await flightdeck.kill_worker(), [t.id for t in in_flight]))
                await flightdeck.start_worker()
            workload.launch_wave(RUNS)
            await workload.finish(timeout=60 + 10 * RUNS)
            problems = await outcome_problems(flightdeck, monitor)
        answers = dict(flightdeck.answers)
        worker_starts = flightdeck.worker_starts
    total = time.monotonic() - began

    recoveries = []
    for killed_at, ids in kills:
        moved = [monitor.entities[i].first_move_after(killed_at) for i in ids]
        if moved and all(m is not None for m in moved):
            recoveries.append(max(m for m in moved if m is not None) - killed_at)
    kinds = Counter(t.plural for t in monitor.entities.values())
    fault_figures.extend(
        [
            f"worker kill -9 (seed {SEED})",
            f"  kills                       {len(kills)}",
            f"  entities                    {dict(kinds)} (+ {kinds['tenants']} deprovisions)",
            f"  in flight at the kills      {sum(len(ids) for _, ids in kills)}"
            f" in {len(landed)} kind:status pairs",
            f"  recovery after a kill       max {max(recoveries, default=0):.1f} s,"
            f" median {statistics.median(recoveries) if recoveries else 0:.1f} s"
            " (until every workflow in flight at the kill moved again)",
            f"  kills landed in             {', '.join(sorted(landed))}",
            f"  worker start                max {max(worker_starts):.1f} s",
            f"  tenants rolled back         {len(workload.rolled_back)}"
            " (a forward step lost its 3 attempts to kills; nothing left in the sandbox)",
            f"  action retries              {dict(workload.retries)}",
            f"  API answers                 {answers}",
            f"  problems                    {len(problems)}",
            f"  total                       {total:.1f} s",
        ]
    )
    assert not problems, "\n".join(problems)
    assert 500 not in answers, answers


async def _sleep_until_kill(rng: random.Random) -> None:
    """Let the worker run a seeded random while: the kill moment (not synchronisation)."""
    await asyncio.sleep(rng.uniform(*KILL_AFTER))
