"""The TUI's HTTP client: generic routes per domain, typed answers, one-line errors, keys."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import respx

from backend.domains.labs.model import CancelLab, CreateLab, Lab, LabSeverity
from backend.domains.labs.spec import SPEC as LABS
from backend.domains.tenants.model import StepIntervention, Tenant
from backend.domains.tenants.spec import SPEC as TENANTS
from tests.tui.fake_api import BASE_URL, sample_labs, sample_tenants
from tui.client import ApiError, BackendUnreachable, FlightdeckClient


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE_URL) as mocked:
        yield mocked


@pytest.fixture
async def client() -> AsyncIterator[FlightdeckClient]:
    async with FlightdeckClient(BASE_URL, "tok") as flightdeck:
        yield flightdeck


def action(spec_actions: Any, name: str) -> Any:
    return next(a for a in spec_actions if a.name == name)


async def error_of(client: FlightdeckClient) -> ApiError:
    with pytest.raises(ApiError) as caught:
        await client.get_entity(LABS, "lab-x")
    return caught.value


async def test_list_uses_the_domain_path_and_returns_its_records(
    router: respx.MockRouter, client: FlightdeckClient
) -> None:
    tenants = sample_tenants()
    route = router.get("/api/v1/tenants").respond(
        200, json={"items": [t.model_dump(mode="json") for t in tenants], "total": 4}
    )
    page = await client.list_entities(TENANTS, status="ACTIVE")
    assert [t.id for t in page.items] == [t.id for t in tenants]
    assert all(isinstance(t, Tenant) for t in page.items)
    assert page.total == 4
    params = route.calls.last.request.url.params
    assert params["status"] == "ACTIVE"
    assert (params["limit"], params["offset"]) == ("200", "0")
    assert route.calls.last.request.headers["Authorization"] == "Bearer tok"


async def test_list_sends_at_most_50_distinct_live_ids(
    router: respx.MockRouter, client: FlightdeckClient
) -> None:
    route = router.get("/api/v1/labs").respond(200, json={"items": [], "total": 0})
    live = ["lab-1", "lab-1", "", *(f"lab-{n}" for n in range(2, 80))]
    await client.list_entities(LABS, live=live)
    sent = route.calls.last.request.url.params["live"].split(",")
    assert len(sent) == 50
    assert sent[:2] == ["lab-1", "lab-2"]


async def test_get_returns_the_domain_record_with_progress(
    router: respx.MockRouter, client: FlightdeckClient
) -> None:
    lab = sample_labs()[0]
    router.get("/api/v1/labs/lab-1").respond(200, json=lab.model_dump(mode="json"))
    got = await client.get_entity(LABS, "lab-1")
    assert isinstance(got, Lab)
    assert got.progress is not None and got.progress.awaiting is not None


async def test_act_posts_to_the_action_path_with_a_fresh_idempotency_key(
    router: respx.MockRouter, client: FlightdeckClient
) -> None:
    route = router.post("/api/v1/tenants/tn-2/retry").respond(
        200, json={"outcome": "accepted", "message": "runs again", "audit_id": 3}
    )
    body = StepIntervention(actor="carol", comment="dns fixed", request_id="i-1")
    result = await client.act(TENANTS, action(TENANTS.actions, "retry"), "tn-2", body)
    assert result.message == "runs again"
    sent = json.loads(route.calls.last.request.content)
    assert sent["comment"] == "dns fixed" and sent["request_id"] == "i-1"
    assert len(sent["idempotency_key"]) == 32


async def test_act_keeps_a_given_idempotency_key(
    router: respx.MockRouter, client: FlightdeckClient
) -> None:
    route = router.post("/api/v1/labs/lab-1/cancel").respond(
        200, json={"outcome": "no_op", "message": "already", "audit_id": 3}
    )
    body = CancelLab(reason="done", actor="carol", idempotency_key="key-1")
    await client.act(LABS, action(LABS.actions, "cancel"), "lab-1", body)
    await client.act(LABS, action(LABS.actions, "cancel"), "lab-1", body)
    keys = [json.loads(call.request.content)["idempotency_key"] for call in route.calls]
    assert keys == ["key-1", "key-1"]


async def test_create_posts_the_contract_json(
    router: respx.MockRouter, client: FlightdeckClient
) -> None:
    created = sample_labs()[1]
    route = router.post("/api/v1/labs").respond(201, json=created.model_dump(mode="json"))
    lab = await client.create_entity(
        LABS, CreateLab(name="search-canary", requested_by="carol", severity=LabSeverity.HIGH)
    )
    assert lab.id == created.id
    assert json.loads(route.calls.last.request.content) == {
        "name": "search-canary",
        "requested_by": "carol",
        "severity": "high",
        "ttl_hours": 8,
    }


async def test_needs_and_audit_pass_their_filters(
    router: respx.MockRouter, client: FlightdeckClient
) -> None:
    needs = router.get("/api/v1/needs").respond(200, json={"items": [], "total": 0})
    audit = router.get("/api/v1/audit").respond(200, json={"items": []})
    assert (await client.needs()).total == 0
    await client.audit(target_id="tn-2", target_kind="tenant", limit=5, before_id=40)
    assert needs.called
    assert dict(audit.calls.last.request.url.params) == {
        "limit": "5",
        "target_id": "tn-2",
        "target_kind": "tenant",
        "before_id": "40",
    }


async def test_401_names_the_token(router: respx.MockRouter, client: FlightdeckClient) -> None:
    router.get("/api/v1/labs/lab-x").respond(401, json={"detail": "invalid token"})
    error = await error_of(client)
    assert (error.status, error.message) == (401, "invalid token (check the API token)")


async def test_409_shows_the_refusal(router: respx.MockRouter, client: FlightdeckClient) -> None:
    router.post("/api/v1/labs/lab-x/cancel").respond(
        409, json={"detail": "lab x has already ended (cancelled)"}
    )
    with pytest.raises(ApiError) as caught:
        await client.act(
            LABS, action(LABS.actions, "cancel"), "lab-x", CancelLab(reason="r", actor="c")
        )
    assert (caught.value.status, caught.value.message) == (
        409,
        "lab x has already ended (cancelled)",
    )


async def test_422_validation_list_becomes_one_readable_line(
    router: respx.MockRouter, client: FlightdeckClient
) -> None:
    router.post("/api/v1/labs").respond(
        422,
        json={
            "detail": [
                {"loc": ["body", "name"], "msg": "String should match pattern", "input": "A"},
                {"loc": ["body", "ttl_hours"], "msg": "Input should be >= 1", "input": 0},
            ]
        },
    )
    with pytest.raises(ApiError) as caught:
        await client.create_entity(LABS, CreateLab(name="fine", requested_by="carol"))
    assert caught.value.message == (
        "name: String should match pattern; ttl_hours: Input should be >= 1"
    )


async def test_error_without_json_uses_the_status_line(
    router: respx.MockRouter, client: FlightdeckClient
) -> None:
    router.get("/api/v1/labs/lab-x").respond(502, text="<html>\n bad gateway\n</html>")
    assert (await error_of(client)).message == "HTTP 502 Bad Gateway: <html> bad gateway </html>"


async def test_unexpected_answer_shape_is_an_api_error(
    router: respx.MockRouter, client: FlightdeckClient
) -> None:
    router.get("/api/v1/labs/lab-x").respond(200, json={"id": "lab-x"})
    error = await error_of(client)
    assert error.message.startswith("unexpected answer from GET /api/v1/labs/lab-x:")


async def test_connection_refused_and_timeouts_are_backend_unreachable(
    router: respx.MockRouter, client: FlightdeckClient
) -> None:
    router.get("/healthz").mock(side_effect=httpx.ConnectError("Connection refused"))
    with pytest.raises(BackendUnreachable) as caught:
        await client.health()
    assert caught.value.message == f"cannot reach backend at {BASE_URL}: Connection refused"
    router.get("/api/v1/needs").mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(BackendUnreachable, match="timed out"):
        await client.needs()


async def test_client_can_talk_to_an_in_process_asgi_app() -> None:
    async def asgi_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["path"] == "/api/v1/audit"
        body = json.dumps({"items": []}).encode()
        headers = [(b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    transport = httpx.ASGITransport(app=asgi_app)
    async with FlightdeckClient("http://backend", "tok", transport=transport) as client:
        assert (await client.audit(limit=5)).items == []
