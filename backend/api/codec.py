"""Codec server: `POST /codec/encode` and `POST /codec/decode`, so the Temporal UI and CLI show
encrypted payloads decrypted to people allowed to see them.

Speaks Temporal's codec-server protocol: the body and the answer are the proto3 JSON of
`temporal.api.common.v1.Payloads` (`{"payloads": [{"metadata": {k: base64}, "data": base64}]}`);
an `X-Namespace` header, when sent, must name this backend's namespace. The codec is the one the
backend's Temporal client uses, so it decrypts exactly what Flightdeck's workers wrote.

Two ways in:

- `/codec/encode|decode` with the API's bearer token: a Temporal UI configured to pass an access
  token, or `temporal workflow show --codec-endpoint URL/codec --codec-auth "Bearer TOKEN"`.
- `/codec/<capability>/encode|decode`: the embedded dev server's UI runs in a browser that cannot
  send our token, so it is started with `--ui-codec-endpoint` set to this capability URL, whose
  secret segment is derived from the API token (`codec_capability`). The trade-off: whoever
  knows that URL can decrypt, as with the token itself. So the capability is only honoured for
  loopback peers (a browser on this machine, or one reaching it through an SSH tunnel), never
  over the network, and it changes whenever the API token does.

Browsers call these routes cross-origin (the UI is on another port), so CORS is answered for
them, and only them, for the Temporal UI's origins.
"""

from __future__ import annotations

import ipaddress
import secrets
from collections.abc import Iterable, Sequence
from typing import Literal
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from google.protobuf import json_format
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send
from temporalio.api.common.v1 import Payloads

from backend.api.auth import require_token
from backend.api.context import ApiContext
from backend.api.errors import error_responses
from backend.runtime.codec import CodecError, EncryptionCodec
from backend.runtime.codec_keys import codec_capability

router = APIRouter(prefix="/codec", tags=["codec"])

_PAYLOADS_SCHEMA = {
    "type": "object",
    "description": "proto3 JSON of temporal.api.common.v1.Payloads",
    "properties": {
        "payloads": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "metadata": {
                        "type": "object",
                        "additionalProperties": {"type": "string", "format": "byte"},
                    },
                    "data": {"type": "string", "format": "byte"},
                },
            },
        }
    },
}
_DOCUMENTED = {
    "dependencies": [Depends(require_token)],
    "responses": {
        200: {"content": {"application/json": {"schema": _PAYLOADS_SCHEMA}}},
        **error_responses(400, 401, 404, 413),
    },
    "openapi_extra": {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _PAYLOADS_SCHEMA}},
        }
    },
}

Operation = Literal["encode", "decode"]

ENCRYPTION_OFF = (
    "payload encryption is off: set FLIGHTDECK_CODEC_KEYS (or FLIGHTDECK_CODEC_KEY_FILE)"
    " on the backend"
)


def install_codec_server(
    app: FastAPI, codec: EncryptionCodec | None, *, origins: Sequence[str] = ()
) -> None:
    """Serve the codec routes with `codec` (None: they answer 404, encryption is off), and
    answer CORS on them for the browser `origins`."""
    app.state.codec = codec
    app.include_router(router)
    if origins:
        app.add_middleware(CodecCors, origins=origins)


def cors_origins(ui_urls: Iterable[str | None], extra: str = "") -> list[str]:
    """Browser origins allowed to call the codec server: each Temporal UI URL's origin (for a
    loopback UI both its 127.0.0.1 and its localhost spelling), plus the comma list `extra`."""
    origins: list[str] = []
    for url in ui_urls:
        if not url:
            continue
        parts = urlsplit(url)
        if not parts.scheme or not parts.hostname:
            continue
        port = f":{parts.port}" if parts.port else ""
        hosts = [parts.hostname]
        if parts.hostname in ("127.0.0.1", "localhost"):
            hosts = ["127.0.0.1", "localhost"]
        origins += [f"{parts.scheme}://{host}{port}" for host in hosts]
    origins += [origin.strip() for origin in extra.split(",") if origin.strip()]
    return list(dict.fromkeys(origins))


class CodecCors:
    """CORS for the codec routes only: the Temporal UI's origins may POST to them (with the
    Authorization, Content-Type and X-Namespace headers); the rest of the API stays same-origin."""

    def __init__(self, app: ASGIApp, origins: Sequence[str]) -> None:
        self._app = app
        self._cors = CORSMiddleware(
            app,
            allow_origins=list(origins),
            allow_methods=["POST", "OPTIONS"],
            allow_headers=["Authorization", "Content-Type", "X-Namespace"],
            allow_credentials=True,
            max_age=600,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and str(scope["path"]).startswith(f"{router.prefix}/"):
            await self._cors(scope, receive, send)
        else:
            await self._app(scope, receive, send)


@router.post("/encode", **_DOCUMENTED)  # type: ignore[arg-type]
async def encode(request: Request) -> JSONResponse:
    """Encrypt payloads with the current key (bearer token)."""
    return await _apply(request, "encode")


@router.post("/decode", **_DOCUMENTED)  # type: ignore[arg-type]
async def decode(request: Request) -> JSONResponse:
    """Decrypt payloads with the key each names (bearer token)."""
    return await _apply(request, "decode")


@router.post("/{capability}/encode", include_in_schema=False)
async def encode_by_capability(capability: str, request: Request) -> JSONResponse:
    """`/codec/encode` for the embedded Temporal UI, on loopback (see the module docstring)."""
    return _refused(request, capability) or await _apply(request, "encode")


@router.post("/{capability}/decode", include_in_schema=False)
async def decode_by_capability(capability: str, request: Request) -> JSONResponse:
    """`/codec/decode` for the embedded Temporal UI, on loopback (see the module docstring)."""
    return _refused(request, capability) or await _apply(request, "decode")


def _refused(request: Request, capability: str) -> JSONResponse | None:
    """404 (as for any unknown path) unless the capability is right and the peer is loopback."""
    context: ApiContext = request.app.state.context
    expected = codec_capability(context.token)
    if secrets.compare_digest(capability.encode(), expected.encode()) and _loopback(request):
        return None
    return JSONResponse({"detail": "Not Found"}, status_code=404)


def _loopback(request: Request) -> bool:
    host = request.client.host if request.client else ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


async def _apply(request: Request, operation: Operation) -> JSONResponse:
    """Parse the Payloads JSON, run the codec over it, answer the Payloads JSON."""
    codec: EncryptionCodec | None = request.app.state.codec
    if codec is None:
        return JSONResponse({"detail": ENCRYPTION_OFF}, status_code=404)
    context: ApiContext = request.app.state.context
    namespace = request.headers.get("x-namespace")
    if namespace is not None and namespace != context.namespace:
        return JSONResponse(
            {
                "detail": f"this codec server serves namespace {context.namespace!r},"
                f" not {namespace!r}"
            },
            status_code=400,
        )
    payloads = Payloads()
    try:
        json_format.Parse(await request.body(), payloads)
    except (json_format.ParseError, ValueError) as err:
        reason = " ".join(str(err).split())[:200]
        return JSONResponse(
            {"detail": 'body is not Temporal Payloads JSON {"payloads": [...]}: ' + reason},
            status_code=400,
        )
    try:
        if operation == "encode":
            await codec.encode_wrapper(payloads)
        else:
            await codec.decode_wrapper(payloads)
    except CodecError as err:
        return JSONResponse({"detail": str(err)}, status_code=400)
    answer = json_format.MessageToDict(payloads)
    answer.setdefault("payloads", [])
    return JSONResponse(answer)
