"""The infra-runs API end to end in-process: real app, store, worker and dev server. Infra runs
came as a drop-in domain: routes, store rows, audit and Needs-you come from the platform."""

from __future__ import annotations

from typing import Any

import httpx

from tests.stack import eventually


async def run(api: httpx.AsyncClient, run_id: str) -> dict[str, Any]:
    body: dict[str, Any] = (await api.get(f"/api/v1/infra-runs/{run_id}")).json()
    return body


async def wait_status(api: httpx.AsyncClient, run_id: str, status: str) -> dict[str, Any]:
    return await eventually(
        lambda: run(api, run_id),
        lambda b: b["status"] == status and (status != "applied" or b["progress"]["done"]),
        timeout=60,
    )


async def test_a_held_run_shows_its_plan_and_policy_and_is_approved_with_a_reason(
    api: httpx.AsyncClient,
) -> None:
    response = await api.post(
        "/api/v1/infra-runs",
        json={"name": "ops-admin", "directory": "admin-user", "variables": {"environment": "dev"}},
    )
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["status"] == "uninitialized"

    held = await wait_status(api, created["id"], "awaiting_approval")
    assert held["plan"]["summary"] == {"add": 3, "change": 0, "destroy": 0}
    assert {c["action"] for c in held["plan"]["changes"]} == {"create"}
    failed = [p for p in held["policy"] if not p["passed"]]
    assert [p["id"] for p in failed] == ["no-admin-principals"]
    assert held["awaiting"]["kind"] == "approval"
    assert held["variables"] == {"environment": "dev"}

    needs = (await api.get("/api/v1/needs")).json()
    [item] = [i for i in needs["items"] if i["id"] == created["id"]]
    assert item["plural"] == "infra-runs" and item["actions"] == ["approve", "deny", "cancel"]

    no_reason = await api.post(f"/api/v1/infra-runs/{created['id']}/approve", json={"actor": "bob"})
    assert no_reason.status_code == 422

    approved = await api.post(
        f"/api/v1/infra-runs/{created['id']}/approve",
        json={"actor": "bob", "reason": "INC-7 needs a break-glass admin"},
    )
    assert approved.status_code == 200, approved.text
    assert approved.json()["outcome"] == "accepted"

    done = await wait_status(api, created["id"], "applied")
    assert done["percent"] == 100 and done["decision_reason"] == "INC-7 needs a break-glass admin"
    assert done["outputs"]["admin_user_id"]
    audit = (await api.get("/api/v1/audit", params={"target_id": created["id"]})).json()
    actions = [e["action"] for e in audit["items"]]
    assert "approve" in actions and "create" in actions


async def test_bad_input_is_refused_with_a_message_and_changes_nothing(
    api: httpx.AsyncClient,
) -> None:
    bad_bodies = [
        {"name": "x", "directory": "../etc"},
        {"name": "x", "directory": "namespace", "variables": {"1bad": "v"}},
        {"name": "x", "directory": "namespace", "variables": {"ok": "a\x1b[31m"}},
        {"name": "x", "directory": "namespace", "approval_timeout_minutes": 0},
        {"name": "x", "directory": ""},
    ]
    for body in bad_bodies:
        response = await api.post("/api/v1/infra-runs", json=body)
        assert response.status_code == 422, (body, response.text)
        assert response.json()["detail"]
    listed = (await api.get("/api/v1/infra-runs")).json()
    assert listed["total"] == 0


async def test_deciding_a_run_that_does_not_wait_is_a_conflict(api: httpx.AsyncClient) -> None:
    created = (
        await api.post("/api/v1/infra-runs", json={"name": "quick", "directory": "namespace"})
    ).json()
    await wait_status(api, created["id"], "applied")
    response = await api.post(
        f"/api/v1/infra-runs/{created['id']}/deny", json={"actor": "bob", "reason": "late"}
    )
    assert response.status_code == 409
    assert response.json()["detail"]
    listed = (await api.get("/api/v1/infra-runs")).json()
    [row] = listed["items"]
    assert row["changes"] == "+2 ~0 -0" and row["policy_verdict"] == "passed"
