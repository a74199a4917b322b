"""Bearer-token authentication for everything under /api (and the docs off loopback).

The request gate (`backend.api.limits`) resolves the token's principal before a body is read;
`require_token` resolves it again per route when the gate did not (defence in depth), and is
what puts the bearer scheme in the OpenAPI schema. Who a token stands for: `backend.api.identity`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from backend.api.identity import CHALLENGE, authenticate

__all__ = ["CHALLENGE", "require_token"]

_bearer = HTTPBearer(
    auto_error=False,
    description="The data dir's `api-token`, a personal token (`flightdeck token add`), or an"
    " OIDC token when FLIGHTDECK_OIDC_* are set",
)


async def require_token(
    request: Request,
    _: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)] = None,
) -> None:
    """Refuse (401) a request whose bearer token stands for nobody (the unused `HTTPBearer`
    dependency documents the scheme in the OpenAPI schema)."""
    await authenticate(request)
