"""The tenants API end to end in-process: real app, store, worker and dev server. Tenants came
as a drop-in domain: these routes, their store rows and audit come from the platform."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import httpx
from temporalio.testing import WorkflowEnvironment

from tests.api.conftest import api_client
from tests.stack import eventually, platform_stack

NEW_TENANT = {
    "name": "acme",
    "plan": "premium",
    "admin_email": "ops@acme.test",
    "region": "eu-west-1",
}


async def create(api: httpx.AsyncClient, **overrides: Any) -> dict[str, Any]:
    response = await api.post("/api/v1/tenants", json={**NEW_TENANT, **overrides})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def tenant(api: httpx.AsyncClient, tenant_id: str) -> dict[str, Any]:
    body: dict[str, Any] = (await api.get(f"/api/v1/tenants/{tenant_id}")).json()
    return body


async def wait_status(api: httpx.AsyncClient, tenant_id: str, status: str) -> dict[str, Any]:
    return await eventually(
        lambda: tenant(api, tenant_id), lambda b: b["status"] == status, timeout=60
    )


async def wait_settled(api: httpx.AsyncClient, tenant_id: str, status: str) -> dict[str, Any]:
    """Until the tenant has `status` and its workflow has finished (the welcome e-mail goes
    out after ACTIVE)."""
    return await eventually(
        lambda: tenant(api, tenant_id),
        lambda b: b["status"] == status and (b["progress"] or {}).get("done") is True,
        timeout=60,
    )


async def test_a_tenant_is_provisioned_to_active_with_its_outputs(api: httpx.AsyncClient) -> None:
    created = await create(api)
    assert created["status"] == "PENDING" and created["workflow_id"] == f"tenant-{created['id']}"
    active = await wait_settled(api, created["id"], "ACTIVE")
    assert active["percent"] == 100
    assert active["domain"] and active["idp_organization"]
    assert active["plan"] == "premium" and active["region"] == "eu-west-1"
    steps = {s["name"]: s["state"] for s in active["progress"]["steps"]}
    assert steps["sendWelcomeEmail"] == "completed" and steps["configureDns"] == "completed"
    listed = (await api.get("/api/v1/tenants", params={"status": "ACTIVE"})).json()
    assert [item["id"] for item in listed["items"]] == [created["id"]]


async def test_bad_tenant_bodies_are_422_and_change_nothing(api: httpx.AsyncClient) -> None:
    for body, field in (
        ({**NEW_TENANT, "admin_email": "not-an-email"}, "admin_email"),
        ({**NEW_TENANT, "plan": "gold"}, "plan"),
        ({**NEW_TENANT, "name": "Has Spaces"}, "name"),
        ({**NEW_TENANT, "shoe_size": 44}, "shoe_size"),
    ):
        response = await api.post("/api/v1/tenants", json=body)
        assert response.status_code == 422, response.text
        assert response.json()["detail"].startswith(field), response.json()
    assert (await api.get("/api/v1/tenants")).json()["total"] == 0
    assert (await api.get("/api/v1/tenants", params={"status": "ALIVE"})).status_code == 422


async def test_a_second_provision_of_an_active_name_is_409_and_unknown_ids_404(
    api: httpx.AsyncClient,
) -> None:
    first = await create(api)
    again = await api.post("/api/v1/tenants", json=NEW_TENANT)
    assert again.status_code == 409
    assert again.json()["detail"] == "an active tenant is already named 'acme'"
    await wait_status(api, first["id"], "ACTIVE")
    missing = await api.get("/api/v1/tenants/nope")
    assert (missing.status_code, missing.json()["detail"]) == (404, "no tenant with id 'nope'")
    for action in ("deprovision", "skip-grace", "abort-deprovision", "cancel"):
        response = await api.post(f"/api/v1/tenants/nope/{action}", json={"actor": "x"})
        assert response.status_code in (404, 422), (action, response.text)


async def test_deprovision_removes_the_tenant_and_repeats_get_the_first_answer(
    api: httpx.AsyncClient,
) -> None:
    created = await create(api)
    await wait_settled(api, created["id"], "ACTIVE")
    cancel = await api.post(
        f"/api/v1/tenants/{created['id']}/cancel", json={"reason": "late", "actor": "carol"}
    )
    assert cancel.status_code == 409
    assert cancel.json()["detail"] == "tenant acme is ACTIVE: cancel is not possible now"
    body = {"grace_period_hours": 0, "backup": True, "notify_users": True, "actor": "carol"}
    first = await api.post(
        f"/api/v1/tenants/{created['id']}/deprovision", json={**body, "idempotency_key": "d-1"}
    )
    assert first.status_code == 200, first.text
    again = await api.post(
        f"/api/v1/tenants/{created['id']}/deprovision", json={**body, "idempotency_key": "d-1"}
    )
    assert (again.status_code, again.json()) == (200, first.json())
    gone = await wait_status(api, created["id"], "DEPROVISIONED")
    assert gone["percent"] == 100
    late = await api.post(f"/api/v1/tenants/{created['id']}/deprovision", json=body)
    assert late.status_code == 409
    assert late.json()["detail"] == "tenant acme is DEPROVISIONED; deprovision needs ACTIVE"
    recreated = await create(api)  # the name is free again
    assert recreated["id"] != created["id"]
    entries = (await api.get("/api/v1/audit", params={"target_id": created["id"]})).json()["items"]
    assert [(e["action"], e["outcome"]) for e in entries] == [
        ("deprovision", "refused"),
        ("deprovision", "accepted"),
        ("cancel", "refused"),
        ("create", "accepted"),
    ]


async def test_a_grace_period_can_be_skipped_or_aborted(api: httpx.AsyncClient) -> None:
    skipped, aborted = await create(api, name="skip-me"), await create(api, name="keep-me")
    for item in (skipped, aborted):
        await wait_settled(api, item["id"], "ACTIVE")
        started = await api.post(
            f"/api/v1/tenants/{item['id']}/deprovision",
            json={"grace_period_hours": 24, "backup": False, "notify_users": False, "actor": "al"},
        )
        assert started.status_code == 200, started.text
        await eventually(
            lambda i=item: tenant(api, i["id"]),  # type: ignore[misc]
            lambda b: "skip-grace" in b["accepts"],
            timeout=60,
        )
    waiting = await tenant(api, skipped["id"])
    assert waiting["status"] == "DEPROVISIONING" and waiting["grace_until"]
    skip = await api.post(
        f"/api/v1/tenants/{skipped['id']}/skip-grace", json={"reason": "now", "actor": "al"}
    )
    assert skip.json()["outcome"] == "accepted", skip.text
    abort = await api.post(
        f"/api/v1/tenants/{aborted['id']}/abort-deprovision",
        json={"reason": "customer renewed", "actor": "al"},
    )
    assert abort.json()["outcome"] == "accepted", abort.text
    await wait_status(api, skipped["id"], "DEPROVISIONED")
    kept = await wait_status(api, aborted["id"], "ACTIVE")
    assert "customer renewed" in (kept["status_reason"] or "") and kept["percent"] == 100
    late = await api.post(
        f"/api/v1/tenants/{aborted['id']}/skip-grace", json={"reason": "x", "actor": "al"}
    )
    assert late.status_code == 409


async def test_a_stuck_compensation_waits_in_needs_you_until_a_person_answers(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    queue = f"test-{uuid.uuid4().hex[:8]}"
    async with (
        platform_stack(
            dev_env.client, tmp_path, queue, faults="dns:always,remove_dns:always"
        ) as stack,
        api_client(stack) as api,
    ):
        created = await create(api, name="stuck")
        needs = await eventually(
            lambda: api.get("/api/v1/needs"),
            lambda r: r.json()["total"] == 1,
            timeout=90,
        )
        need = needs.json()["items"][0]
        assert (need["kind"], need["id"], need["awaiting"]["kind"]) == (
            "tenant",
            created["id"],
            "intervention",
        )
        assert need["actions"][:2] == ["retry", "resolve"]
        retry = await api.post(
            f"/api/v1/tenants/{created['id']}/retry",
            json={"actor": "carol", "request_id": need["awaiting"]["request_id"]},
        )
        assert retry.json()["outcome"] == "accepted", retry.text
        second = await eventually(
            lambda: api.get("/api/v1/needs"),
            lambda r: (
                r.json()["total"] == 1
                and r.json()["items"][0]["awaiting"]["request_id"] != need["awaiting"]["request_id"]
            ),
            timeout=90,
        )
        resolve = await api.post(
            f"/api/v1/tenants/{created['id']}/resolve",
            json={"actor": "carol", "comment": "removed the records by hand"},
        )
        assert resolve.json()["outcome"] == "accepted", resolve.text
        failed = await wait_status(api, created["id"], "PROVISION_FAILED")
        assert "configureDns" in (failed["status_reason"] or "")
        assert "removeDnsRecords" not in (failed["last_error"] or "")  # resolved by hand
        assert (await api.get("/api/v1/needs")).json()["total"] == 0
        assert second.status_code == 200
