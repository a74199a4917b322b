"""The TUI's HTTP client: typed answers, one-line error messages, unreachable backends."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import respx

from backend.domain.labs import (
    CancelLab,
    CreateLab,
    LabSeverity,
    LabStatus,
    ReviewDecision,
    ReviewLab,
)
from tests.tui.fake_api import BASE_URL, sample_labs
from tui.client import ApiError, BackendUnreachable, FlightdeckClient


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE_URL) as mocked:
        yield mocked


@pytest.fixture
async def client() -> Any:
    async with FlightdeckClient(BASE_URL, "tok") as flightdeck:
        yield flightdeck


async def error_of(client: FlightdeckClient) -> ApiError:
    with pytest.raises(ApiError) as caught:
        await client.get_lab("lab-x")
    return caught.value


async def test_401_names_the_token(router: respx.MockRouter, client: FlightdeckClient) -> None:
    router.get("/api/v1/labs/lab-x").respond(401, json={"detail": "invalid bearer token"})
    error = await error_of(client)
    assert error.status == 401
    assert error.message == "invalid bearer token (check the API token)"


async def test_404_shows_the_detail(router: respx.MockRouter, client: FlightdeckClient) -> None:
    router.get("/api/v1/labs/lab-x").respond(404, json={"detail": "no lab lab-x"})
    error = await error_of(client)
    assert (error.status, str(error)) == (404, "no lab lab-x")


async def test_409_shows_the_refusal(router: respx.MockRouter, client: FlightdeckClient) -> None:
    router.post("/api/v1/labs/lab-x/review").respond(
        409, json={"detail": "lab lab-x is not waiting for review (phase: running)"}
    )
    with pytest.raises(ApiError) as caught:
        await client.review_lab(
            "lab-x", ReviewLab(decision=ReviewDecision.APPROVE, reviewer="carol")
        )
    assert caught.value.status == 409
    assert caught.value.message == "lab lab-x is not waiting for review (phase: running)"


async def test_422_validation_list_becomes_one_readable_line(
    router: respx.MockRouter, client: FlightdeckClient
) -> None:
    router.post("/api/v1/labs").respond(
        422,
        json={
            "detail": [
                {
                    "type": "string_pattern_mismatch",
                    "loc": ["body", "name"],
                    "msg": "String should match pattern '^[a-z0-9][a-z0-9-]*$'",
                    "input": "Bad Name",
                },
                {
                    "type": "greater_than_equal",
                    "loc": ["body", "ttl_hours"],
                    "msg": "Input should be greater than or equal to 1",
                    "input": 0,
                },
                {"type": "missing", "loc": ["query", "limit"], "msg": "Field required"},
            ]
        },
    )
    with pytest.raises(ApiError) as caught:
        await client.create_lab(CreateLab(name="fine", requested_by="carol"))
    assert caught.value.status == 422
    assert caught.value.message == (
        "name: String should match pattern '^[a-z0-9][a-z0-9-]*$'; "
        "ttl_hours: Input should be greater than or equal to 1; limit: Field required"
    )


async def test_error_without_json_uses_the_status_line(
    router: respx.MockRouter, client: FlightdeckClient
) -> None:
    router.get("/api/v1/labs/lab-x").respond(502, text="<html>\n bad gateway\n</html>")
    error = await error_of(client)
    assert error.message == "HTTP 502 Bad Gateway: <html> bad gateway </html>"


async def test_connection_refused_is_backend_unreachable(
    router: respx.MockRouter, client: FlightdeckClient
) -> None:
    router.get("/healthz").mock(side_effect=httpx.ConnectError("Connection refused"))
    with pytest.raises(BackendUnreachable) as caught:
        await client.health()
    assert caught.value.message == f"cannot reach backend at {BASE_URL}: Connection refused"


async def test_timeout_is_backend_unreachable(
    router: respx.MockRouter, client: FlightdeckClient
) -> None:
    router.get("/healthz").mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(BackendUnreachable, match="timed out"):
        await client.health()


async def test_unexpected_answer_shape_is_an_api_error(
    router: respx.MockRouter, client: FlightdeckClient
) -> None:
    router.get("/api/v1/labs/lab-x").respond(200, json={"id": "lab-x"})
    error = await error_of(client)
    assert error.message.startswith("unexpected answer from GET /api/v1/labs/lab-x: name:")


async def test_list_labs_sends_status_and_at_most_50_distinct_live_ids(
    router: respx.MockRouter, client: FlightdeckClient
) -> None:
    labs = sample_labs()
    route = router.get("/api/v1/labs").respond(
        200, json={"items": [lab.model_dump(mode="json") for lab in labs], "total": 5}
    )
    live = ["lab-1", "lab-1", *(f"lab-{n}" for n in range(2, 80))]
    answer = await client.list_labs(live=live, status=LabStatus.RUNNING)
    assert [lab.id for lab in answer.items] == [lab.id for lab in labs]
    params = route.calls.last.request.url.params
    sent = params["live"].split(",")
    assert len(sent) == 50
    assert sent[:2] == ["lab-1", "lab-2"]
    assert params["status"] == "running"
    assert params["limit"] == "200"
    assert route.calls.last.request.headers["Authorization"] == "Bearer tok"


async def test_actions_get_an_idempotency_key_when_none_is_given(
    router: respx.MockRouter, client: FlightdeckClient
) -> None:
    route = router.post("/api/v1/labs/lab-1/cancel").respond(
        200, json={"outcome": "accepted", "message": "cancelling", "audit_id": 3}
    )
    result = await client.cancel_lab("lab-1", CancelLab(reason="done", actor="carol"))
    assert result.message == "cancelling"
    body = json.loads(route.calls.last.request.content)
    assert body["reason"] == "done"
    assert len(body["idempotency_key"]) == 32


async def test_create_lab_posts_the_contract_json(
    router: respx.MockRouter, client: FlightdeckClient
) -> None:
    created = sample_labs()[1]
    route = router.post("/api/v1/labs").respond(201, json=created.model_dump(mode="json"))
    lab = await client.create_lab(
        CreateLab(name="search-canary", requested_by="carol", severity=LabSeverity.HIGH)
    )
    assert lab.id == created.id
    assert json.loads(route.calls.last.request.content) == {
        "name": "search-canary",
        "requested_by": "carol",
        "severity": "high",
        "ttl_hours": 8,
    }


async def test_client_can_talk_to_an_in_process_asgi_app() -> None:
    async def asgi_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["path"] == "/api/v1/audit"
        body = json.dumps({"items": []}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": body})

    transport = httpx.ASGITransport(app=asgi_app)
    async with FlightdeckClient("http://backend", "tok", transport=transport) as client:
        assert (await client.audit(limit=5)).items == []
