"""A workflow started by another workflow registers its entity over the internal API (what a
worker on another machine does): once, idempotently, refused for another workflow's id."""

from __future__ import annotations

import httpx

from backend.domain.status import RegisterRequest
from backend.providers.status import REGISTER_PATH


def registration(**overrides: str) -> RegisterRequest:
    values = {
        "kind": "infra-run",
        "entity_id": "c0ffee01",
        "name": "tenant-acme-infra",
        "requested_by": "TenantProvisionWorkflow",
        "workflow_id": "tenant-acme-infra",
        "parent_workflow_id": "tenant-acme",
        **overrides,
    }
    return RegisterRequest.model_validate({**values, "fields": {"directory": "namespace"}})


async def test_registration_creates_once_and_refuses_another_workflow(
    api: httpx.AsyncClient,
) -> None:
    body = registration().model_dump(mode="json")
    first = await api.post(REGISTER_PATH, json=body)
    assert first.status_code == 200 and first.json()["granted"] is True
    again = await api.post(REGISTER_PATH, json=body)
    assert again.json()["granted"] is True

    listed = (await api.get("/api/v1/infra-runs")).json()
    [row] = listed["items"]
    assert row["id"] == "c0ffee01" and row["workflow_id"] == "tenant-acme-infra"
    assert row["status"] == "uninitialized" and row["directory"] == "namespace"
    audit = (await api.get("/api/v1/audit", params={"target_id": "c0ffee01"})).json()
    [created] = audit["items"]
    assert created["source"] == "workflow" and "tenant-acme" in created["message"]

    other = registration(workflow_id="someone-else").model_dump(mode="json")
    refused = (await api.post(REGISTER_PATH, json=other)).json()
    assert (
        refused["granted"] is False
        and "belongs to workflow tenant-acme-infra" in (refused["reason"])
    )
    same_name = registration(entity_id="c0ffee02", workflow_id="w2").model_dump(mode="json")
    taken = (await api.post(REGISTER_PATH, json=same_name)).json()
    assert taken["granted"] is False and "already named" in taken["reason"]


async def test_an_unknown_kind_is_404_and_no_token_is_401(api: httpx.AsyncClient) -> None:
    response = await api.post(
        REGISTER_PATH, json=registration(kind="spaceship").model_dump(mode="json")
    )
    assert response.status_code == 404
    anonymous = await api.post(
        REGISTER_PATH,
        json=registration().model_dump(mode="json"),
        headers={"Authorization": "Bearer wrong-token-0123456789"},
    )
    assert anonymous.status_code == 401
