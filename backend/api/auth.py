"""Bearer-token authentication for everything under /api."""

from __future__ import annotations

import secrets

from fastapi import HTTPException, Request, status


def require_token(request: Request) -> None:
    """Refuse (401) a request without the right `Authorization: Bearer <token>`."""
    expected: str = request.app.state.context.token
    header = request.headers.get("authorization", "")
    scheme, _, supplied = header.partition(" ")
    if scheme.lower() != "bearer" or not supplied:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "missing bearer token (Authorization: Bearer <token>; see the data dir's api-token)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if not secrets.compare_digest(supplied.strip().encode(), expected.encode()):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "invalid token", headers={"WWW-Authenticate": "Bearer"}
        )
