"""A worker killed with kill -9 at each kind of step is replaced within seconds: the next worker
resumes from Temporal's history and heartbeats, and every side effect happens exactly once."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from temporalio.testing import WorkflowEnvironment

from tests.e2e.processes import WORKER_READY, Running, flightdeck_env, running, start
from tests.stack import eventually

RESUME_WITHIN = 30.0


@asynccontextmanager
async def _killed_at_exit(workers: list[Running]) -> AsyncIterator[None]:
    """Every worker the test started is gone when it ends, whatever happened."""
    try:
        yield
    finally:
        for started in workers:
            started.kill()
            await started.process.wait()


"""Every step either heartbeats (10 s timeout) or is bounded by a 30 s start-to-close."""


async def test_killed_workers_are_replaced_at_every_kind_of_step(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    queue = f"kill-{uuid.uuid4().hex[:8]}"
    api_dir, worker_dir = tmp_path / "api", tmp_path / "worker"
    env = flightdeck_env(dev_env, api_dir, queue)
    worker_env = flightdeck_env(dev_env, worker_dir, queue, FLIGHTDECK_SANDBOX_STEP_SECONDS="1.5")
    async with running("api", "--port", "0", env=env, log_dir=tmp_path) as api_process:
        token_file = api_dir / "api-token"

        workers: list[Running] = []

        async def worker() -> Running:
            started = await start(
                "worker",
                "--api",
                api_process.url,
                "--token-file",
                str(token_file),
                env=worker_env,
                log_dir=tmp_path,
                ready=WORKER_READY,
            )
            workers.append(started)
            return started

        headers = {"Authorization": f"Bearer {token_file.read_text().strip()}"}
        async with (
            httpx.AsyncClient(base_url=api_process.url, headers=headers, timeout=10) as api,
            _killed_at_exit(workers),
        ):
            current = await worker()
            created = await api.post(
                "/api/v1/labs",
                json={"name": "survivor", "requested_by": "ci", "severity": "critical"},
            )
            lab_id = created.json()["id"]

            async def lab() -> dict[str, Any]:
                body: dict[str, Any] = (await api.get(f"/api/v1/labs/{lab_id}")).json()
                return body

            def step(body: dict[str, Any], name: str) -> dict[str, Any]:
                steps = (body.get("progress") or {}).get("steps") or []
                return next((s for s in steps if s["name"] == name), {})

            resumed: dict[str, float] = {}

            async def kill_and_replace(kind: str, until: Any) -> None:
                nonlocal current
                current.kill()
                await current.process.wait()
                killed = time.monotonic()
                current = await worker()
                await eventually(lab, until, timeout=RESUME_WITHIN + 30)
                resumed[kind] = time.monotonic() - killed

            # 1. A short step (GenerateBlueprint, bounded and heartbeating) killed mid-way.
            await eventually(lab, lambda b: b["status"] == "generating_blueprint", timeout=30)
            await kill_and_replace("short step", lambda b: b["status"] == "provisioning")

            # 2. A long heartbeating step (ProvisionEnvironment) killed after some resources:
            #    the next attempt resumes after the last heartbeat.
            def provisioned(body: dict[str, Any]) -> int:
                detail = step(body, "ProvisionEnvironment").get("detail") or "0/"
                return int(detail.split("/")[0] or 0)

            async def live() -> dict[str, Any]:
                body: dict[str, Any] = (
                    await api.get(f"/api/v1/labs/{lab_id}", params={"live": lab_id})
                ).json()
                return body

            seen = provisioned(await eventually(live, lambda b: provisioned(b) >= 2, timeout=60))
            await kill_and_replace("heartbeating step", lambda b: b["status"] == "validating")
            # 3. Waiting for a person: nothing runs; the next worker replays the history.
            await eventually(lab, lambda b: b["status"] == "awaiting_review", timeout=60)
            await kill_and_replace(
                "human wait", lambda b: (b.get("progress") or {}).get("awaiting") is not None
            )
            # The new worker may not answer queries yet (the view above can be the last cached
            # progress): the API says 503, and a client retries with the same key, as the TUI does.
            review = {"decision": "approve", "reviewer": "ci", "idempotency_key": "review-1"}
            approved = await eventually(
                lambda: api.post(f"/api/v1/labs/{lab_id}/review", json=review),
                lambda response: response.status_code != 503,
                timeout=60,
            )
            assert approved.status_code == 200, approved.text
            assert approved.json()["outcome"] == "accepted", approved.text
            await eventually(lab, lambda b: b["status"] == "running", timeout=60)
            # Teardown after a cancel removes each resource exactly once.
            await api.post(f"/api/v1/labs/{lab_id}/cancel", json={"reason": "end", "actor": "ci"})
            await eventually(lab, lambda b: b["status"] == "cancelled", timeout=60)
            current.kill()
            await current.process.wait()

    print(" · ".join(f"{kind} resumed in {seconds:.1f} s" for kind, seconds in resumed.items()))
    assert all(seconds < RESUME_WITHIN + 20 for seconds in resumed.values()), resumed
    events = (worker_dir / "sandbox" / "labs" / lab_id / "events.log").read_text().splitlines()
    created_lines = [e for e in events if e.startswith("created")]
    removed_lines = [e for e in events if e.startswith("removed")]
    assert events.count("blueprint generated") == 1, events
    assert len(created_lines) == 8 and len(set(created_lines)) == 8, events
    assert seen >= 2  # the kill came after resources existed, and none was made twice
    assert len(removed_lines) == 8 and len(set(removed_lines)) == 8, events
