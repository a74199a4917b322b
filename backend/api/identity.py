"""Who makes a request, from its bearer token: a personal token (`fdt_…`, `flightdeck token
add`), an OIDC JWT (when FLIGHTDECK_OIDC_* are set), or the shared data-dir token.

The principal is resolved once per request (cached on `request.state`), before the body is read.
A personal identity is the actor of whatever it does: the API writes its name into the request
body's actor field, whatever the client sent. The shared token acts for whoever the body names
(one user on one machine, or a trusted tool); it holds every role.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable

from fastapi import HTTPException, Request, status
from pydantic import BaseModel

from backend.api.context import ApiContext
from backend.domain.form import field_with_role
from backend.domain.identity import Principal, Role
from backend.providers.oidc import InvalidBearer, looks_like_jwt

SHARED = Principal(name="shared-token", roles=[Role.ADMIN], via="shared")
CHALLENGE = {"WWW-Authenticate": "Bearer"}
"""The header a 401 carries."""


class Unauthenticated(Exception):
    """No usable bearer token; the message says why (401)."""


def bearer(header: str) -> str:
    """The token of an `Authorization: Bearer <token>` header; Unauthenticated otherwise."""
    scheme, _, supplied = header.partition(" ")
    if scheme.lower() != "bearer" or not supplied.strip():
        raise Unauthenticated(
            "missing bearer token (Authorization: Bearer <token>; see the data dir's api-token)"
        )
    return supplied.strip()


async def principal_for(context: ApiContext, token: str) -> Principal:
    """The principal a bearer token stands for; Unauthenticated when it stands for nobody."""
    if secrets.compare_digest(token.encode(), context.token.encode()):
        return SHARED
    if token.startswith("fdt_"):
        found = await context.tokens.principal(token)
        if found is None:
            raise Unauthenticated("invalid or revoked token")
        return found
    if context.oidc is not None and looks_like_jwt(token):
        try:
            return await context.oidc.principal(token)
        except InvalidBearer as err:
            raise Unauthenticated(str(err)) from None
    raise Unauthenticated("invalid token")


async def authenticate(request: Request) -> Principal:
    """The request's principal (resolved once); 401 when there is none."""
    cached = getattr(request.state, "principal", None)  # set by the request gate
    if isinstance(cached, Principal):
        return cached
    context: ApiContext = request.app.state.context
    try:
        principal = await principal_for(context, bearer(request.headers.get("authorization", "")))
    except Unauthenticated as err:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, str(err), headers=CHALLENGE) from None
    request.state.principal = principal
    return principal


def requires(role: Role) -> Callable[[Request], Awaitable[Principal]]:
    """A dependency: the principal, or 403 when it lacks `role`."""

    async def check(request: Request) -> Principal:
        principal = await authenticate(request)
        if not principal.may(role):
            have = ", ".join(principal.roles) or "no role"
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                f"{principal.name} ({have}) may not do this: it needs the {role} role",
            )
        return principal

    return check


def acting_as(principal: Principal, body: BaseModel) -> BaseModel:
    """The body with its actor field set to a personal principal's name (unchanged for the
    shared token, which acts for whoever the body names)."""
    if not principal.personal:
        return body
    name = field_with_role(type(body), "actor")
    if name is None:
        return body
    return body.model_copy(update={name: principal.name})
