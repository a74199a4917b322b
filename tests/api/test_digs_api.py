"""DIGs end to end in-process: the platform's routes and EMCO's v2 paths over the real app,
store, worker (sandbox orchestrator) and dev server."""

from __future__ import annotations

from typing import Any

import httpx

from tests.stack import eventually

V2 = "/v2/projects/proj1/composite-apps/capp/v1/deployment-intent-groups"


async def dig(api: httpx.AsyncClient, dig_id: str) -> dict[str, Any]:
    body: dict[str, Any] = (await api.get(f"/api/v1/digs/{dig_id}")).json()
    return body


async def settled(api: httpx.AsyncClient, dig_id: str, status: str) -> dict[str, Any]:
    """Wait until the DIG rests in `status` (it takes its next operations)."""
    return await eventually(
        lambda: dig(api, dig_id),
        lambda b: b["status"] == status and (bool(b["accepts"]) or status == "deleted"),
        timeout=60,
    )


async def test_a_dig_goes_through_its_lifecycle_and_refuses_invalid_transitions(
    api: httpx.AsyncClient,
) -> None:
    created = await api.post(
        "/api/v1/digs",
        json={
            "name": "web-stack",
            "project": "proj1",
            "composite_app": "capp",
            "version": "v1",
            "apps": "web:helm, db:manifest",
            "requested_by": "alice",
        },
    )
    assert created.status_code == 201, created.text
    dig_id = created.json()["id"]
    waiting = await settled(api, dig_id, "created")
    assert waiting["awaiting"]["kind"] == "approval"
    assert waiting["accepts"] == ["approve", "delete"]
    assert [a["name"] for a in waiting["apps"]] == ["web", "db"]

    needs = (await api.get("/api/v1/needs")).json()
    assert [i["actions"] for i in needs["items"] if i["id"] == dig_id] == [["approve", "delete"]]

    early = await api.post(
        f"/api/v1/digs/{dig_id}/instantiate", json={"actor": "bob", "reason": "go"}
    )
    assert early.status_code == 409, early.text
    assert "created" in early.json()["detail"]

    approved = await api.post(
        f"/api/v1/digs/{dig_id}/approve", json={"actor": "bob", "reason": "reviewed"}
    )
    assert approved.status_code == 200, approved.text
    await settled(api, dig_id, "approved")

    started = await api.post(
        f"/api/v1/digs/{dig_id}/instantiate", json={"actor": "bob", "reason": "release 7"}
    )
    assert started.status_code == 200, started.text
    up = await settled(api, dig_id, "instantiated")
    assert up["ready"] is True and up["readiness"] == "ready"
    assert {a["app"]: a["state"] for a in up["app_states"]} == {"web": "Applied", "db": "Applied"}
    assert up["accepts"] == ["terminate"]

    refused = await api.post(f"/api/v1/digs/{dig_id}/delete", json={"actor": "bob", "reason": "x"})
    assert refused.status_code == 409 and "instantiated" in refused.json()["detail"]

    status = (await api.get(f"{V2}/web-stack/status", params={"output": "all"})).json()
    assert status["ready"] is True and status["resourceCount"] == {"Applied": 2}
    assert [a["State"] for a in status["state"]["Actions"]] == [
        "Created",
        "Approved",
        "Instantiating",
        "Instantiated",
    ]

    gone = await api.post(
        f"/api/v1/digs/{dig_id}/terminate", json={"actor": "bob", "reason": "done"}
    )
    assert gone.status_code == 200, gone.text
    down = await settled(api, dig_id, "terminated")
    assert {a["state"] for a in down["app_states"]} == {"Terminated"}
    assert down["accepts"] == ["instantiate", "delete"]

    deleted = await api.request("DELETE", f"{V2}/web-stack", json={"actor": "bob"})
    assert deleted.status_code == 200, deleted.text
    await settled(api, dig_id, "deleted")
    assert (await api.get(f"{V2}/web-stack")).status_code == 404

    audit = (await api.get("/api/v1/audit", params={"target_id": dig_id})).json()
    actions = [e["action"] for e in audit["items"]]
    for action in ("create", "approve", "instantiate", "terminate", "delete"):
        assert action in actions, actions


async def test_the_v2_paths_create_list_and_operate_on_digs(api: httpx.AsyncClient) -> None:
    body = {
        "metadata": {"name": "edge", "description": "edge apps"},
        "spec": {"apps": [{"name": "proxy", "kind": "helm"}]},
    }
    created = await api.post(V2, json=body)
    assert created.status_code == 201, created.text
    assert created.json()["project"] == "proj1" and created.json()["description"] == "edge apps"
    duplicate = await api.post(V2, json=body)
    assert duplicate.status_code == 409

    listed = (await api.get(V2)).json()
    assert [d["name"] for d in listed["items"]] == ["edge"]
    elsewhere = (await api.get(V2.replace("proj1", "proj2"))).json()
    assert elsewhere == {"items": [], "total": 0}
    assert (await api.get(V2.replace("proj1", "proj2") + "/edge")).status_code == 404

    await settled(api, created.json()["id"], "created")
    approved = await api.post(f"{V2}/edge/approve", json={"actor": "carol"})
    assert approved.status_code == 200, approved.text
    await settled(api, created.json()["id"], "approved")
    assert (await api.post(f"{V2}/edge/terminate")).status_code == 409


async def test_bad_digs_are_refused_with_a_message(api: httpx.AsyncClient) -> None:
    base = {"name": "x", "project": "p", "composite_app": "a", "version": "v1"}
    bad = [
        {**base, "apps": []},
        {**base, "apps": "w:flightdeck-worker:bad queue"},
        {**base, "apps": "a:helm, a:helm"},
        {**base, "apps": "a:nonsense"},
        {**base, "project": "../x", "apps": "a:helm"},
        {
            **base,
            "apps": "a:helm",
            "tac_intents": [{"name": "i", "hook_type": "pre-install", "workflows": []}],
        },
    ]
    for body in bad:
        response = await api.post("/api/v1/digs", json=body)
        assert response.status_code == 422, (body, response.text)
        assert response.json()["detail"]
    assert (await api.get("/api/v1/digs")).json()["total"] == 0
