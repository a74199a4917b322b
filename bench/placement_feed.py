"""Benchmark of the per-host feed (`PlacementFeed.host_feed`, the spec's HTTP endpoint approach).

Builds a fresh SQLite database (a temp dir) with one big host carrying 1,000 deployments, 200
other hosts carrying their own, a few workloads and templates; then times:

  * creating the 1,000 deployments (one store transaction each: row, change, assignment, audit);
  * the big host's full feed (`since=0`: 1,000 rendered upserts);
  * its feed after a template update (the bookmark from before the update: the half of its
    deployments that use that template);
  * its feed with nothing new (the current bookmark);
  * the same three over HTTP, through the real FastAPI app in-process (httpx, no network).

Not a test: it prints a table and exits 0 (1 only when a feed answers wrongly).

    make bench                         # or: .venv/bin/python bench/placement_feed.py
    .venv/bin/python bench/placement_feed.py --deployments 5000 --runs 50
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from backend.api.app import create_app  # noqa: E402
from backend.api.context import ApiContext  # noqa: E402
from backend.domains.placement.model import (  # noqa: E402
    DeploymentBody,
    HostBody,
    HostFeed,
    TargetBody,
    TemplateBody,
    WorkloadBody,
)
from backend.store.audit import AuditRepository  # noqa: E402
from backend.store.database import Database  # noqa: E402
from backend.store.placement import PlacementStore  # noqa: E402
from backend.store.placement_feed import PlacementFeed  # noqa: E402

BIG = "big-host"
TOKEN = "bench-token-0123456789abcdef"
ACTOR = "bench"
TEMPLATES = {
    "web": "kind: web\nname: ${deployment}\nimage: ${repo}:${tag}\nhost: ${host}\nport: ${port}\n",
    "job": "kind: job\nname: ${deployment}\nimage: ${repo}:${tag}\nschedule: ${schedule}\n",
    "edge": "kind: edge\nname: ${deployment}\non: ${host}\nreplicas: ${replicas}\n",
}
VALUES = {
    "web": {"port": "8080", "tag": "v1"},
    "job": {"tag": "v1", "schedule": "@hourly"},
    "edge": {},
}


def _percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


async def _timed(runs: int, call: Callable[[], Awaitable[Any]]) -> tuple[list[float], Any]:
    await call()  # warm up (statement cache, pages)
    samples: list[float] = []
    result: Any = None
    for _ in range(runs):
        start = time.perf_counter()
        result = await call()
        samples.append(time.perf_counter() - start)
    return samples, result


async def build(
    store: PlacementStore, deployments: int, other_hosts: int
) -> tuple[float, float, int]:
    """The fleet; how long the big host's deployments took to create (total, per one), and
    how many of them use the `web` template."""
    for name, body in TEMPLATES.items():
        await store.create("template", TemplateBody(name=name, body=body), actor=ACTOR)
    for number in range(3):
        workload = WorkloadBody(name=f"app-{number}", repo=f"https://git.example/app-{number}")
        await store.create("workload", workload, actor=ACTOR)
    await store.create("host", HostBody(name=BIG, labels={"role": "big"}), actor=ACTOR)
    await store.create("target", TargetBody(name="big", labels={"role": "big"}), actor=ACTOR)
    for number in range(other_hosts):
        labels = {"zone": f"z{number % 4}", "tier": "edge"}
        await store.create("host", HostBody(name=f"edge-{number:03d}", labels=labels), actor=ACTOR)
    for zone in range(4):
        target = TargetBody(name=f"zone-{zone}", labels={"zone": f"z{zone}"})
        await store.create("target", target, actor=ACTOR)
    # The other hosts' own deployments: every zone, and a replica-limited one per zone.
    for number in range(20):
        await store.create(
            "deployment",
            DeploymentBody(
                name=f"fleet-{number:02d}",
                workload=f"app-{number % 3}",
                template="edge",
                target=f"zone-{number % 4}",
                replicas=None if number % 2 else 3,
            ),
            actor=ACTOR,
        )
    web = 0
    start = time.perf_counter()
    for number in range(deployments):
        template = "web" if number % 2 == 0 else ("job" if number % 4 == 1 else "edge")
        web += template == "web"
        await store.create(
            "deployment",
            DeploymentBody(
                name=f"svc-{number:05d}",
                workload=f"app-{number % 3}",
                template=template,
                target="big",
                values=VALUES[template],
            ),
            actor=ACTOR,
        )
    elapsed = time.perf_counter() - start
    return elapsed, elapsed / max(deployments, 1), web


def _http_client(database: Database) -> httpx.AsyncClient:
    """The real app over the database; only what the feed route needs is real (no Temporal)."""
    none: Any = None
    context = ApiContext(
        client=none,
        database=database,
        entities={},
        actions=none,
        needs=none,
        audit=AuditRepository(database),
        status=none,
        token=TOKEN,
        namespace="bench",
        temporal_address="none",
    )
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(context)),
        base_url="http://flightdeck",
        headers={"Authorization": f"Bearer {TOKEN}"},
    )


async def main(deployments: int, other_hosts: int, runs: int, http: bool) -> int:
    rows: list[tuple[str, int, list[float]]] = []
    failures: list[str] = []
    with tempfile.TemporaryDirectory(prefix="flightdeck-bench-") as directory:
        database = await Database.open(Path(directory) / "bench.db")
        try:
            store, feed = PlacementStore(database), PlacementFeed(database)
            created, each, web = await build(store, deployments, other_hosts)
            before_update = await feed.head()
            writes: list[tuple[str, float]] = [(f"create {deployments} deployments", created)]
            start = time.perf_counter()
            await store.update(
                "template", "web", {"body": TEMPLATES["web"] + "revision: 2\n"}, actor=ACTOR
            )
            writes.append((f"update the template {web} of them use", time.perf_counter() - start))
            start = time.perf_counter()
            # A label that moves nothing: every deployment on the host is placed again.
            await store.update("host", BIG, {"labels": {"role": "big", "x": "y"}}, actor=ACTOR)
            writes.append(("relabel the big host (nothing moves)", time.perf_counter() - start))
            start = time.perf_counter()
            processed, batches = 0, 0
            while True:
                batch = await feed.process(processed)
                if batch.changes == 0:
                    break
                processed, batches = batch.bookmark, batches + 1
            writes.append(
                (
                    f"process all {processed} changes ({batches} batches)",
                    time.perf_counter() - start,
                )
            )
            head = await feed.head()
            cases: list[tuple[str, int, int]] = [
                ("full feed (since=0)", 0, deployments),
                ("after a template update", before_update, web),
                ("nothing new (since=head)", head, 0),
            ]
            for label, since, expected in cases:

                async def direct(since: int = since) -> HostFeed:
                    return await feed.host_feed(BIG, since)

                samples, result = await _timed(runs, direct)
                rows.append((f"store: {label}", len(result.deployments), samples))
                if len(result.deployments) != expected or result.bookmark != head:
                    failures.append(f"{label}: {len(result.deployments)} upserts, want {expected}")
            if http:
                async with _http_client(database) as client:
                    for label, since, expected in cases:

                        async def over_http(since: int = since) -> dict[str, Any]:
                            response = await client.get(
                                f"/api/v1/hosts/{BIG}/changes", params={"since": since}
                            )
                            response.raise_for_status()
                            answer: dict[str, Any] = response.json()
                            return answer

                        samples, answer = await _timed(runs, over_http)
                        rows.append((f"http:  {label}", len(answer["deployments"]), samples))
                        if len(answer["deployments"]) != expected:
                            failures.append(f"http {label}: {len(answer['deployments'])} upserts")
            assignments = await _scalar(database, "SELECT COUNT(*) FROM placement_assignments")
        finally:
            await database.close()

    print(
        f"placement feed benchmark: 1 host with {deployments} deployments, {other_hosts} other"
        f" hosts, {assignments} assignments, {runs} runs each"
    )
    print()
    print(f"{'write':<40} {'total ms':>9} {'each ms':>9}")
    for label, seconds in writes:
        per = f"{each * 1000:>9.2f}" if label.startswith("create") else f"{'':>9}"
        print(f"{label:<40} {seconds * 1000:>9.1f} {per}")
    print()
    print(f"{'case':<40} {'upserts':>8} {'p50 ms':>9} {'p95 ms':>9} {'max ms':>9}")
    for label, count, samples in rows:
        print(
            f"{label:<40} {count:>8} {statistics.median(samples) * 1000:>9.2f}"
            f" {_percentile(samples, 0.95) * 1000:>9.2f} {max(samples) * 1000:>9.2f}"
        )
    for failure in failures:
        print(f"WRONG: {failure}", file=sys.stderr)
    return 1 if failures else 0


async def _scalar(database: Database, sql: str) -> int:
    async with database.connection.execute(sql) as cur:
        row = await cur.fetchone()
    return int(row[0]) if row else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deployments", type=int, default=1000)
    parser.add_argument("--other-hosts", type=int, default=200)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--no-http", action="store_true", help="time the store only")
    arguments = parser.parse_args()
    sys.exit(
        asyncio.run(
            main(
                arguments.deployments, arguments.other_hosts, arguments.runs, not arguments.no_http
            )
        )
    )
