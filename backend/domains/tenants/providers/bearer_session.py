"""Calls to an HTTP API with a client-credentials bearer token, shared by the identity providers.

Keycloak's admin API and Auth0's Management API are used alike: the token is cached and renewed
shortly before it expires, a call answered 401 is tried once more with a fresh token, and a
connection failure is a retryable ProviderError. Each adapter keeps its own token request (the
endpoints, credential formats and refusals differ) and hands it to a BearerSession.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from backend.domains.tenants.providers.protocol import PermanentProviderError, ProviderError

TIMEOUT = httpx.Timeout(10.0, connect=5.0)
USER_AGENT = "flightdeck-worker"

TokenFetch = Callable[[], Awaitable[tuple[str, float]]]
"""Gets a new token and its lifetime in seconds from the service's token endpoint."""


class BearerSession:
    """One service's HTTP client and cached token, so each adapter writes only its API calls."""

    def __init__(
        self,
        service: str,
        *,
        where: str,
        token_kind: str,
        fetch_token: TokenFetch,
        detail: Callable[[httpx.Response], str],
        base_url: str = "",
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.service = service
        """The service's name in messages, e.g. `Keycloak`."""
        self._where = where
        self._token_kind = token_kind
        self._fetch_token = fetch_token
        self._detail = detail
        self._http = httpx.AsyncClient(
            base_url=base_url,
            timeout=TIMEOUT,
            transport=transport,
            trust_env=False,
            headers={"User-Agent": USER_AGENT},
        )
        self._clock = clock
        self._token: str | None = None
        self._token_expires_at = 0.0
        self._token_lock = asyncio.Lock()

    async def call(
        self, method: str, url: str, action: str, *, json: object = None
    ) -> httpx.Response:
        """One API call with the token; a 401 refreshes the token and tries once more."""
        token = await self._bearer()
        response = await self._send(method, url, token, action, json)
        if response.status_code != httpx.codes.UNAUTHORIZED:
            return response
        token = await self._bearer(stale=token)
        response = await self._send(method, url, token, action, json)
        if response.status_code == httpx.codes.UNAUTHORIZED:
            raise PermanentProviderError(
                f"{self.service} rejected a fresh {self._token_kind} to {action} (401)"
                f"{self._detail(response)}"
            )
        return response

    async def request(
        self,
        method: str,
        url: str,
        action: str,
        *,
        json: object = None,
        data: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """One request as given (the token requests use it); unreachable is a ProviderError."""
        try:
            return await self._http.request(method, url, json=json, data=data, headers=headers)
        except httpx.HTTPError as err:
            raise ProviderError(f"{self._where} unreachable ({action}): {error_text(err)}") from err

    def json_object(self, response: httpx.Response, action: str) -> dict[str, Any]:
        """The response's JSON object; a ProviderError when the body is anything else."""
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise ProviderError(
                f"{self.service} answered {action} with something other than a JSON object"
            )
        return body

    def read_token(
        self, response: httpx.Response, action: str, *, default_lifetime: float
    ) -> tuple[str, float]:
        """The token and its lifetime (`default_lifetime` when not said) from a token response."""
        body = self.json_object(response, action)
        token = body.get("access_token")
        lifetime = body.get("expires_in", default_lifetime)
        if not isinstance(token, str) or not isinstance(lifetime, int | float):
            raise ProviderError(
                f"{self.service} sent a token response without access_token ({action})"
            )
        return token, float(lifetime)

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def _send(
        self, method: str, url: str, token: str, action: str, json: object
    ) -> httpx.Response:
        return await self.request(
            method, url, action, json=json, headers={"Authorization": f"Bearer {token}"}
        )

    async def _bearer(self, *, stale: str | None = None) -> str:
        """The cached token; a new one when it is near expiry or is the `stale` one."""
        async with self._token_lock:
            fresh = self._clock() < self._token_expires_at
            if self._token is not None and fresh and self._token != stale:
                return self._token
            token, lifetime = await self._fetch_token()
            self._token = token
            self._token_expires_at = self._clock() + lifetime - min(30.0, lifetime / 5)
            return token


@dataclass(frozen=True)
class OwnerTag:
    """Where a service's record names its tenant, so that another tenant's record is refused."""

    service: str
    kind: str
    """What the record is, e.g. `realm`."""
    field: str
    key: str
    """The record's `field` is a mapping whose `key` holds the tenant id."""

    def check(self, record: Mapping[str, Any], tenant_id: str, name: str) -> None:
        """PermanentProviderError unless the record `name` is tagged with `tenant_id`."""
        holder = record.get(self.field)
        owner = holder.get(self.key) if isinstance(holder, dict) else None
        if owner != tenant_id:
            whose = f"tenant {owner}" if owner else "no Flightdeck tenant"
            raise PermanentProviderError(
                f"{self.service} {self.kind} {name} exists but belongs to {whose},"
                f" not {tenant_id}; rename or remove that {self.kind}"
            )


def error_detail(response: httpx.Response, keys: tuple[str, ...], *, join: bool = False) -> str:
    """The service's words for an error (first of `keys`, or all joined) as ` (...)`, or ``."""
    text = ""
    try:
        body = response.json()
    except ValueError:
        text = response.text
    else:
        if isinstance(body, dict):
            parts = [v for v in (body.get(key) for key in keys) if isinstance(v, str) and v]
            text = ": ".join(parts if join else parts[:1])
    text = " ".join(text.split())[:200]
    return f" ({text})" if text else ""


def slug(text: str) -> str:
    """`text` in lower-case letters, digits and single dashes, safe in names and URL paths."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def error_text(err: httpx.HTTPError) -> str:
    """What went wrong in a request, or the error's type when httpx gave no text."""
    return str(err) or type(err).__name__
