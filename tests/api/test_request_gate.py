"""The request gate: the token checked before a body is read, bodies bounded at 64 KiB (by
Content-Length and by counting a chunked upload), and the API docs free only on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from backend.api.app import create_app
from backend.api.limits import MAX_BODY, TOO_LARGE
from backend.runtime.codec_keys import codec_capability
from tests.api.conftest import TOKEN, api_context
from tests.stack import Stack

NEW_LAB = {"name": "gate-lab", "requested_by": "alice", "severity": "low", "ttl_hours": 2}


@pytest.fixture
def app(stack: Stack) -> FastAPI:
    return create_app(api_context(stack))


def client_of(
    app: FastAPI, *, token: str | None = TOKEN, peer: str = "127.0.0.1"
) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=(peer, 50000)),
        base_url="http://flightdeck",
        headers=headers,
    )


class Upload:
    """A chunked request body (no Content-Length) that records whether anyone read it."""

    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks
        self.read = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            self.read += 1
            yield chunk


async def test_a_request_without_the_token_is_refused_before_its_body_is_read(
    app: FastAPI,
) -> None:
    upload = Upload([b'{"name": "x"}'])
    async with client_of(app, token=None) as anonymous, client_of(app, token="wrong") as wrong:
        missing = await anonymous.post("/api/v1/labs", content=upload)
        bad = await wrong.post("/api/v1/labs", json=NEW_LAB)

    assert missing.status_code == 401
    assert missing.headers["www-authenticate"] == "Bearer"
    assert "missing bearer token" in missing.json()["detail"]
    assert upload.read == 0
    assert (bad.status_code, bad.json()) == (401, {"detail": "invalid token"})


async def test_a_body_over_64_kib_by_content_length_is_413(app: FastAPI) -> None:
    padded = {**NEW_LAB, "name": "x" * (MAX_BODY + 1)}
    async with client_of(app) as api:
        response = await api.post("/api/v1/labs", json=padded)
        listed = await api.get("/api/v1/labs")

    assert response.status_code == 413
    assert response.json() == {"detail": TOO_LARGE}
    assert listed.json()["total"] == 0


async def test_a_chunked_body_over_64_kib_is_413_without_reading_it_all(app: FastAPI) -> None:
    upload = Upload([b" " * 16 * 1024] * 64)
    async with client_of(app) as api:
        response = await api.post(
            "/api/v1/labs", content=upload, headers={"content-type": "application/json"}
        )

    assert response.status_code == 413
    assert response.json() == {"detail": TOO_LARGE}
    assert upload.read == MAX_BODY // (16 * 1024) + 1


async def test_a_body_under_the_limit_in_chunks_is_read_whole(app: FastAPI) -> None:
    text = b'{"name": "chunked-lab", "requested_by": "alice", "severity": "low", "ttl_hours": 2}'
    upload = Upload([text[:10], text[10:]])
    async with client_of(app) as api:
        response = await api.post(
            "/api/v1/labs", content=upload, headers={"content-type": "application/json"}
        )

    assert response.status_code == 201, response.text
    assert response.json()["name"] == "chunked-lab"


async def test_codec_capability_urls_pass_without_the_token_but_not_over_the_limit(
    app: FastAPI,
) -> None:
    base = f"/codec/{codec_capability(TOKEN)}"
    async with client_of(app, token=None) as ui:
        small = await ui.post(f"{base}/decode", json={"payloads": []})
        large = await ui.post(f"{base}/decode", content=b"{" + b" " * MAX_BODY + b"}")
        token_route = await ui.post("/codec/decode", json={"payloads": []})

    assert small.status_code == 404  # encryption is off here: the route itself answered
    assert "payload encryption is off" in small.json()["detail"]
    assert large.status_code == 413
    assert token_route.status_code == 401


@pytest.mark.parametrize("path", ["/openapi.json", "/docs", "/redoc"])
async def test_api_docs_are_free_on_loopback_and_need_the_token_from_elsewhere(
    app: FastAPI, path: str
) -> None:
    async with (
        client_of(app, token=None, peer="127.0.0.1") as local,
        client_of(app, token=None, peer="::1") as local6,
        client_of(app, token=None, peer="10.1.2.3") as remote,
        client_of(app, peer="10.1.2.3") as remote_with_token,
    ):
        assert (await local.get(path)).status_code == 200
        assert (await local6.get(path)).status_code == 200
        refused = await remote.get(path)
        assert refused.status_code == 401
        assert refused.headers["www-authenticate"] == "Bearer"
        assert (await remote_with_token.get(path)).status_code == 200


async def test_health_needs_no_token_from_anywhere(app: FastAPI) -> None:
    async with client_of(app, token=None, peer="10.1.2.3") as remote:
        response = await remote.get("/healthz")

    assert response.status_code == 200
