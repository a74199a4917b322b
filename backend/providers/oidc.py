"""OIDC bearer tokens (for teams with an IdP): a JWT signed by a key of the IdP's JWKS, for our
audience (and issuer), names a person and their roles.

The JWKS is fetched with httpx (async) and cached; an unknown key id refreshes it (at most once
per `refresh_seconds`), so a key rotation at the IdP is picked up without a restart.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import jwt

from backend.domain.identity import Principal, Role

ALGORITHMS = ["RS256", "RS384", "RS512", "ES256", "ES384", "PS256"]


class InvalidBearer(Exception):
    """The bearer token is a JWT that cannot be trusted (the message says why)."""


@dataclass(frozen=True)
class OidcConfig:
    """Where the IdP's keys are and what a token must say."""

    jwks_url: str
    audience: str
    issuer: str | None = None
    roles_claim: str = "roles"
    name_claim: str = "preferred_username"


def looks_like_jwt(token: str) -> bool:
    """Three base64url parts: worth verifying as a JWT (anything else is another kind)."""
    return token.count(".") == 2 and not token.startswith("fdt_")


class OidcVerifier:
    """Verifies OIDC bearer tokens against the IdP's JWKS."""

    def __init__(
        self,
        config: OidcConfig,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        refresh_seconds: float = 60.0,
        cache_seconds: float = 600.0,
    ) -> None:
        self.config = config
        self._http = httpx.AsyncClient(timeout=5.0, transport=transport)
        self._keys: dict[str, Any] = {}
        self._fetched = 0.0
        self._refresh_seconds = refresh_seconds
        self._cache_seconds = cache_seconds
        self._lock = asyncio.Lock()

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self._http.aclose()

    async def principal(self, token: str) -> Principal:
        """The person the token names; InvalidBearer when it cannot be trusted."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as err:
            raise InvalidBearer(f"not a JWT: {err}") from None
        key = await self._key(str(header.get("kid", "")))
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key,
                algorithms=ALGORITHMS,
                audience=self.config.audience,
                issuer=self.config.issuer,
                options={"require": ["exp", "aud"]},
                leeway=30,
            )
        except jwt.PyJWTError as err:
            raise InvalidBearer(f"token refused: {err}") from None
        name = claims.get(self.config.name_claim) or claims.get("email") or claims.get("sub")
        if not isinstance(name, str) or not name:
            raise InvalidBearer(f"token names nobody (no {self.config.name_claim} or sub claim)")
        return Principal(name=name, roles=_roles(claims.get(self.config.roles_claim)), via="oidc")

    async def _key(self, kid: str) -> Any:
        async with self._lock:
            stale = time.monotonic() - self._fetched > self._cache_seconds
            may_refresh = time.monotonic() - self._fetched > self._refresh_seconds
            if stale or (kid not in self._keys and may_refresh):
                await self._fetch()
            if kid not in self._keys:
                known = ", ".join(sorted(self._keys)) or "none"
                raise InvalidBearer(f"token signed with unknown key {kid!r} (known: {known})")
            return self._keys[kid]

    async def _fetch(self) -> None:
        try:
            response = await self._http.get(self.config.jwks_url)
            response.raise_for_status()
            document = response.json()
        except (httpx.HTTPError, json.JSONDecodeError) as err:
            if self._keys:  # keep the keys we have; try again later
                self._fetched = time.monotonic()
                return
            raise InvalidBearer(
                f"cannot read the IdP's keys at {self.config.jwks_url}: {err}"
            ) from None
        keys = {}
        for entry in document.get("keys", []):
            try:
                keys[str(entry.get("kid", ""))] = jwt.PyJWK.from_dict(entry).key
            except jwt.PyJWTError:
                continue  # a key type we do not use
        self._keys = keys
        self._fetched = time.monotonic()


def _roles(claim: object) -> list[Role]:
    values: Sequence[object]
    if isinstance(claim, str):
        values = claim.replace(",", " ").split()
    elif isinstance(claim, list):
        values = claim
    else:
        values = []
    known = {role.value for role in Role}
    return [Role(str(v)) for v in values if str(v) in known]
