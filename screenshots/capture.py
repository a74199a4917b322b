"""Regenerate screenshots/*.svg and *.png from the running app (`make screenshots`).

Starts a real embedded stack in a temporary data dir (Temporal dev server on free ports, the
backend as a child process), creates labs and tenants in several states through the API, then
drives the TUI with Pilot and saves what it shows. Nothing here is drawn by hand.

Tenants are shot only when the tenants domain is registered (`backend.domains.DOMAINS`). To
show a tenant waiting for a person, the backend is restarted once with demo failure injection
(`FLIGHTDECK_FAIL`): its DNS step and the DNS rollback keep failing, so the saga stops and asks
for a retry or a resolve.

DIGs, hook runs and TAC workers are made on the backend that is shot (a worker DIG's worker is a
real process that stops with the backend that started it): a worker DIG `mig-worker` that the
pre-install hook of `app-dig` instantiates, runs its hook on and terminates; a worker DIG
`report-worker` left instantiated with its worker polling; and `edge-proxy` waiting for approval.

Hosts and deployments (placement) are made first on the first backend, so their changes are the
oldest in the audit log: four hosts, a deployment `prod` on every kubernetes host and `metrics` on
one of them; once the change processor has sent every change, two hosts' agents report `prod`
deployed and the others stay behind.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from backend.config import TemporalSettings, ensure_api_token, load_settings  # noqa: E402
from backend.domain.catalog import spec_for_plural  # noqa: E402
from backend.runtime.embedded import embedded_server  # noqa: E402
from backend.runtime.supervisor import BackendChild  # noqa: E402
from tui.app import FlightdeckApp  # noqa: E402
from tui.widgets.assignments_table import AssignmentsTable  # noqa: E402
from tui.widgets.audit_table import AuditTable  # noqa: E402
from tui.widgets.deployments_table import DeploymentsTable  # noqa: E402
from tui.widgets.entity_table import EntityTable  # noqa: E402
from tui.widgets.hosts_table import HostsTable  # noqa: E402
from tui.widgets.needs_table import NeedsTable  # noqa: E402
from tui.widgets.workers_table import WorkersTable  # noqa: E402

OUT = ROOT / "screenshots"
SIZE = (120, 36)
STUCK_TENANT_FAULTS = "dns:always,remove_dns:always"
WORKERS_PATH = (
    "/v2/projects/proj1/composite-apps/capp/v1/deployment-intent-groups/app-dig"
    "/temporal-action-controller/migrate/workers"
)
MIGRATION_QUEUE = "MIGRATION_WORKFLOW"
REPORTS_QUEUE = "REPORTS"
Json = dict[str, Any]


async def until(
    read: Callable[[], Awaitable[Any]], ok: Callable[[Any], bool], limit: float = 120
) -> Any:
    """Read until `ok(value)`; exit with the last value after `limit` seconds."""
    deadline = time.monotonic() + limit
    while True:
        value = await read()
        if ok(value):
            return value
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting; last value {value!r}")
        await asyncio.sleep(0.2)


def api_client(url: str, token: str) -> httpx.AsyncClient:
    """An authenticated client of the backend."""
    return httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30)


async def create(api: httpx.AsyncClient, plural: str, body: Json) -> str:
    """Create an entity; its id."""
    response = await api.post(f"/api/v1/{plural}", json=body)
    response.raise_for_status()
    entity_id: str = response.json()["id"]
    return entity_id


async def entity(api: httpx.AsyncClient, plural: str, entity_id: str) -> Json:
    """One entity as the API returns it."""
    answer: Json = (await api.get(f"/api/v1/{plural}/{entity_id}")).json()
    return answer


async def seed_placement(api: httpx.AsyncClient) -> None:
    """Hosts and deployments: `prod` on every kubernetes host (three), `metrics` on one of them;
    once the change processor has sent every change, tim-pi's and edge-01's agents report `prod`
    deployed, edge-02's has not reported, and lab-nuc (docker) takes neither."""

    async def add(plural: str, body: Json) -> None:
        # Who makes the change, as the CLI says it (the shared token acts for a named user).
        response = await api.post(
            f"/api/v1/{plural}", json=body, headers={"X-Flightdeck-Actor": "frank"}
        )
        response.raise_for_status()

    kube = {"platform": "kubernetes"}
    await add("hosts", {"name": "tim-pi", "labels": {"name": "tim-pi", **kube}})
    await add("hosts", {"name": "edge-01", "labels": {**kube, "region": "west"}})
    await add("hosts", {"name": "edge-02", "labels": {**kube, "region": "east"}})
    await add("hosts", {"name": "lab-nuc", "labels": {"platform": "docker"}})
    body = "app: ${deployment}\nimage: ${repo}\nhost: ${host}\nport: ${port}\n"
    await add("templates", {"name": "device-service", "body": body})
    repo = "https://github.com/timfpark/temp-sensor"
    await add("workloads", {"name": "temperature-sensor", "repo": repo})
    exporter = "https://github.com/prometheus/node_exporter"
    await add("workloads", {"name": "node-exporter", "repo": exporter})
    await add("targets", {"name": "k8s", "labels": kube})
    where = {"template": "device-service", "target": "k8s"}
    await add(
        "deployments",
        {"name": "prod", "workload": "temperature-sensor", **where, "values": {"port": "80"}},
    )
    await add(
        "deployments",
        {
            "name": "metrics",
            "workload": "node-exporter",
            **where,
            "values": {"port": "9100"},
            "replicas": 1,
        },
    )

    async def hosts() -> Json:
        answer: Json = (await api.get("/api/v1/hosts")).json()
        return answer

    page = await until(hosts, lambda h: h["head"] > 0 and h["processed"] == h["head"], 90)
    prod: Json = (await api.get("/api/v1/deployments/prod")).json()
    revision = next(a["revision"] for a in prod["assignments"] if a["host"] == "tim-pi")
    for host in ("tim-pi", "edge-01"):
        report = {"bookmark": page["processed"], "deployments": {"prod": revision}}
        response = await api.post(f"/api/v1/hosts/{host}/deployed", json=report)
        response.raise_for_status()


async def seed_labs(api: httpx.AsyncClient) -> None:
    """Labs: one running, one awaiting review, one cancelled."""

    async def lab(name: str, severity: str, who: str) -> str:
        body = {"name": name, "requested_by": who, "severity": severity, "ttl_hours": 8}
        return await create(api, "labs", body)

    def status_of(lab_id: str) -> Callable[[], Awaitable[str]]:
        async def read() -> str:
            return str((await entity(api, "labs", lab_id))["status"])

        return read

    running = await lab("checkout-canary", "medium", "alice")
    await lab("search-reindex", "high", "bob")
    cancelled = await lab("legacy-billing", "low", "carol")
    for lab_id in (running, cancelled):
        await until(status_of(lab_id), lambda s: s == "awaiting_review")
    await api.post(
        f"/api/v1/labs/{running}/review",
        json={"decision": "approve", "reviewer": "dana", "comment": "ship it"},
    )
    await api.post(
        f"/api/v1/labs/{cancelled}/cancel", json={"reason": "superseded", "actor": "carol"}
    )
    await until(status_of(cancelled), lambda s: s == "cancelled")
    await until(status_of(running), lambda s: s == "running")


async def seed_active_tenant(api: httpx.AsyncClient) -> None:
    """A tenant that provisions all the way (no faults on this backend)."""
    body = {"name": "acme", "plan": "enterprise", "admin_email": "it@acme.example"}
    tenant_id = await create(api, "tenants", {**body, "region": "eu-west-1"})

    async def status() -> str:
        return str((await entity(api, "tenants", tenant_id))["status"])

    await until(status, lambda s: s == "ACTIVE")


async def seed_stuck_tenant(api: httpx.AsyncClient) -> None:
    """A tenant whose DNS step and its rollback keep failing: it waits for a person."""
    body = {"name": "globex", "plan": "standard", "admin_email": "ops@globex.example"}
    tenant_id = await create(api, "tenants", body)

    async def awaiting() -> Any:
        return (await entity(api, "tenants", tenant_id)).get("awaiting")

    await until(awaiting, lambda a: a is not None, limit=180)


async def seed_infra_runs(api: httpx.AsyncClient) -> None:
    """An infra run that applied, and one held by a policy failure (an admin user in prod)."""
    applied = await create(api, "infra-runs", {"name": "payments-ns", "directory": "namespace"})
    held = await create(
        api,
        "infra-runs",
        {
            "name": "platform-admin",
            "directory": "admin-user",
            "variables": {"environment": "prod"},
        },
    )

    async def both() -> bool:
        first = await entity(api, "infra-runs", applied)
        second = await entity(api, "infra-runs", held)
        return first["status"] == "applied" and second["status"] == "awaiting_approval"

    await until(both, lambda done: done, 90)


async def seed_late_lab(url: str, token: str) -> None:
    """A lab created just before the labs picture, so it is still provisioning in it."""
    async with api_client(url, token) as api:
        body = {"name": "payments-dr-drill", "requested_by": "erin", "severity": "critical"}
        lab_id = await create(api, "labs", {**body, "ttl_hours": 8})

        async def percent() -> int:
            return int((await entity(api, "labs", lab_id))["percent"])

        await until(percent, lambda p: p >= 25)


async def dig_resting(
    api: httpx.AsyncClient, dig_id: str, *statuses: str, limit: float = 90
) -> Json:
    """The DIG once it is in one of `statuses` and its workflow takes actions again."""

    async def read() -> Json:
        return await entity(api, "digs", dig_id)

    answer: Json = await until(
        read, lambda d: d["status"] in statuses and bool(d["accepts"]), limit
    )
    return answer


async def dig_act(api: httpx.AsyncClient, dig_id: str, action: str, reason: str) -> None:
    """Approve, instantiate, terminate or delete a DIG as bob (alice asked for every DIG)."""
    response = await api.post(
        f"/api/v1/digs/{dig_id}/{action}", json={"actor": "bob", "reason": reason}
    )
    response.raise_for_status()


async def register_worker(api: httpx.AsyncClient, name: str, queue: str, dig: str) -> None:
    """A TAC worker registration under app-dig's `migrate` intent: `queue` is run by `dig`."""
    spec = {"taskQueue": queue, "dig": dig, "cApp": "workers", "project": "proj1"}
    body = {
        "metadata": {"name": name, "description": f"{name} worker"},
        "spec": {**spec, "cAppVersion": "v1"},
    }
    response = await api.post(WORKERS_PATH, json=body)
    response.raise_for_status()


async def seed_digs(api: httpx.AsyncClient) -> None:
    """DIGs: app-dig instantiated after its pre-install hook ran on mig-worker (started for the
    hook, then terminated), report-worker instantiated with its worker polling, edge-proxy
    waiting for approval; both workers registered under app-dig's `migrate` intent."""

    async def dig(name: str, app: str, apps: str, **more: Any) -> str:
        where = {"project": "proj1", "composite_app": app, "version": "v1"}
        body = {"name": name, **where, "apps": apps, "requested_by": "alice", **more}
        dig_id = await create(api, "digs", body)
        await dig_resting(api, dig_id, "created")
        return dig_id

    hook = {
        "workflow_type": "flightdeck.hooks.Record",
        "task_queue": MIGRATION_QUEUE,
        "params": {"message": "schema v7", "seconds": 2},
    }
    intent = {"name": "migrate", "hook_type": "pre-install", "workflows": [hook]}
    mig = await dig("mig-worker", "workers", f"worker:flightdeck-worker:{MIGRATION_QUEUE}")
    reports = await dig("report-worker", "workers", f"worker:flightdeck-worker:{REPORTS_QUEUE}")
    app = await dig("app-dig", "capp", "web:helm, db:manifest", tac_intents=[intent])
    await dig("edge-proxy", "capp", "proxy:helm")
    await register_worker(api, "mig", MIGRATION_QUEUE, "mig-worker")
    await register_worker(api, "reports", REPORTS_QUEUE, "report-worker")
    for dig_id in (mig, reports, app):
        await dig_act(api, dig_id, "approve", "four eyes: reviewed")
        await dig_resting(api, dig_id, "approved")

    await dig_act(api, reports, "instantiate", "nightly reports")
    ready = await dig_resting(api, reports, "instantiated", "failed")
    await dig_act(api, app, "instantiate", "release 7")
    app_dig = await dig_resting(api, app, "instantiated", "failed", limit=120)
    if app_dig["status"] != "instantiated" or ready["status"] != "instantiated":
        raise SystemExit(f"a DIG failed: {app_dig['status_reason'] or ready['status_reason']}")

    async def settled() -> Json:
        runs = (await api.get("/api/v1/hook-runs")).json()["items"]
        workers = (await api.get("/api/v1/workers")).json()["items"]
        return {
            "runs": [r["status"] for r in runs],
            "mig": (await entity(api, "digs", mig))["status"],
            "ready": {w["name"]: w["ready"] for w in workers},
            "digs": [(await entity(api, "digs", i))["ready"] for i in (app, reports)],
        }

    # The terminated worker's poller stays listed for a while: wait until it no longer counts.
    want = {
        "runs": ["succeeded"],
        "mig": "terminated",
        "ready": {"mig": False, "reports": True},
        "digs": [True, True],
    }
    await until(settled, lambda s: s == want, limit=150)


async def shoot(url: str, token: str, *, tenants: bool, digs: bool, placement: bool) -> list[Path]:
    """Drive the TUI and save each view."""
    saved: list[Path] = []
    app = FlightdeckApp(url, token, user="oncall", refresh_interval=0.5)

    def save(name: str) -> None:
        app.save_screenshot(filename=f"{name}.svg", path=str(OUT))
        saved.append(OUT / f"{name}.svg")

    async with app.run_test(size=SIZE) as pilot:

        async def settle_until(condition: Callable[[], bool], limit: float = 30) -> None:
            deadline = time.monotonic() + limit
            while not condition():
                if time.monotonic() > deadline:
                    raise SystemExit(f"the TUI never showed what was expected ({app.screen})")
                await pilot.pause(0.1)
            await pilot.pause(0.6)  # one more refresh, so live progress is on screen

        def rows(
            kind: type[
                EntityTable
                | NeedsTable
                | WorkersTable
                | AuditTable
                | HostsTable
                | DeploymentsTable
                | AssignmentsTable
            ],
        ) -> int:
            tables = app.screen.query(kind)
            return tables.first().row_count if tables else 0

        async def open_detail(name: str) -> None:
            """Select `name` in the view's list, open its details and wait for them."""
            await settle_until(lambda: any(e.name == name for e in listed().entities))
            listed().select_key(next(e.id for e in listed().entities if e.name == name))
            await pilot.pause(0.3)
            await pilot.press("enter")
            await settle_until(lambda: (app.screen.title or "").endswith(f"▸ {name}"))
            await settle_until(lambda: rows(AuditTable) > 0)  # loaded, not just the list's copy

        def listed() -> EntityTable:
            return app.screen.query_one(EntityTable)

        async def shoot_digs() -> None:
            app.open_view("digs")
            await settle_until(lambda: rows(EntityTable) >= 4)
            listed().select_key(next(e.id for e in listed().entities if e.name == "app-dig"))
            await pilot.pause(0.3)
            save("digs")
            await open_detail("app-dig")
            save("dig-detail")
            await pilot.press("escape")
            await pilot.pause(0.3)

            app.open_view("workers")
            await settle_until(lambda: rows(WorkersTable) >= 2)
            save("workers")

            app.open_view("hook-runs")
            await settle_until(lambda: rows(EntityTable) >= 1)
            [run] = listed().entities
            await open_detail(run.name)
            save("hook-run")
            await pilot.press("escape")
            await pilot.pause(0.3)

        async def shoot_placement() -> None:
            app.open_view("hosts")
            await settle_until(lambda: rows(HostsTable) >= 4)
            hosts = app.screen.query_one(HostsTable)
            hosts.select_key("tim-pi")
            await pilot.pause(0.3)
            save("hosts")

            app.open_view("deployments")
            await settle_until(lambda: rows(DeploymentsTable) >= 2)
            app.screen.query_one(DeploymentsTable).select_key("prod")
            await pilot.pause(0.3)
            await pilot.press("enter")
            await settle_until(lambda: (app.screen.title or "").endswith("▸ prod"))
            await settle_until(lambda: rows(AssignmentsTable) >= 3)
            save("deployment-detail")
            await pilot.press("escape")
            await pilot.pause(0.3)

        await settle_until(lambda: rows(NeedsTable) >= 2 + tenants + digs)
        save("needs")

        await seed_late_lab(url, token)
        app.open_view("labs")
        await settle_until(lambda: rows(EntityTable) >= 4, limit=10)
        table = app.screen.query_one(EntityTable)
        review = next(e.id for e in table.entities if e.name == "search-reindex")
        table.select_key(review)
        await settle_until(lambda: table.entities[0].progress is not None)
        save("labs")

        await pilot.press("enter")
        await settle_until(lambda: (app.screen.title or "").endswith("search-reindex"))
        save("lab-detail")
        await pilot.press("r")
        await pilot.pause(0.3)
        await pilot.press("a", "tab", *"approved: load test looks good")
        await pilot.pause(0.3)
        save("review")
        await pilot.press("escape", "escape")
        await pilot.pause(0.3)

        await pilot.press("n")
        await pilot.pause(0.3)
        await pilot.press(*"orders-perf-test", "tab", "h")
        await pilot.pause(0.3)
        save("new-lab")
        await pilot.press("escape")
        await pilot.pause(0.3)

        if tenants:
            app.open_view("tenants")
            await settle_until(lambda: rows(EntityTable) >= 2)
            save("tenants")

        app.open_view("infra-runs")
        await settle_until(lambda: rows(EntityTable) >= 2)
        table = app.screen.query_one(EntityTable)
        table.select_key(next(e.id for e in table.entities if e.name == "platform-admin"))
        await pilot.pause(0.3)
        save("infra-runs")
        await pilot.press("enter")
        await settle_until(lambda: (app.screen.title or "").endswith("platform-admin"))
        save("infra-detail")
        await pilot.press("escape")
        await pilot.pause(0.3)

        if digs:
            await shoot_digs()

        if placement:
            await shoot_placement()

        app.open_view("audit")
        await pilot.pause(1.0)
        save("audit")
    return saved


def to_png(paths: list[Path]) -> None:
    """PNG copies of the SVGs (for places that do not show SVG)."""
    try:
        import cairosvg  # type: ignore[import-untyped]
    except ImportError:
        print("cairosvg not installed: SVG only")
        return
    for svg in paths:
        cairosvg.svg2png(url=str(svg), write_to=str(svg.with_suffix(".png")), output_width=1400)


async def seed(url: str, token: str, *, tenants: bool, placement: bool) -> None:
    """What the first backend (no faults) makes."""
    async with api_client(url, token) as api:
        if placement:
            await seed_placement(api)
        await seed_labs(api)
        await seed_infra_runs(api)
        if tenants:
            await seed_active_tenant(api)


async def seed_shot_backend(url: str, token: str, *, tenants: bool, digs: bool) -> None:
    """What the second backend (the one shot; tenant DNS faults) makes."""
    async with api_client(url, token) as api:
        if tenants:
            await seed_stuck_tenant(api)
        if digs:
            await seed_digs(api)


def main() -> None:
    tenants = spec_for_plural("tenants") is not None
    digs = spec_for_plural("digs") is not None and spec_for_plural("hook-runs") is not None
    placement = spec_for_plural("processors") is not None
    with tempfile.TemporaryDirectory(prefix="flightdeck-shots-") as tmp:
        os.environ["FLIGHTDECK_DATA_DIR"] = tmp
        os.environ["FLIGHTDECK_SANDBOX_STEP_SECONDS"] = "1.0"
        settings = load_settings()
        settings.paths.ensure()
        temporal = TemporalSettings()
        server = embedded_server(settings, temporal, headless=True, port=None)
        info = server.start_or_reuse(timeout=60)
        env = {**os.environ, "TEMPORAL_ADDRESS": info.address, "TEMPORAL_NAMESPACE": info.namespace}
        backend = BackendChild(settings, env, 0)
        try:
            url = backend.wait_ready(90)
            token = ensure_api_token(settings)
            asyncio.run(seed(url, token, tenants=tenants, placement=placement))
            backend.stop()
            # Slower steps from here on, so the last lab is still provisioning when shot.
            slower = {**env, "FLIGHTDECK_SANDBOX_STEP_SECONDS": "3.0"}
            if tenants:
                slower["FLIGHTDECK_FAIL"] = STUCK_TENANT_FAULTS
            backend = BackendChild(settings, slower, 0)
            url = backend.wait_ready(90)
            asyncio.run(seed_shot_backend(url, token, tenants=tenants, digs=digs))
            paths = asyncio.run(shoot(url, token, tenants=tenants, digs=digs, placement=placement))
            to_png(paths)
            for path in paths:
                print(f"wrote {path.relative_to(ROOT)} (+ .png)")
            if not tenants:
                print("tenants are not registered yet: no tenants.svg")
            if not digs:
                print("DIGs and hook runs are not registered yet: no DIG, worker or hook pictures")
            if not placement:
                print("placement is not registered yet: no hosts or deployment pictures")
        finally:
            backend.stop()
            server.stop()
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
