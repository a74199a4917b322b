"""The codec server: Temporal's `/encode` and `/decode` protocol over HTTP, with the bearer token
or the embedded UI's loopback capability URL, CORS for the Temporal UI's origin only."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from backend.api.app import create_app
from backend.api.codec import ENCRYPTION_OFF, cors_origins
from backend.runtime.codec import EncryptionCodec
from backend.runtime.codec_keys import KeyRing, codec_capability
from tests.api.conftest import TOKEN, api_context
from tests.stack import Stack

UI_ORIGIN = "http://127.0.0.1:8233"
KEYS = ["k1:" + base64.b64encode(b"1" * 32).decode()]
SECRET = b'{"password": "hunter2-launch-code"}'


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


PLAIN = {"payloads": [{"metadata": {"encoding": b64(b"json/plain")}, "data": b64(SECRET)}]}


@pytest.fixture
def app(stack: Stack) -> FastAPI:
    """The API with payload encryption on, the embedded UI's origins allowed."""
    codec = EncryptionCodec(KeyRing.parse(KEYS, source="test keys"))
    return create_app(api_context(stack), codec=codec, codec_origins=cors_origins([UI_ORIGIN]))


def client_of(
    app: FastAPI, *, token: str | None = TOKEN, peer: str = "127.0.0.1"
) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=(peer, 50000)),
        base_url="http://127.0.0.1:8765",
        headers=headers,
    )


@pytest.fixture
async def codec_api(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with client_of(app) as client:
        yield client


async def test_encode_then_decode_round_trips_and_the_encoded_form_is_ciphertext(
    codec_api: httpx.AsyncClient,
) -> None:
    encoded = await codec_api.post("/codec/encode", json=PLAIN)
    decoded = await codec_api.post(
        "/codec/decode", json=encoded.json(), headers={"X-Namespace": "flightdeck"}
    )

    assert encoded.status_code == 200, encoded.text
    payload = encoded.json()["payloads"][0]
    assert base64.b64decode(payload["metadata"]["encoding"]) == b"binary/encrypted"
    assert base64.b64decode(payload["metadata"]["encryption-key-id"]) == b"k1"
    assert SECRET not in base64.b64decode(payload["data"])
    assert decoded.status_code == 200, decoded.text
    assert decoded.json() == PLAIN


async def test_codec_routes_need_the_token(app: FastAPI) -> None:
    async with client_of(app, token=None) as anonymous, client_of(app, token="wrong" * 5) as bad:
        missing = await anonymous.post("/codec/decode", json=PLAIN)
        wrong = await bad.post("/codec/encode", json=PLAIN)

    assert missing.status_code == 401
    assert wrong.status_code == 401


async def test_the_capability_url_works_on_loopback_without_the_token(app: FastAPI) -> None:
    base = f"/codec/{codec_capability(TOKEN)}"
    async with client_of(app, token=None) as ui:
        encoded = await ui.post(f"{base}/encode", json=PLAIN)
        decoded = await ui.post(f"{base}/decode", json=encoded.json())

    assert encoded.status_code == 200, encoded.text
    assert decoded.json() == PLAIN


async def test_a_wrong_capability_or_a_remote_peer_gets_404(app: FastAPI) -> None:
    right = f"/codec/{codec_capability(TOKEN)}/decode"
    wrong = f"/codec/{codec_capability('another-token-0123456789')}/decode"
    async with (
        client_of(app, token=None) as local,
        client_of(app, token=None, peer="10.0.0.7") as remote,
    ):
        guessed = await local.post(wrong, json=PLAIN)
        from_afar = await remote.post(right, json=PLAIN)

    assert guessed.status_code == 404
    assert from_afar.status_code == 404


async def test_preflight_from_the_ui_origin_is_allowed(codec_api: httpx.AsyncClient) -> None:
    for origin in (UI_ORIGIN, "http://localhost:8233"):
        answer = await codec_api.options(
            "/codec/decode",
            headers={
                "Origin": origin,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type,x-namespace",
            },
        )

        assert answer.status_code == 200, answer.text
        assert answer.headers["access-control-allow-origin"] == origin
        assert answer.headers["access-control-allow-credentials"] == "true"
        assert "x-namespace" in answer.headers["access-control-allow-headers"].lower()


async def test_other_origins_and_other_routes_get_no_cors(codec_api: httpx.AsyncClient) -> None:
    preflight = {"Access-Control-Request-Method": "POST"}
    stranger = await codec_api.options(
        "/codec/decode", headers={"Origin": "https://evil.example", **preflight}
    )
    elsewhere = await codec_api.get("/healthz", headers={"Origin": UI_ORIGIN})

    assert "access-control-allow-origin" not in stranger.headers
    assert "access-control-allow-origin" not in elsewhere.headers


async def test_another_namespace_or_a_bad_body_is_a_readable_400(
    codec_api: httpx.AsyncClient,
) -> None:
    other = await codec_api.post("/codec/decode", json=PLAIN, headers={"X-Namespace": "default"})
    garbage = await codec_api.post("/codec/decode", content=b"not json")

    assert other.status_code == 400
    assert (
        other.json()["detail"] == "this codec server serves namespace 'flightdeck', not 'default'"
    )
    assert garbage.status_code == 400
    assert garbage.json()["detail"].startswith("body is not Temporal Payloads JSON")


async def test_a_payload_of_an_unknown_key_names_the_key(codec_api: httpx.AsyncClient) -> None:
    foreign = {
        "payloads": [
            {
                "metadata": {
                    "encoding": b64(b"binary/encrypted"),
                    "encryption-key-id": b64(b"k0"),
                },
                "data": b64(b"\0" * 40),
            }
        ]
    }

    answer = await codec_api.post("/codec/decode", json=foreign)

    assert answer.status_code == 400
    assert "key 'k0', which is not configured" in answer.json()["detail"]


async def test_with_encryption_off_the_codec_routes_say_so(api: httpx.AsyncClient) -> None:
    answer = await api.post("/codec/decode", json=PLAIN)

    assert answer.status_code == 404
    assert answer.json() == {"detail": ENCRYPTION_OFF}


def test_cors_origins_cover_both_loopback_spellings_and_extra_origins() -> None:
    origins = cors_origins(
        ["http://127.0.0.1:8233/namespaces/flightdeck", None, "https://ui.example.com/x"],
        "https://cloud.example, http://127.0.0.1:8233",
    )

    assert origins == [
        "http://127.0.0.1:8233",
        "http://localhost:8233",
        "https://ui.example.com",
        "https://cloud.example",
    ]
