"""Another process holds a write lock on the API's SQLite store for 10 s while labs, tenants and
infra runs progress: the API answers 503 or waits, never 500; workers' status reports retry, so
afterwards nothing is lost, nothing is done twice and the store agrees with every workflow."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from tests.faults.split import Monitor, split_flightdeck
from tests.faults.workload import Workload, outcome_problems

LOCK_SECONDS = 10.0
STEP_SECONDS = 0.2

pytestmark = [pytest.mark.faults, pytest.mark.e2e, pytest.mark.timeout(150)]


def _lock(database: Path) -> sqlite3.Connection:
    """A connection holding SQLite's write lock (BEGIN IMMEDIATE) on `database`."""
    connection = sqlite3.connect(database, timeout=5, isolation_level=None, check_same_thread=False)
    connection.execute("BEGIN IMMEDIATE")
    return connection


def _unlock(connection: sqlite3.Connection) -> None:
    connection.rollback()
    connection.close()


async def test_store_write_locked_for_10_s_loses_nothing_and_never_answers_500(
    dev_env: WorkflowEnvironment, tmp_path: Path, fault_figures: list[str]
) -> None:
    began = time.monotonic()
    async with split_flightdeck(dev_env, tmp_path, step_seconds=STEP_SECONDS) as flightdeck:
        monitor = Monitor(flightdeck)
        workload = Workload(flightdeck, monitor)
        async with monitor.running():
            workload.launch_wave(0)
            workload.launch_wave(1)
            await asyncio.sleep(0.5)  # let the first steps start: when to strike, not a sync
            before = dict(flightdeck.answers)
            lock = await asyncio.to_thread(_lock, flightdeck.database)
            locked_at = time.monotonic()
            try:
                workload.launch_wave(2)  # creates and actions while the store is locked
                workload.launch_infra_probe(3)
                await asyncio.sleep(LOCK_SECONDS)  # the fault's duration
            finally:
                await asyncio.to_thread(_unlock, lock)
            held = time.monotonic() - locked_at
            during = {
                code: n - before.get(code, 0)
                for code, n in flightdeck.answers.items()
                if n != before.get(code, 0)
            }
            await workload.finish(timeout=120)
            problems = await outcome_problems(flightdeck, monitor)
        answers = dict(flightdeck.answers)
    fault_figures.extend(
        [
            "SQLite write lock held by another connection",
            f"  held                        {held:.1f} s",
            f"  API answers while held      {during}",
            f"  slowest API answer          {flightdeck.slowest:.1f} s",
            f"  creates                     {dict(workload.creates)}",
            f"  action retries              {dict(workload.retries)}",
            f"  entities                    {len(monitor.entities)}",
            f"  API answers                 {answers}",
            f"  problems                    {len(problems)}",
            f"  total                       {time.monotonic() - began:.1f} s",
        ]
    )
    assert not problems, "\n".join(problems)
    assert 500 not in answers, answers
