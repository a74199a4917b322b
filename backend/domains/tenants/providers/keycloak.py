"""Keycloak as the tenants' identity provider: one realm per tenant, over the admin REST API.

The adapter authenticates as a confidential client of the admin realm (client-credentials grant;
its service account needs the `create-realm` role, or `admin`). Each realm it creates carries the
tenant id as a realm attribute, so a realm of the same name that belongs to someone else is
refused instead of adopted or deleted.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
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

PROVIDER = "keycloak"
TENANT_ATTRIBUTE = "flightdeck.tenantId"
"""The realm attribute that records which tenant a realm belongs to."""
TIMEOUT = httpx.Timeout(10.0, connect=5.0)
USER_AGENT = "flightdeck-worker"


def realm_name(tenant: TenantRef) -> str:
    """The tenant's realm, `tenant-<name>` in lower-case letters, digits and dashes."""
    slug = _slug(tenant.name) or _slug(tenant.tenant_id)
    return f"tenant-{slug}"


class KeycloakIdentityProvider(IdentityProvider):
    """Creates and deletes one Keycloak realm per tenant with an admin client's token."""

    def __init__(
        self,
        url: str,
        *,
        client_id: str,
        client_secret: str,
        admin_realm: str = "master",
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = url.rstrip("/")
        self._token_url = (
            f"{self.url}/realms/{quote(admin_realm, safe='')}/protocol/openid-connect/token"
        )
        self._admin_realm = admin_realm
        self._credentials = {
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": client_secret,
        }
        self._http = httpx.AsyncClient(
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
        """The tenant's realm, created unless it exists (then it must be this tenant's)."""
        realm = realm_name(tenant)
        action = f"create realm {realm}"
        body = {
            "realm": realm,
            "enabled": True,
            "displayName": tenant.name,
            "attributes": {TENANT_ATTRIBUTE: tenant.tenant_id},
        }
        response = await self._admin("POST", "/admin/realms", action, json=body)
        if response.status_code == httpx.codes.CONFLICT:
            existing = await self._realm(realm, action)
            if existing is None:
                raise ProviderError(f"Keycloak reported realm {realm} exists but cannot find it")
            _check_owner(existing, tenant, realm)
        elif not response.is_success:
            raise _failure(response, action)
        return IdpOrganization(id=realm, name=realm, provider=PROVIDER)

    async def delete_organization(self, tenant: TenantRef) -> bool:
        """Delete the tenant's realm; False when it is already gone."""
        realm = realm_name(tenant)
        action = f"delete realm {realm}"
        existing = await self._realm(realm, action)
        if existing is None:
            return False
        _check_owner(existing, tenant, realm)
        response = await self._admin("DELETE", f"/admin/realms/{quote(realm)}", action)
        if response.status_code == httpx.codes.NOT_FOUND:
            return False
        if not response.is_success:
            raise _failure(response, action)
        return True

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def _realm(self, realm: str, action: str) -> dict[str, Any] | None:
        response = await self._admin("GET", f"/admin/realms/{quote(realm)}", action)
        if response.status_code == httpx.codes.NOT_FOUND:
            return None
        if not response.is_success:
            raise _failure(response, action)
        return _json_object(response, action)

    async def _admin(
        self, method: str, path: str, action: str, *, json: object = None
    ) -> httpx.Response:
        """One admin API call; a 401 refreshes the token and tries once more."""
        token = await self._bearer()
        response = await self._send(method, path, token, action, json)
        if response.status_code != httpx.codes.UNAUTHORIZED:
            return response
        token = await self._bearer(stale=token)
        response = await self._send(method, path, token, action, json)
        if response.status_code == httpx.codes.UNAUTHORIZED:
            raise PermanentProviderError(
                f"Keycloak rejected a fresh admin token to {action} (401){_detail(response)}"
            )
        return response

    async def _send(
        self, method: str, path: str, token: str, action: str, json: object
    ) -> httpx.Response:
        try:
            return await self._http.request(
                method,
                self.url + path,
                json=json,
                headers={"Authorization": f"Bearer {token}"},
            )
        except httpx.HTTPError as err:
            raise ProviderError(
                f"Keycloak at {self.url} unreachable ({action}): {_why(err)}"
            ) from err

    async def _bearer(self, *, stale: str | None = None) -> str:
        """A cached admin token; a new one when it is near expiry or is the `stale` one."""
        async with self._token_lock:
            fresh = self._clock() < self._token_expires_at
            if self._token is not None and fresh and self._token != stale:
                return self._token
            token, lifetime = await self._fetch_token()
            self._token = token
            self._token_expires_at = self._clock() + lifetime - min(30.0, lifetime / 5)
            return token

    async def _fetch_token(self) -> tuple[str, float]:
        action = f"get an admin token from realm {self._admin_realm}"
        try:
            response = await self._http.post(self._token_url, data=self._credentials)
        except httpx.HTTPError as err:
            raise ProviderError(
                f"Keycloak at {self.url} unreachable ({action}): {_why(err)}"
            ) from err
        status = response.status_code
        if status in (httpx.codes.BAD_REQUEST, httpx.codes.UNAUTHORIZED, httpx.codes.FORBIDDEN):
            raise PermanentProviderError(
                f"Keycloak refused the client credentials ({status}){_detail(response)};"
                " check KEYCLOAK_CLIENT_ID and KEYCLOAK_CLIENT_SECRET"
            )
        if status == httpx.codes.NOT_FOUND:
            raise PermanentProviderError(
                f"Keycloak has no token endpoint at {self._token_url} (404);"
                " check KEYCLOAK_URL and KEYCLOAK_REALM"
            )
        if not response.is_success:
            raise _failure(response, action)
        body = _json_object(response, action)
        token = body.get("access_token")
        lifetime = body.get("expires_in", 60)
        if not isinstance(token, str) or not isinstance(lifetime, int | float):
            raise ProviderError(f"Keycloak sent a token response without access_token ({action})")
        return token, float(lifetime)


def _check_owner(realm: dict[str, Any], tenant: TenantRef, name: str) -> None:
    attributes = realm.get("attributes")
    owner = attributes.get(TENANT_ATTRIBUTE) if isinstance(attributes, dict) else None
    if owner != tenant.tenant_id:
        whose = f"tenant {owner}" if owner else "no Flightdeck tenant"
        raise PermanentProviderError(
            f"Keycloak realm {name} exists but belongs to {whose}, not {tenant.tenant_id};"
            " rename or remove that realm"
        )


def _failure(response: httpx.Response, action: str) -> Exception:
    """ProviderError for what a retry may fix (5xx, 408, 429), else PermanentProviderError."""
    status = response.status_code
    message = f"Keycloak could not {action}: HTTP {status}{_detail(response)}"
    if status >= 500 or status in (httpx.codes.REQUEST_TIMEOUT, httpx.codes.TOO_MANY_REQUESTS):
        retry_after = response.headers.get("Retry-After")
        return ProviderError(message + (f"; retry after {retry_after}" if retry_after else ""))
    if status == httpx.codes.FORBIDDEN:
        message += "; the client's service account needs the create-realm (or admin) role"
    return PermanentProviderError(message)


def _detail(response: httpx.Response) -> str:
    """Keycloak's own words for an error, on one line, as ` (...)`; empty when it gave none."""
    text = ""
    try:
        body = response.json()
    except ValueError:
        text = response.text
    else:
        if isinstance(body, dict):
            parts = (body.get(key) for key in ("errorMessage", "error", "error_description"))
            text = ": ".join(p for p in parts if isinstance(p, str) and p)
    text = " ".join(text.split())[:200]
    return f" ({text})" if text else ""


def _json_object(response: httpx.Response, action: str) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise ProviderError(f"Keycloak answered {action} with something other than a JSON object")
    return body


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _why(err: httpx.HTTPError) -> str:
    return str(err) or type(err).__name__
