"""Auth0 as the tenants' identity provider: one organization per tenant, over the Management API.

The adapter authenticates as a machine-to-machine application (client-credentials grant for the
`https://<domain>/api/v2/` audience; it needs `read:organizations`, `create:organizations` and
`delete:organizations`). Each organization records the tenant id in its metadata, so an
organization of the same name that belongs to someone else is refused instead of adopted or deleted.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote

import httpx

from backend.domains.tenants.providers.bearer_session import (
    BearerSession,
    OwnerTag,
    error_detail,
    slug,
)
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
OWNER = OwnerTag("Auth0", "organization", "metadata", TENANT_METADATA)
"""Refuses an organization of the same name that another tenant (or no tenant) owns."""
NAME_LIMIT = 50
"""Auth0's longest organization name."""


class RateLimited(ProviderError):
    """Auth0 answered 429: retryable, no sooner than `retry_after` seconds when it said so."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def organization_name(tenant: TenantRef) -> str:
    """The tenant's organization name: `tenant-<name>`, at most 50 characters (a hash if cut)."""
    text = slug(tenant.name) or slug(tenant.tenant_id)
    name = f"tenant-{text}"
    if len(name) <= NAME_LIMIT:
        return name
    digest = hashlib.sha256(text.encode()).hexdigest()[:8]
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
        self._session = BearerSession(
            "Auth0",
            where=f"Auth0 {domain}",
            token_kind="Management API token",
            fetch_token=self._fetch_token,
            detail=_detail,
            base_url=self.base_url,
            transport=transport,
            clock=clock,
        )

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
            response = await self._session.call("POST", "/api/v2/organizations", action, json=body)
            if response.status_code == httpx.codes.CONFLICT:
                # Created by a concurrent attempt between our lookup and our POST.
                existing = await self._find(name, action)
                if existing is None:
                    raise ProviderError(f"Auth0 reported organization {name} exists but not found")
            elif response.is_success:
                return _organization(self._session.json_object(response, action), action)
            else:
                raise _failure(response, action)
        OWNER.check(existing, tenant.tenant_id, name)
        return _organization(existing, action)

    async def delete_organization(self, tenant: TenantRef) -> bool:
        """Delete the tenant's organization; False when it is already gone."""
        name = organization_name(tenant)
        action = f"delete organization {name}"
        existing = await self._find(name, action)
        if existing is None:
            return False
        OWNER.check(existing, tenant.tenant_id, name)
        org = _organization(existing, action)
        path = f"/api/v2/organizations/{quote(org.id, safe='')}"
        response = await self._session.call("DELETE", path, action)
        if response.status_code == httpx.codes.NOT_FOUND:
            return False
        if not response.is_success:
            raise _failure(response, action)
        return True

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._session.aclose()

    async def _find(self, name: str, action: str) -> dict[str, Any] | None:
        path = f"/api/v2/organizations/name/{quote(name, safe='')}"
        response = await self._session.call("GET", path, action)
        if response.status_code == httpx.codes.NOT_FOUND:
            return None
        if not response.is_success:
            raise _failure(response, action)
        return self._session.json_object(response, action)

    async def _fetch_token(self) -> tuple[str, float]:
        action = "get a Management API token"
        response = await self._session.request(
            "POST", "/oauth/token", action, json=self._credentials
        )
        status = response.status_code
        if status in (httpx.codes.UNAUTHORIZED, httpx.codes.FORBIDDEN):
            raise PermanentProviderError(
                f"Auth0 refused the client credentials ({status}){_detail(response)};"
                " check AUTH0_CLIENT_ID, AUTH0_CLIENT_SECRET and the application's API grant"
            )
        if not response.is_success:
            raise _failure(response, action)
        return self._session.read_token(response, action, default_lifetime=86400)


def _organization(body: dict[str, Any], action: str) -> IdpOrganization:
    org_id, name = body.get("id"), body.get("name")
    if not isinstance(org_id, str) or not isinstance(name, str):
        raise ProviderError(f"Auth0 answered {action} with an organization without id or name")
    return IdpOrganization(id=org_id, name=name, provider=PROVIDER)


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
    return error_detail(response, ("message", "error_description", "error"))
