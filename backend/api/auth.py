"""Bearer-token authentication for everything under /api (and the docs off loopback).

`token_refusal` is the one check: the request gate (`backend.api.limits`) runs it before a
body is read, and `require_token` runs it again per route (defence in depth, and it is what
puts the bearer scheme in the OpenAPI schema)."""

from __future__ import annotations

import secrets

from fastapi import HTTPException, Request, status
from fastapi.security import HTTPBearer

MISSING_TOKEN = "missing bearer token (Authorization: Bearer <token>; see the data dir's api-token)"
INVALID_TOKEN = "invalid token"
CHALLENGE = {"WWW-Authenticate": "Bearer"}

_bearer = HTTPBearer(auto_error=False, description="The data dir's api-token")


def token_refusal(authorization: str, expected: str) -> str | None:
    """Why an `Authorization` header value does not carry `expected` (None: it does)."""
    scheme, _, supplied = authorization.partition(" ")
    if scheme.lower() != "bearer" or not supplied.strip():
        return MISSING_TOKEN
    if not secrets.compare_digest(supplied.strip().encode(), expected.encode()):
        return INVALID_TOKEN
    return None


def require_token(request: Request) -> None:
    """Refuse (401) a request without the right `Authorization: Bearer <token>`."""
    expected: str = request.app.state.context.token
    refusal = token_refusal(request.headers.get("authorization", ""), expected)
    if refusal is not None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, refusal, headers=CHALLENGE)
