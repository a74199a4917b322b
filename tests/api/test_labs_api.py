"""The labs API end to end in-process: real app, real store, real worker, real dev server."""

from __future__ import annotations

from typing import Any

import httpx

from tests.stack import Stack, eventually

NEW_LAB = {"name": "payments-lab", "requested_by": "alice", "severity": "high", "ttl_hours": 4}


async def create(api: httpx.AsyncClient, **overrides: Any) -> dict[str, Any]:
    response = await api.post("/api/v1/labs", json={**NEW_LAB, **overrides})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def lab_status(api: httpx.AsyncClient, lab_id: str) -> str:
    value: str = (await api.get(f"/api/v1/labs/{lab_id}")).json()["status"]
    return value


async def wait_awaiting_review(api: httpx.AsyncClient, lab_id: str) -> dict[str, Any]:
    async def read() -> dict[str, Any]:
        body: dict[str, Any] = (await api.get(f"/api/v1/labs/{lab_id}")).json()
        return body

    return await eventually(
        read, lambda lab: (lab.get("progress") or {}).get("awaiting") is not None
    )


async def test_healthz_reports_temporal_connected_without_a_token(api: httpx.AsyncClient) -> None:
    response = await api.get("/healthz", headers={"Authorization": ""})
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert response.json()["temporal"] == "connected"


async def test_requests_without_the_token_are_refused(api: httpx.AsyncClient) -> None:
    response = await api.get("/api/v1/labs", headers={"Authorization": ""})
    assert response.status_code == 401
    assert "bearer token" in response.json()["detail"]
    response = await api.get("/api/v1/labs", headers={"Authorization": "Bearer wrong"})
    assert response.status_code == 401
    assert response.json()["detail"] == "invalid token"


async def test_create_returns_201_and_starts_the_workflow(
    api: httpx.AsyncClient, stack: Stack
) -> None:
    lab = await create(api)
    assert lab["status"] == "queued"
    assert lab["workflow_id"] == f"lab-{lab['id']}"
    assert lab["run_id"]
    description = await stack.client.get_workflow_handle(lab["workflow_id"]).describe()
    assert description.workflow_type == "LabProvisionWorkflow"
    listed = (await api.get("/api/v1/labs", params={"live": lab["id"]})).json()
    assert listed["total"] == 1
    assert listed["items"][0]["id"] == lab["id"]
    assert listed["items"][0]["progress"] is not None


async def test_bad_bodies_get_422_with_a_readable_message_and_change_nothing(
    api: httpx.AsyncClient,
) -> None:
    for body, expected in [
        ({**NEW_LAB, "name": "Bad Name!"}, "name:"),
        ({**NEW_LAB, "severity": "urgent"}, "severity:"),
        ({**NEW_LAB, "ttl_hours": 0}, "ttl_hours:"),
        ({**NEW_LAB, "surprise": 1}, "surprise:"),
        ({"name": "x"}, "requested_by:"),
    ]:
        response = await api.post("/api/v1/labs", json=body)
        assert response.status_code == 422, body
        assert expected in response.json()["detail"]
    response = await api.post(
        "/api/v1/labs", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert (await api.get("/api/v1/labs")).json()["total"] == 0


async def test_a_second_active_lab_with_the_same_name_is_a_409(api: httpx.AsyncClient) -> None:
    await create(api)
    response = await api.post("/api/v1/labs", json=NEW_LAB)
    assert response.status_code == 409
    assert "already named 'payments-lab'" in response.json()["detail"]


async def test_unknown_ids_are_404(api: httpx.AsyncClient) -> None:
    assert (await api.get("/api/v1/labs/nope")).status_code == 404
    response = await api.post(
        "/api/v1/labs/nope/review", json={"decision": "approve", "reviewer": "bob"}
    )
    assert response.status_code == 404
    assert response.json()["detail"] == "no lab with id 'nope'"
    response = await api.post("/api/v1/labs/nope/cancel", json={"reason": "x", "actor": "bob"})
    assert response.status_code == 404


async def test_review_of_a_cancelled_lab_is_409_and_audited_as_refused(
    api: httpx.AsyncClient,
) -> None:
    lab = await create(api)
    await wait_awaiting_review(api, lab["id"])
    await api.post(f"/api/v1/labs/{lab['id']}/cancel", json={"reason": "no", "actor": "carol"})

    await eventually(lambda: lab_status(api, lab["id"]), lambda s: s == "cancelled")
    response = await api.post(
        f"/api/v1/labs/{lab['id']}/review", json={"decision": "approve", "reviewer": "bob"}
    )
    assert response.status_code == 409
    assert response.json()["detail"] == "lab payments-lab has already ended (cancelled)"
    entries = (await api.get("/api/v1/audit", params={"target_id": lab["id"]})).json()["items"]
    assert (entries[0]["action"], entries[0]["outcome"]) == ("review.approve", "refused")


async def test_approve_by_api_runs_the_lab_and_repeats_are_no_ops(api: httpx.AsyncClient) -> None:
    lab = await create(api)
    waiting = await wait_awaiting_review(api, lab["id"])
    request_id = waiting["progress"]["awaiting"]["request_id"]
    body = {"decision": "approve", "reviewer": "bob", "comment": "lgtm", "idempotency_key": "k-1"}
    first = await api.post(f"/api/v1/labs/{lab['id']}/review", json=body)
    assert first.status_code == 200, first.text
    assert first.json()["outcome"] == "accepted"
    again = await api.post(f"/api/v1/labs/{lab['id']}/review", json=body)
    assert (again.status_code, again.json()) == (200, first.json())

    await eventually(lambda: lab_status(api, lab["id"]), lambda s: s == "running")
    same_round = await api.post(
        f"/api/v1/labs/{lab['id']}/review",
        json={"decision": "approve", "reviewer": "dave", "request_id": request_id},
    )
    assert same_round.status_code == 200
    assert same_round.json()["outcome"] == "no_op"
    assert "already answered" in same_round.json()["message"]
    late = await api.post(
        f"/api/v1/labs/{lab['id']}/review", json={"decision": "approve", "reviewer": "dave"}
    )
    assert late.status_code == 409
    assert "not waiting for review" in late.json()["detail"]


async def test_cancel_then_cancel_again_is_409(api: httpx.AsyncClient) -> None:
    lab = await create(api)
    await wait_awaiting_review(api, lab["id"])
    response = await api.post(
        f"/api/v1/labs/{lab['id']}/cancel", json={"reason": "done", "actor": "carol"}
    )
    assert response.status_code == 200
    assert response.json()["outcome"] == "accepted"

    await eventually(lambda: lab_status(api, lab["id"]), lambda s: s == "cancelled")
    again = await api.post(
        f"/api/v1/labs/{lab['id']}/cancel", json={"reason": "again", "actor": "carol"}
    )
    assert again.status_code == 409
    assert "already ended (cancelled)" in again.json()["detail"]
    missing_reason = await api.post(
        f"/api/v1/labs/{lab['id']}/cancel", json={"reason": " ", "actor": "carol"}
    )
    assert missing_reason.status_code == 422


async def test_audit_log_lists_actions_newest_first_with_outcomes(api: httpx.AsyncClient) -> None:
    lab = await create(api)
    await wait_awaiting_review(api, lab["id"])
    await api.post(
        f"/api/v1/labs/{lab['id']}/review",
        json={"decision": "request_changes", "reviewer": "bob", "comment": "more disk"},
    )

    async def round_two() -> dict[str, Any]:
        body: dict[str, Any] = (await api.get(f"/api/v1/labs/{lab['id']}")).json()
        return body

    await eventually(
        round_two,
        lambda b: ((b.get("progress") or {}).get("awaiting") or {}).get("request_id") == "review-2",
    )
    approved = await api.post(
        f"/api/v1/labs/{lab['id']}/review", json={"decision": "approve", "reviewer": "bob"}
    )
    assert approved.status_code == 200, approved.text
    entries = (await api.get("/api/v1/audit")).json()["items"]
    actions = [(e["action"], e["outcome"], e["actor"]) for e in entries]
    assert actions[-1] == ("create", "accepted", "alice")
    assert actions[:2] == [
        ("review.approve", "accepted", "bob"),
        ("review.request_changes", "accepted", "bob"),
    ]
    assert entries[0]["id"] > entries[-1]["id"]
    changes = next(e for e in entries if e["action"] == "review.request_changes")
    assert changes["reason"] == "more disk"
    assert changes["target_id"] == lab["id"]


async def test_lists_carry_status_percent_and_awaiting_from_the_store(
    api: httpx.AsyncClient,
) -> None:
    lab = await create(api)
    await wait_awaiting_review(api, lab["id"])

    async def listed() -> dict[str, Any]:
        body: dict[str, Any] = (await api.get("/api/v1/labs")).json()["items"][0]
        return body

    row = await eventually(listed, lambda item: item["awaiting"] is not None)
    assert (row["status"], row["percent"], row["awaiting"]["kind"]) == (
        "awaiting_review",
        80,
        "review",
    )
    assert row["accepts"] == ["review", "cancel"]
    assert row["progress"] is None  # not asked for as live: no query was spent on it
    live = (await api.get("/api/v1/labs", params={"live": lab["id"]})).json()["items"][0]
    assert live["progress"]["awaiting"]["request_id"] == "review-1"
