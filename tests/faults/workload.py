"""A workload of every workflow type driven through the API as a careful client would (actions
retried with their idempotency key), and the checks afterwards: every entity at its end, the
store agreeing with the workflow, each side effect in the sandbox once, each action audited once."""

from __future__ import annotations

import asyncio
import shutil
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from backend.domains.infra.sandbox_runner import SandboxState, SandboxTerraformRunner
from backend.domains.labs.model import LabSeverity
from backend.domains.labs.sandbox import TEMPLATES, SandboxLabStore
from backend.domains.tenants.providers.sandbox import SandboxTenantWorld
from tests.faults.split import FINAL, ROLLED_BACK, Monitor, SplitFlightdeck, Tracked

STEP_TIMEOUT = 90.0
"""Longest wait for one status of one entity (kills in between cost heartbeat timeouts)."""
ACTION_TIMEOUT = 60.0
NAMESPACE_EXAMPLE = (
    Path(__file__).resolve().parents[2] / "backend/domains/infra/examples/namespace/resources.yaml"
)
INFRA_ADDRESSES = ["temporalcloud_namespace.payments", "temporalcloud_user.oncall"]
LAB_RESOURCES = sorted(spec.name for spec in TEMPLATES[LabSeverity.LOW])
EXPECTED_AUDIT = {
    "labs": {"create", "review", "cancel"},
    "tenants": {"create", "deprovision"},
    "infra-runs": {"create"},
}
"""The actions each entity's audit trail holds applied, each exactly once (by verb prefix:
`review.approve` is a review); refusals (409, not applied) may be there besides, and after an
answer `sent` (delivered, verdict pending) the workflow's verdict as a row of its own."""
APPLIED = {"accepted", "sent", "no_op"}


@dataclass
class Workload:
    """Entities of every kind, created and driven to their ends concurrently."""

    flightdeck: SplitFlightdeck
    monitor: Monitor
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    retries: Counter[int] = field(default_factory=Counter)
    """Answers to actions that were retried, by HTTP status (0: no answer)."""
    rolled_back: list[str] = field(default_factory=list)
    """Tenants rolled back because a forward step lost every attempt to kills."""
    creates: Counter[int] = field(default_factory=Counter)
    """Answers to creates, by HTTP status."""

    def launch_wave(self, wave: int) -> None:
        """One lab, one tenant and one infra run, each driven to its end in the background."""
        for drive in (self._lab, self._tenant, self._infra_run):
            self.tasks.append(asyncio.create_task(drive(wave)))

    async def finish(self, timeout: float) -> None:
        """Wait for every driver (bounded); the first failure fails the run."""
        done, pending = await asyncio.wait(self.tasks, timeout=timeout)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        for task in done:
            task.result()
        assert not pending, f"{len(pending)} entities not at their end within {timeout} s"

    def launch_infra_probe(self, wave: int) -> None:
        """An infra run created while something is wrong: a 503 is an acceptable answer (then
        nothing is driven), a 201 is driven to its end like any."""
        self.tasks.append(asyncio.create_task(self._infra_run(wave, unavailable_ok=True)))

    async def _create(
        self, plural: str, body: dict[str, Any], *, unavailable_ok: bool = False
    ) -> Tracked | None:
        response = await self.flightdeck.request("POST", f"/api/v1/{plural}", json=body)
        code = 0 if response is None else response.status_code
        self.creates[code] += 1
        if unavailable_ok and code == 503:
            return None
        assert response is not None and code == 201, (
            f"create {plural}: {response.text if response is not None else 'no answer'}"
        )
        return self.monitor.track(plural, response.json()["id"])

    async def _act(self, tracked: Tracked, action: str, body: dict[str, Any]) -> None:
        """Take an action until the workflow accepted it: the same key while the answer is
        unknown (no answer, 5xx), a fresh key after a refusal (409: not applied)."""
        path = f"/api/v1/{tracked.plural}/{tracked.id}/{action}"
        deadline = time.monotonic() + ACTION_TIMEOUT
        attempt = 0
        while True:
            sent = {**body, "idempotency_key": f"faults-{tracked.id}-{action}-{attempt}"}
            response = await self.flightdeck.request("POST", path, json=sent)
            if response is not None and response.status_code == 200:
                outcome = response.json()["outcome"]
                assert outcome in {"accepted", "sent"}, f"{path}: {response.text}"
                return
            code = 0 if response is None else response.status_code
            assert code in {0, 409, 503, 504}, f"{path}: {code} {response and response.text}"
            self.retries[code] += 1
            if code == 409:
                attempt += 1
            if time.monotonic() > deadline:
                raise AssertionError(f"{path} not accepted within {ACTION_TIMEOUT} s: {code}")
            await asyncio.sleep(0.2)

    async def _lab(self, wave: int) -> None:
        lab = await self._create(
            "labs", {"name": f"fault-{wave}", "requested_by": "faults", "severity": "low"}
        )
        assert lab is not None
        await self.monitor.wait_status(lab, "awaiting_review", timeout=STEP_TIMEOUT)
        await self._act(lab, "review", {"decision": "approve", "reviewer": "faults"})
        await self.monitor.wait_status(lab, "running", timeout=STEP_TIMEOUT)
        await self._act(lab, "cancel", {"reason": "fault suite done", "actor": "faults"})
        await self.monitor.wait_status(lab, "cancelled", timeout=STEP_TIMEOUT)

    async def _tenant(self, wave: int) -> None:
        tenant = await self._create(
            "tenants",
            {
                "name": f"fault-{wave}",
                "admin_email": f"ops{wave}@faults.test",
                "requested_by": "ci",
            },
        )
        assert tenant is not None
        await self.monitor.wait_status(tenant, "ACTIVE", ROLLED_BACK, timeout=STEP_TIMEOUT)
        if tenant.status == ROLLED_BACK:
            body = await self.flightdeck.get(f"/api/v1/tenants/{tenant.id}")
            assert "Heartbeat timeout" in (body.get("status_reason") or ""), body
            self.rolled_back.append(tenant.id)
            return
        await self._act(tenant, "deprovision", {"actor": "faults"})
        await self.monitor.wait_status(tenant, "DEPROVISIONED", timeout=STEP_TIMEOUT)

    async def _infra_run(self, wave: int, *, unavailable_ok: bool = False) -> None:
        # Each run its own directory: the sandbox keeps one state file per directory.
        directory = self.flightdeck.root / "infra" / f"run-{wave}"
        directory.mkdir(parents=True)
        shutil.copy(NAMESPACE_EXAMPLE, directory / "resources.yaml")
        run = await self._create(
            "infra-runs",
            {"name": f"fault-{wave}", "directory": str(directory), "requested_by": "faults"},
            unavailable_ok=unavailable_ok,
        )
        if run is not None:
            await self.monitor.wait_status(run, "applied", timeout=STEP_TIMEOUT)


async def outcome_problems(flightdeck: SplitFlightdeck, monitor: Monitor) -> list[str]:
    """Everything wrong after the run (empty: every workflow finished, store = workflow, each
    side effect once in the sandbox, each action once in the audit log)."""
    problems: list[str] = []
    tenants = SandboxTenantWorld(flightdeck.sandbox)
    labs = SandboxLabStore(flightdeck.sandbox)
    infra = SandboxTerraformRunner(flightdeck.sandbox / "infra-state")
    for tracked in monitor.entities.values():
        what = f"{tracked.plural} {tracked.id}"
        body = await _settled(flightdeck, tracked)
        progress = body.get("progress") or {}
        rolled_back = tracked.plural == "tenants" and body["status"] == ROLLED_BACK
        if body["status"] != FINAL[tracked.plural] and not rolled_back:
            problems.append(f"{what} ended {body['status']}")
        if body["status"] != progress.get("phase"):
            problems.append(f"{what}: store {body['status']}, workflow {progress.get('phase')}")
        if not progress.get("done"):
            problems.append(f"{what}: workflow not done")
        audit = await flightdeck.get("/api/v1/audit", target_id=tracked.id, limit=100)
        expected = {"create"} if rolled_back else EXPECTED_AUDIT[tracked.plural]
        if _audit_problem(audit["items"], expected):
            trail = [(e["action"], e["outcome"], e["source"]) for e in audit["items"]]
            problems.append(f"{what}: audit {trail}")
        if tracked.plural == "labs":
            problems += _lab_problems(what, labs.events(tracked.id))
        elif tracked.plural == "tenants":
            events = await tenants.events(tracked.id)
            held = {table: rows for table, rows in (await tenants.holdings(tracked.id)).items()}
            problems += _once(what, events)
            if not rolled_back and not any(e.startswith("created") for e in events):
                problems.append(f"{what}: nothing created in the sandbox")
            if any(held.values()):
                problems.append(f"{what}: sandbox still holds {held}")
        else:
            directory = Path(body["directory"])
            path = infra.state_path(directory)
            state = SandboxState.model_validate_json(path.read_text())
            addresses = [r.address for r in state.resources]
            if sorted(addresses) != INFRA_ADDRESSES:
                problems.append(f"{what}: state holds {addresses}")
    return problems


async def _settled(flightdeck: SplitFlightdeck, tracked: Tracked) -> dict[str, Any]:
    """The entity with its exact progress, once the last status report has landed (bounded)."""
    deadline = time.monotonic() + 20
    while True:
        body: dict[str, Any] = await flightdeck.get(f"/api/v1/{tracked.plural}/{tracked.id}")
        phase = (body.get("progress") or {}).get("phase")
        if body["status"] == phase or time.monotonic() > deadline:
            return body
        await asyncio.sleep(0.1)


def _audit_problem(entries: list[dict[str, Any]], expected: set[str]) -> bool:
    """Each expected action requested and applied once; a request answered `sent` followed by
    exactly one verdict row of the workflow's; nothing from outside Flightdeck."""

    def verbs(source: str, outcomes: set[str]) -> Counter[str]:
        return Counter(
            e["action"].split(".")[0]
            for e in entries
            if e["source"] == source and e["outcome"] in outcomes
        )

    requested = verbs("flightdeck", APPLIED)
    verdicts = verbs("workflow", {"accepted", "refused"})
    sent = verbs("flightdeck", {"sent"})
    foreign = [e for e in entries if e["source"] not in {"flightdeck", "workflow"}]
    return requested != Counter(expected) or verdicts != sent or bool(foreign)


def _lab_problems(what: str, events: list[str]) -> list[str]:
    problems = _once(what, events)
    if events.count("blueprint generated") != 1:
        problems.append(f"{what}: blueprint generated {events.count('blueprint generated')}x")
    for verb in ("created", "removed"):
        names = sorted(e.split(" ", 1)[1] for e in events if e.startswith(verb + " "))
        if names != LAB_RESOURCES:
            problems.append(f"{what}: {verb} {names}, want {LAB_RESOURCES}")
    return problems


def _once(what: str, events: list[str]) -> list[str]:
    twice = [e for e, n in Counter(events).items() if n > 1]
    return [f"{what}: twice in the sandbox: {twice}"] if twice else []
