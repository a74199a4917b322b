"""The request gate: the bearer token checked and the body size bounded before any route reads
(or parses) a byte of the body.

A pure ASGI middleware, so streamed answers pass through untouched:

- `/api/...` and the token routes of the codec server (`/codec/encode|decode`) need the bearer
  token; the codec's capability URLs (`/codec/<capability>/...`) have their own check and pass.
- `/docs`, `/redoc` and `/openapi.json` are free to loopback peers and need the token otherwise.
- Every request body is at most `MAX_BODY` bytes: refused by its `Content-Length` before it is
  read, and by counting the chunks of one that is streamed without a length (413).
"""

from __future__ import annotations

import ipaddress
import sqlite3
from typing import Any

from fastapi import HTTPException, status
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backend.api.auth import CHALLENGE
from backend.api.errors import CLOSED_CONNECTION, RETRY_AFTER_SECONDS, storage_unavailable
from backend.api.identity import Unauthenticated, bearer, principal_for

MAX_BODY = 64 * 1024
TOO_LARGE = "request body over 64 KiB"

_TOKEN_PREFIXES = ("/api/", "/v2/")
_CODEC_TOKEN_PATHS = frozenset({"/codec/encode", "/codec/decode"})


class BodyTooLarge(HTTPException):
    """A streamed body went over `MAX_BODY` while a route was reading it."""

    def __init__(self) -> None:
        super().__init__(status.HTTP_413_CONTENT_TOO_LARGE, TOO_LARGE)


class RequestGate:
    """Refuse requests without the token (401) or with too large a body (413) early."""

    def __init__(self, app: ASGIApp, *, max_body: int = MAX_BODY) -> None:
        self._app = app
        self._max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        try:
            refusal = await self._token_refusal(scope)
        except (sqlite3.Error, ValueError) as err:
            # Personal tokens live in the store: while it is unavailable, say so (not a 500).
            if isinstance(err, ValueError) and str(err) != CLOSED_CONNECTION:
                raise
            retry = {"Retry-After": str(RETRY_AFTER_SECONDS)}
            await _answer(scope, receive, send, 503, storage_unavailable(err), retry)
            return
        if refusal is not None:
            await _answer(scope, receive, send, 401, refusal, CHALLENGE)
            return
        if _declared_length(scope) > self._max_body:
            await _answer(scope, receive, send, 413, TOO_LARGE)
            return
        received = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self._max_body:
                    raise BodyTooLarge()
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self._app(scope, counted_receive, watched_send)
        except BodyTooLarge:
            # Routes that read the body through FastAPI answer 413 themselves; this is for the
            # rest (a body read outside a route's parameters).
            if started:
                raise
            await _answer(scope, receive, send, 413, TOO_LARGE)

    async def _token_refusal(self, scope: Scope) -> str | None:
        """Why this request may not pass without the token it lacks (None: it may pass)."""
        path: str = scope["path"]
        app: Any = scope.get("app")
        if path.startswith(_TOKEN_PREFIXES) or path in _CODEC_TOKEN_PATHS:
            needed = True
        elif app is not None and path in _docs_paths(app):
            needed = not _loopback(scope)
        else:
            needed = False
        if not needed or app is None:
            return None
        try:
            token = bearer(_header(scope, b"authorization"))
            principal = await principal_for(app.state.context, token)
        except Unauthenticated as err:
            return str(err)
        # Routes find it on request.state: the token is looked up once per request.
        scope.setdefault("state", {})["principal"] = principal
        return None


def _docs_paths(app: Any) -> set[str]:
    """The paths FastAPI serves its schema and documentation pages on."""
    paths = (
        app.openapi_url,
        app.docs_url,
        app.redoc_url,
        app.swagger_ui_oauth2_redirect_url,
    )
    return {path for path in paths if path}


def _loopback(scope: Scope) -> bool:
    client = scope.get("client")
    try:
        return client is not None and ipaddress.ip_address(client[0]).is_loopback
    except ValueError:
        return False


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return ""


def _declared_length(scope: Scope) -> int:
    """The request's `Content-Length` (0 when absent or not a number: the count catches it)."""
    value = _header(scope, b"content-length").strip()
    return int(value) if value.isdigit() else 0


async def _answer(
    scope: Scope,
    receive: Receive,
    send: Send,
    status_code: int,
    detail: str,
    headers: dict[str, str] | None = None,
) -> None:
    response = JSONResponse({"detail": detail}, status_code=status_code, headers=headers)
    await response(scope, receive, send)
