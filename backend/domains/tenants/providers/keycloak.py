"""Keycloak as the tenants' identity provider: one realm per tenant, over the admin REST API.

The adapter authenticates as a confidential client of the admin realm (client-credentials grant;
its service account needs the `create-realm` role, or `admin`). Each realm it creates carries the
tenant id as a realm attribute, so a realm of the same name that belongs to someone else is
refused instead of adopted or deleted.
"""

from __future__ import annotations

import time
from collections.abc import Callable
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

PROVIDER = "keycloak"
TENANT_ATTRIBUTE = "flightdeck.tenantId"
"""The realm attribute that records which tenant a realm belongs to."""
OWNER = OwnerTag("Keycloak", "realm", "attributes", TENANT_ATTRIBUTE)
"""Refuses a realm of the same name that another tenant (or no tenant) owns."""


def realm_name(tenant: TenantRef) -> str:
    """The tenant's realm, `tenant-<name>` in lower-case letters, digits and dashes."""
    return f"tenant-{slug(tenant.name) or slug(tenant.tenant_id)}"


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
        self._realms = f"{self.url}/admin/realms"
        self._token_url = (
            f"{self.url}/realms/{quote(admin_realm, safe='')}/protocol/openid-connect/token"
        )
        self._admin_realm = admin_realm
        self._credentials = {
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": client_secret,
        }
        self._session = BearerSession(
            "Keycloak",
            where=f"Keycloak at {self.url}",
            token_kind="admin token",
            fetch_token=self._fetch_token,
            detail=_detail,
            transport=transport,
            clock=clock,
        )

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
        response = await self._session.call("POST", self._realms, action, json=body)
        if response.status_code == httpx.codes.CONFLICT:
            existing = await self._realm(realm, action)
            if existing is None:
                raise ProviderError(f"Keycloak reported realm {realm} exists but cannot find it")
            OWNER.check(existing, tenant.tenant_id, realm)
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
        OWNER.check(existing, tenant.tenant_id, realm)
        response = await self._session.call("DELETE", f"{self._realms}/{quote(realm)}", action)
        if response.status_code == httpx.codes.NOT_FOUND:
            return False
        if not response.is_success:
            raise _failure(response, action)
        return True

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._session.aclose()

    async def _realm(self, realm: str, action: str) -> dict[str, Any] | None:
        response = await self._session.call("GET", f"{self._realms}/{quote(realm)}", action)
        if response.status_code == httpx.codes.NOT_FOUND:
            return None
        if not response.is_success:
            raise _failure(response, action)
        return self._session.json_object(response, action)

    async def _fetch_token(self) -> tuple[str, float]:
        action = f"get an admin token from realm {self._admin_realm}"
        response = await self._session.request(
            "POST", self._token_url, action, data=self._credentials
        )
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
        return self._session.read_token(response, action, default_lifetime=60)


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
    return error_detail(response, ("errorMessage", "error", "error_description"), join=True)
