"""Hosts and placement over HTTP, against the real app, store and a worker on the dev server:
the spec's walk (host, template, workload, target, deployment) to a rendered per-host feed;
refusals that change nothing; the change processor (a long-lived workflow) sending each change
to the hosts' topics and showing its bookmark; a host agent's report turning an assignment
`deployed`; every change audited."""

from __future__ import annotations

from typing import Any

import httpx

from backend.domains.placement.model import PROCESSOR_KIND
from tests.stack import Stack, eventually

TEMPLATE = "app: ${deployment}\nimage: ${repo}\nhost: ${host}\nport: ${port}\n"


async def _ok(response: httpx.Response, code: int = 200) -> Any:
    assert response.status_code == code, response.text
    return response.json()


async def _walk(api: httpx.AsyncClient) -> None:
    """The spec's developer experience, over the API."""
    for path, body in (
        ("hosts", {"name": "tim-pi", "labels": {"name": "tim-pi", "platform": "kubernetes"}}),
        ("hosts", {"name": "edge-2", "labels": {"platform": "kubernetes"}}),
        ("templates", {"name": "device-service", "body": TEMPLATE}),
        ("workloads", {"name": "temperature-sensor", "repo": "https://example.test/temp"}),
        ("targets", {"name": "tim-pi", "labels": {"name": "tim-pi"}}),
        (
            "deployments",
            {
                "name": "prod",
                "workload": "temperature-sensor",
                "template": "device-service",
                "target": "tim-pi",
                "values": {"port": "8080"},
            },
        ),
    ):
        await _ok(await api.post(f"/api/v1/{path}", json=body), 201)


async def test_spec_walk_renders_the_deployment_on_the_targeted_host_only(
    api: httpx.AsyncClient,
) -> None:
    await _walk(api)
    feed = await _ok(await api.get("/api/v1/hosts/tim-pi/changes", params={"since": "0"}))
    assert [d["deployment"] for d in feed["deployments"]] == ["prod"]
    assert feed["deployments"][0]["rendered"] == (
        "app: prod\nimage: https://example.test/temp\nhost: tim-pi\nport: 8080\n"
    )
    assert feed["tombstones"] == []
    other = await _ok(await api.get("/api/v1/hosts/edge-2/changes", params={"since": "0"}))
    assert other["deployments"] == [] and other["tombstones"] == []
    # Nothing new since the bookmark.
    again = await _ok(
        await api.get("/api/v1/hosts/tim-pi/changes", params={"since": feed["bookmark"]})
    )
    assert again["deployments"] == [] and again["bookmark"] == feed["bookmark"]

    # A template change re-renders; a retarget moves the deployment between hosts.
    await _ok(
        await api.patch(
            "/api/v1/templates/device-service", json={"body": TEMPLATE + "replicas: x\n"}
        )
    )
    changed = await _ok(
        await api.get("/api/v1/hosts/tim-pi/changes", params={"since": feed["bookmark"]})
    )
    assert changed["deployments"][0]["rendered"].endswith("replicas: x\n")
    await _ok(
        await api.post(
            "/api/v1/targets", json={"name": "k8s", "labels": {"platform": "kubernetes"}}
        ),
        201,
    )
    await _ok(await api.patch("/api/v1/deployments/prod", json={"target": "k8s", "replicas": 1}))
    moved_from = await _ok(
        await api.get("/api/v1/hosts/tim-pi/changes", params={"since": changed["bookmark"]})
    )
    moved_to = await _ok(
        await api.get("/api/v1/hosts/edge-2/changes", params={"since": changed["bookmark"]})
    )
    # One replica: it stays where it was (tim-pi still matches); edge-2 gets nothing.
    assert [d["deployment"] for d in moved_from["deployments"]] == ["prod"]
    assert moved_to["deployments"] == []
    await _ok(await api.patch("/api/v1/hosts/tim-pi", json={"labels": {"name": "tim-pi"}}))
    relabelled = await _ok(
        await api.get("/api/v1/hosts/tim-pi/changes", params={"since": moved_from["bookmark"]})
    )
    arrived = await _ok(
        await api.get("/api/v1/hosts/edge-2/changes", params={"since": moved_from["bookmark"]})
    )
    assert [t["deployment"] for t in relabelled["tombstones"]] == ["prod"]
    assert [d["deployment"] for d in arrived["deployments"]] == ["prod"]
    assert "host: edge-2" in arrived["deployments"][0]["rendered"]


async def test_refusals_say_why_and_change_nothing(api: httpx.AsyncClient) -> None:
    await _walk(api)
    head = (await _ok(await api.get("/api/v1/changes"))).get("head")
    refusals = [
        (await api.post("/api/v1/hosts", json={"name": "tim-pi"}), 409, "exists"),
        (await api.delete("/api/v1/templates/device-service"), 409, "deployment prod"),
        (await api.delete("/api/v1/targets/nothing"), 404, "no target named nothing"),
        (
            await api.post(
                "/api/v1/deployments",
                json={
                    "name": "dev",
                    "workload": "temperature-sensor",
                    "template": "device-service",
                    "target": "tim-pi",
                },
            ),
            409,
            "needs values for port",
        ),
        (
            await api.post(
                "/api/v1/deployments",
                json={"name": "dev", "workload": "w", "template": "device-service", "target": "x"},
            ),
            409,
            "no workload named w",
        ),
        (
            await api.patch("/api/v1/templates/device-service", json={"body": "needs ${region}\n"}),
            409,
            "needs values for region",
        ),
        (await api.post("/api/v1/templates", json={"name": "bad", "body": "cost $5"}), 422, "$$"),
        (await api.post("/api/v1/hosts", json={"name": "Bad Name"}), 422, ""),
        (await api.get("/api/v1/hosts/tim-pi/changes", params={"since": "999999"}), 409, "past"),
        (await api.get("/api/v1/hosts/ghost/changes", params={"since": "0"}), 404, "ghost"),
    ]
    for response, code, words in refusals:
        assert response.status_code == code, response.text
        assert words in response.text
    assert (await _ok(await api.get("/api/v1/changes")))["head"] == head


async def test_processor_sends_changes_to_host_topics_and_agent_report_marks_deployed(
    api: httpx.AsyncClient, stack: Stack
) -> None:
    await _walk(api)
    head = (await _ok(await api.get("/api/v1/changes")))["head"]

    async def prod() -> Any:
        return await _ok(await api.get("/api/v1/deployments/prod"))

    # The processor is started by the first change and woken by each; it catches up.
    view = await eventually(prod, lambda v: v["assignments"][0]["state"] == "event sent")
    assert [a["host"] for a in view["assignments"]] == ["tim-pi"]
    assert (view["repo"], view["target_labels"]) == (
        "https://example.test/temp",
        {"name": "tim-pi"},
    )
    events = await _ok(await api.get("/api/v1/hosts/tim-pi/events"))
    assert [(e["deployment"], e["op"]) for e in events["items"]] == [("prod", "update")]
    assert "port: 8080" in events["items"][0]["rendered"]
    processors = await _ok(await api.get("/api/v1/processors"))
    (processor,) = processors["items"]
    assert processor["kind"] == PROCESSOR_KIND and processor["name"] == "placement"

    async def caught_up() -> Any:
        return await _ok(await api.get(f"/api/v1/processors/{processor['id']}"))

    await eventually(caught_up, lambda p: p["bookmark"] == head and p["lag"] == 0)

    revision = view["assignments"][0]["revision"]
    report = {"bookmark": head, "deployments": {"prod": revision}}
    answer = await _ok(await api.post("/api/v1/hosts/tim-pi/deployed", json=report))
    assert answer["deployed"] == 1
    assert (await prod())["assignments"][0]["state"] == "deployed"
    hosts = await _ok(await api.get("/api/v1/hosts"))
    row = next(r for r in hosts["items"] if r["name"] == "tim-pi")
    assert (row["deployments"], row["deployed"], row["agent_bookmark"]) == (1, 1, head)

    # A change to the deployment makes it pending again, then sent, on the same host.
    await _ok(await api.patch("/api/v1/deployments/prod", json={"values": {"port": "9090"}}))
    assert (await prod())["assignments"][0]["state"] in ("committed", "event sent")
    await eventually(prod, lambda v: v["assignments"][0]["state"] == "event sent")
    events = await _ok(await api.get("/api/v1/hosts/tim-pi/events", params={"after": 1}))
    assert "port: 9090" in events["items"][-1]["rendered"]


async def test_every_change_is_audited_with_its_change_number(api: httpx.AsyncClient) -> None:
    await _walk(api)
    await _ok(await api.delete("/api/v1/deployments/prod"))
    audit = await _ok(await api.get("/api/v1/audit", params={"limit": 50}))
    actions = [(e["action"], e["target_id"]) for e in audit["items"]]
    for expected in (
        ("host.create", "tim-pi"),
        ("template.create", "device-service"),
        ("deployment.create", "prod"),
        ("deployment.delete", "prod"),
    ):
        assert expected in actions
    changes = await _ok(await api.get("/api/v1/changes", params={"after": 0, "limit": 3}))
    assert [c["seq"] for c in changes["items"]] == [1, 2, 3]
    rest = await _ok(await api.get("/api/v1/changes", params={"after": changes["next_after"]}))
    assert rest["items"][0]["seq"] == 4 and rest["items"][-1]["op"] == "delete"


async def test_a_dig_app_naming_a_target_is_placed_when_instantiated_and_removed_on_terminate(
    api: httpx.AsyncClient,
) -> None:
    await _ok(
        await api.post("/api/v1/hosts", json={"name": "edge-1", "labels": {"tier": "edge"}}), 201
    )
    await _ok(
        await api.post("/api/v1/hosts", json={"name": "core-1", "labels": {"tier": "core"}}), 201
    )
    await _ok(
        await api.post("/api/v1/targets", json={"name": "edge", "labels": {"tier": "edge"}}), 201
    )
    created = await _ok(
        await api.post(
            "/api/v1/digs",
            json={
                "name": "shop",
                "project": "retail",
                "composite_app": "store",
                "version": "v2",
                "apps": "web:helm@edge, db:helm",
                "requested_by": "alice",
            },
        ),
        201,
    )
    assert created["apps"][0]["target"] == "edge" and created["apps"][1]["target"] is None
    dig_id = created["id"]

    async def dig() -> Any:
        return await _ok(await api.get(f"/api/v1/digs/{dig_id}"))

    def resting(status: str) -> Any:
        return lambda d: d["status"] == status and bool(d["accepts"])

    await eventually(dig, resting("created"), timeout=60)
    for action, status in (("approve", "approved"), ("instantiate", "instantiated")):
        await _ok(
            await api.post(f"/api/v1/digs/{dig_id}/{action}", json={"actor": "bob", "reason": "go"})
        )
        up = await eventually(dig, resting(status), timeout=60)
    assert up["placed"] == "web → target edge"

    feed = await _ok(await api.get("/api/v1/hosts/edge-1/changes", params={"since": 0}))
    (placed,) = feed["deployments"]
    assert placed["deployment"] == "shop-web" and placed["workload"] == "store-web"
    assert "app web of DIG shop (retail/store/v2)" in placed["rendered"]
    assert "host: edge-1" in placed["rendered"]
    core = await _ok(await api.get("/api/v1/hosts/core-1/changes", params={"since": 0}))
    assert core["deployments"] == []
    deployment = await _ok(await api.get("/api/v1/deployments/shop-web"))
    assert [a["host"] for a in deployment["assignments"]] == ["edge-1"]

    await _ok(
        await api.post(f"/api/v1/digs/{dig_id}/terminate", json={"actor": "bob", "reason": "done"})
    )
    await eventually(dig, resting("terminated"), timeout=60)
    after = await _ok(
        await api.get("/api/v1/hosts/edge-1/changes", params={"since": feed["bookmark"]})
    )
    assert [t["deployment"] for t in after["tombstones"]] == ["shop-web"]
    assert (await api.get("/api/v1/deployments/shop-web")).status_code == 404


async def test_a_dig_app_naming_a_missing_target_fails_with_the_reason(
    api: httpx.AsyncClient,
) -> None:
    created = await _ok(
        await api.post(
            "/api/v1/digs",
            json={
                "name": "lost",
                "project": "retail",
                "composite_app": "store",
                "version": "v2",
                "apps": "web:helm@nowhere",
                "requested_by": "alice",
            },
        ),
        201,
    )
    dig_id = created["id"]

    async def dig() -> Any:
        return await _ok(await api.get(f"/api/v1/digs/{dig_id}"))

    await eventually(dig, lambda d: d["status"] == "created" and bool(d["accepts"]), timeout=60)
    await _ok(
        await api.post(f"/api/v1/digs/{dig_id}/approve", json={"actor": "bob", "reason": "ok"})
    )
    await eventually(dig, lambda d: d["status"] == "approved" and bool(d["accepts"]), timeout=60)
    await _ok(
        await api.post(f"/api/v1/digs/{dig_id}/instantiate", json={"actor": "bob", "reason": "go"})
    )
    failed = await eventually(dig, lambda d: d["status"] == "failed", timeout=60)
    assert "no target named nowhere" in (failed["status_reason"] or failed["last_error"] or "")
