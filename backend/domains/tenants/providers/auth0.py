"""Auth0 as the tenants' identity provider: one organization per tenant, over the Management API.

The adapter authenticates as a machine-to-machine application (client-credentials grant for the
`https://<domain>/api/v2/` audience; it needs `read:organizations`, `create:organizations` and
`delete:organizations`). Each organization records the tenant id in its metadata, so an
organization of the same name that belongs to someone else is refused instead of adopted or deleted.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote

import httpx

from backend.domains.tenants.providers.protocol import (
    IdentityProvider,
    IdpOrganization,
    PermanentProviderError,
    ProviderError,
    TenantRef,
)

PROVIDER = "auth0"
TENANT_METADATA = "tenant_id"
"""The organization metadata key that records which tenant an organization belongs to."""
NAME_LIMIT = 50
"""Auth0's longest organization name."""
TIMEOUT = httpx.Timeout(10.0, connect=5.0)
USER_AGENT = "flightdeck-worker"


class RateLimited(ProviderError):
    """Auth0 answered 429: retryable, no sooner than `retry_after` seconds when it said so."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def organization_name(tenant: TenantRef) -> str:
    """The tenant's organization name: `tenant-<name>`, at most 50 characters (a hash if cut)."""
    slug = _slug(tenant.name) or _slug(tenant.tenant_id)
    name = f"tenant-{slug}"
    if len(name) <= NAME_LIMIT:
        return name
    digest = hashlib.sha256(slug.encode()).hexdigest()[:8]
    return f"{name[: NAME_LIMIT - len(digest) - 1].rstrip('-')}-{digest}"


class Auth0IdentityProvider(IdentityProvider):
    """Creates and deletes one Auth0 organization per tenant with a Management API token."""

    def __init__(
        self,
        domain: str,
        *,
        client_id: str,
        client_secret: str,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.domain = domain
        self.base_url = f"https://{domain}"
        self._credentials = {
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": client_secret,
            "audience": f"{self.base_url}/api/v2/",
        }
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            timeout=TIMEOUT,
            transport=transport,
            trust_env=False,
            headers={"User-Agent": USER_AGENT},
        )
        self._clock = clock
        self._token: str | None = None
        self._token_expires_at = 0.0
        self._token_lock = asyncio.Lock()

    async def create_organization(self, tenant: TenantRef) -> IdpOrganization:
        """The tenant's organization, created unless it exists (then it must be this tenant's)."""
        name = organization_name(tenant)
        action = f"create organization {name}"
        existing = await self._find(name, action)
        if existing is None:
            body = {
                "name": name,
                "display_name": tenant.name,
                "metadata": {TENANT_METADATA: tenant.tenant_id},
            }
            response = await self._api("POST", "/api/v2/organizations", action, json=body)
            if response.status_code == httpx.codes.CONFLICT:
                # Created by a concurrent attempt between our lookup and our POST.
                existing = await self._find(name, action)
                if existing is None:
                    raise ProviderError(f"Auth0 reported organization {name} exists but not found")
            elif response.is_success:
                return _organization(_json_object(response, action), action)
            else:
                raise _failure(response, action)
        _check_owner(existing, tenant, name)
        return _organization(existing, action)

    async def delete_organization(self, tenant: TenantRef) -> bool:
        """Delete the tenant's organization; False when it is already gone."""
        name = organization_name(tenant)
        action = f"delete organization {name}"
        existing = await self._find(name, action)
        if existing is None:
            return False
        _check_owner(existing, tenant, name)
        org = _organization(existing, action)
        path = f"/api/v2/organizations/{quote(org.id, safe='')}"
        response = await self._api("DELETE", path, action)
        if response.status_code == httpx.codes.NOT_FOUND:
            return False
        if not response.is_success:
            raise _failure(response, action)
        return True

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def _find(self, name: str, action: str) -> dict[str, Any] | None:
        path = f"/api/v2/organizations/name/{quote(name, safe='')}"
        response = await self._api("GET", path, action)
        if response.status_code == httpx.codes.NOT_FOUND:
            return None
        if not response.is_success:
            raise _failure(response, action)
        return _json_object(response, action)

    async def _api(
        self, method: str, path: str, action: str, *, json: object = None
    ) -> httpx.Response:
        """One Management API call; a 401 refreshes the token and tries once more."""
        token = await self._bearer()
        response = await self._send(method, path, token, action, json)
        if response.status_code != httpx.codes.UNAUTHORIZED:
            return response
        token = await self._bearer(stale=token)
        response = await self._send(method, path, token, action, json)
        if response.status_code == httpx.codes.UNAUTHORIZED:
            raise PermanentProviderError(
                f"Auth0 rejected a fresh Management API token to {action} (401){_detail(response)}"
            )
        return response

    async def _send(
        self, method: str, path: str, token: str, action: str, json: object
    ) -> httpx.Response:
        try:
            return await self._http.request(
                method, path, json=json, headers={"Authorization": f"Bearer {token}"}
            )
        except httpx.HTTPError as err:
            raise ProviderError(f"Auth0 {self.domain} unreachable ({action}): {_why(err)}") from err

    async def _bearer(self, *, stale: str | None = None) -> str:
        """A cached Management API token; a new one near expiry or when it is the `stale` one."""
        async with self._token_lock:
            fresh = self._clock() < self._token_expires_at
            if self._token is not None and fresh and self._token != stale:
                return self._token
            token, lifetime = await self._fetch_token()
            self._token = token
            self._token_expires_at = self._clock() + lifetime - min(30.0, lifetime / 5)
            return token

    async def _fetch_token(self) -> tuple[str, float]:
        action = "get a Management API token"
        try:
            response = await self._http.post("/oauth/token", json=self._credentials)
        except httpx.HTTPError as err:
            raise ProviderError(f"Auth0 {self.domain} unreachable ({action}): {_why(err)}") from err
        status = response.status_code
        if status in (httpx.codes.UNAUTHORIZED, httpx.codes.FORBIDDEN):
            raise PermanentProviderError(
                f"Auth0 refused the client credentials ({status}){_detail(response)};"
                " check AUTH0_CLIENT_ID, AUTH0_CLIENT_SECRET and the application's API grant"
            )
        if not response.is_success:
            raise _failure(response, action)
        body = _json_object(response, action)
        token = body.get("access_token")
        lifetime = body.get("expires_in", 86400)
        if not isinstance(token, str) or not isinstance(lifetime, int | float):
            raise ProviderError(f"Auth0 sent a token response without access_token ({action})")
        return token, float(lifetime)


def _organization(body: dict[str, Any], action: str) -> IdpOrganization:
    org_id, name = body.get("id"), body.get("name")
    if not isinstance(org_id, str) or not isinstance(name, str):
        raise ProviderError(f"Auth0 answered {action} with an organization without id or name")
    return IdpOrganization(id=org_id, name=name, provider=PROVIDER)


def _check_owner(org: dict[str, Any], tenant: TenantRef, name: str) -> None:
    metadata = org.get("metadata")
    owner = metadata.get(TENANT_METADATA) if isinstance(metadata, dict) else None
    if owner != tenant.tenant_id:
        whose = f"tenant {owner}" if owner else "no Flightdeck tenant"
        raise PermanentProviderError(
            f"Auth0 organization {name} exists but belongs to {whose}, not {tenant.tenant_id};"
            " rename or remove that organization"
        )


def _failure(response: httpx.Response, action: str) -> Exception:
    """ProviderError for what a retry may fix (5xx, 408, 429), else PermanentProviderError."""
    status = response.status_code
    message = f"Auth0 could not {action}: HTTP {status}{_detail(response)}"
    if status == httpx.codes.TOO_MANY_REQUESTS:
        retry_after = _retry_after(response.headers.get("Retry-After"))
        if retry_after is not None:
            message += f"; retry after {retry_after:g} s"
        return RateLimited(message, retry_after)
    if status >= 500 or status == httpx.codes.REQUEST_TIMEOUT:
        return ProviderError(message)
    if status == httpx.codes.FORBIDDEN:
        message += "; the application needs the read/create/delete:organizations scopes"
    return PermanentProviderError(message)


def _retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date); None if absent/bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _detail(response: httpx.Response) -> str:
    """Auth0's own words for an error, on one line, as ` (...)`; empty when it gave none."""
    text = ""
    try:
        body = response.json()
    except ValueError:
        text = response.text
    else:
        if isinstance(body, dict):
            for key in ("message", "error_description", "error"):
                value = body.get(key)
                if isinstance(value, str) and value:
                    text = value
                    break
    text = " ".join(text.split())[:200]
    return f" ({text})" if text else ""


def _json_object(response: httpx.Response, action: str) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise ProviderError(f"Auth0 answered {action} with something other than a JSON object")
    return body


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _why(err: httpx.HTTPError) -> str:
    return str(err) or type(err).__name__
