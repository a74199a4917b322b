"""Which real adapters the tenant activities use, from the environment, and the factories.

Variables are read without a prefix (the spec's `AUTH0_*` and `KEYCLOAK_*`; Flightdeck's own
`FLIGHTDECK_SMTP_*` and `FLIGHTDECK_NOTIFY_WEBHOOK_URL`). Nothing configured means the sandbox.
"""

from __future__ import annotations

import re
from email.utils import parseaddr
from typing import Protocol, runtime_checkable

import httpx
from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from backend.config import ConfigError
from backend.domains.tenants.providers.auth0 import Auth0IdentityProvider
from backend.domains.tenants.providers.keycloak import KeycloakIdentityProvider
from backend.domains.tenants.providers.protocol import IdentityProvider, Notifier
from backend.domains.tenants.providers.smtp import SmtpNotifier
from backend.domains.tenants.providers.webhook import WebhookNotifier

_URL = re.compile(r"^https?://[^\s/]+\S*$")
_HOST = re.compile(r"^[A-Za-z0-9.-]+(:\d{1,5})?$")
_HOST_PORT = re.compile(r"^[^:]+:\d+$")
_OPTIONAL_TEXT = (
    "auth0_domain",
    "auth0_client_id",
    "auth0_client_secret",
    "keycloak_url",
    "keycloak_client_id",
    "keycloak_client_secret",
    "flightdeck_smtp_host",
    "flightdeck_smtp_username",
    "flightdeck_smtp_password",
    "flightdeck_smtp_from",
    "flightdeck_notify_webhook_url",
)


class TenantProviderSettings(BaseSettings):
    """The tenant providers' settings: IdP (Auth0 or Keycloak) and notifications (SMTP/webhook)."""

    model_config = SettingsConfigDict(extra="ignore", env_ignore_empty=True)

    auth0_enabled: bool = False
    auth0_domain: str | None = None
    """The tenant's Auth0 domain, e.g. `acme.eu.auth0.com` (a leading https:// is dropped)."""
    auth0_client_id: str | None = None
    auth0_client_secret: str | None = Field(default=None, repr=False)
    keycloak_enabled: bool = False
    keycloak_url: str | None = None
    """Keycloak's base URL, e.g. `https://sso.example.com` (with `/auth` for old versions)."""
    keycloak_realm: str = Field(default="master", min_length=1)
    """The admin realm whose client gets the admin token."""
    keycloak_client_id: str | None = None
    keycloak_client_secret: str | None = Field(default=None, repr=False)
    flightdeck_smtp_host: str | None = None
    flightdeck_smtp_port: int = Field(default=587, ge=1, le=65535)
    flightdeck_smtp_username: str | None = None
    flightdeck_smtp_password: str | None = Field(default=None, repr=False)
    flightdeck_smtp_from: str | None = None
    flightdeck_smtp_starttls: bool = True
    flightdeck_notify_webhook_url: str | None = None

    @field_validator(*_OPTIONAL_TEXT, mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        if isinstance(value, str):
            return value.strip() or None
        return value

    @field_validator("auth0_domain")
    @classmethod
    def _auth0_domain(cls, value: str | None) -> str | None:
        if value is None:
            return None
        domain = value.removeprefix("https://").rstrip("/")
        if not _HOST.match(domain):
            raise ValueError("expected a host name such as acme.eu.auth0.com")
        return domain

    @field_validator("keycloak_url", "flightdeck_notify_webhook_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not _URL.match(value):
            raise ValueError("expected an http:// or https:// URL")
        return value

    @field_validator("keycloak_url")
    @classmethod
    def _no_trailing_slash(cls, value: str | None) -> str | None:
        return value.rstrip("/") if value else value

    @field_validator("flightdeck_smtp_host")
    @classmethod
    def _smtp_host(cls, value: str | None) -> str | None:
        if value is not None and (re.search(r"[\s/@]", value) or _HOST_PORT.match(value)):
            raise ValueError("expected a host name only (the port is FLIGHTDECK_SMTP_PORT)")
        return value

    @field_validator("flightdeck_smtp_from")
    @classmethod
    def _smtp_from(cls, value: str | None) -> str | None:
        if value is not None and "@" not in parseaddr(value)[1]:
            raise ValueError("expected an address such as 'Flightdeck <noreply@example.com>'")
        return value

    @model_validator(mode="after")
    def _complete(self) -> TenantProviderSettings:
        if self.auth0_enabled and self.keycloak_enabled:
            raise ValueError(
                "AUTH0_ENABLED and KEYCLOAK_ENABLED are both set; enable one identity provider"
            )
        if self.auth0_enabled:
            _require(
                "AUTH0_ENABLED is set",
                AUTH0_DOMAIN=self.auth0_domain,
                AUTH0_CLIENT_ID=self.auth0_client_id,
                AUTH0_CLIENT_SECRET=self.auth0_client_secret,
            )
        if self.keycloak_enabled:
            _require(
                "KEYCLOAK_ENABLED is set",
                KEYCLOAK_URL=self.keycloak_url,
                KEYCLOAK_CLIENT_ID=self.keycloak_client_id,
                KEYCLOAK_CLIENT_SECRET=self.keycloak_client_secret,
            )
        if self.flightdeck_smtp_host:
            _require("FLIGHTDECK_SMTP_HOST is set", FLIGHTDECK_SMTP_FROM=self.flightdeck_smtp_from)
        if self.flightdeck_smtp_username:
            _require(
                "FLIGHTDECK_SMTP_USERNAME is set",
                FLIGHTDECK_SMTP_PASSWORD=self.flightdeck_smtp_password,
            )
        if self.flightdeck_smtp_password:
            _require(
                "FLIGHTDECK_SMTP_PASSWORD is set",
                FLIGHTDECK_SMTP_USERNAME=self.flightdeck_smtp_username,
            )
        return self


def load_tenant_provider_settings() -> TenantProviderSettings:
    """The tenant provider settings from the environment; ConfigError (one line) on bad values."""
    try:
        return TenantProviderSettings()
    except ValidationError as err:
        first = err.errors()[0]
        message = str(first["msg"]).removeprefix("Value error, ")
        field = ".".join(str(part) for part in first["loc"])
        if field:
            raise ConfigError(f"invalid setting {field.upper()}: {message}") from None
        raise ConfigError(f"invalid tenant provider settings: {message}") from None


def identity_provider(
    config: TenantProviderSettings,
    *,
    sandbox: IdentityProvider,
    transport: httpx.AsyncBaseTransport | None = None,
) -> IdentityProvider:
    """Keycloak when KEYCLOAK_ENABLED, Auth0 when AUTH0_ENABLED, else the sandbox."""
    if config.keycloak_enabled:
        return KeycloakIdentityProvider(
            _present(config.keycloak_url, "KEYCLOAK_URL"),
            admin_realm=config.keycloak_realm,
            client_id=_present(config.keycloak_client_id, "KEYCLOAK_CLIENT_ID"),
            client_secret=_present(config.keycloak_client_secret, "KEYCLOAK_CLIENT_SECRET"),
            transport=transport,
        )
    if config.auth0_enabled:
        return Auth0IdentityProvider(
            _present(config.auth0_domain, "AUTH0_DOMAIN"),
            client_id=_present(config.auth0_client_id, "AUTH0_CLIENT_ID"),
            client_secret=_present(config.auth0_client_secret, "AUTH0_CLIENT_SECRET"),
            transport=transport,
        )
    return sandbox


def notifier(
    config: TenantProviderSettings,
    *,
    sandbox: Notifier,
    transport: httpx.AsyncBaseTransport | None = None,
) -> Notifier:
    """SMTP when FLIGHTDECK_SMTP_HOST is set, else the webhook when its URL is set, else the
    sandbox. With both set, SMTP wins and the webhook is not called (one channel, one delivery)."""
    if config.flightdeck_smtp_host:
        return SmtpNotifier(
            config.flightdeck_smtp_host,
            port=config.flightdeck_smtp_port,
            sender=_present(config.flightdeck_smtp_from, "FLIGHTDECK_SMTP_FROM"),
            starttls=config.flightdeck_smtp_starttls,
            username=config.flightdeck_smtp_username,
            password=config.flightdeck_smtp_password,
        )
    if config.flightdeck_notify_webhook_url:
        return WebhookNotifier(config.flightdeck_notify_webhook_url, transport=transport)
    return sandbox


def describe(config: TenantProviderSettings) -> list[str]:
    """One line per provider naming the active adapter (for the startup log); no secrets."""
    if config.keycloak_enabled:
        idp = f"keycloak at {_origin(config.keycloak_url)} (admin realm {config.keycloak_realm})"
    elif config.auth0_enabled:
        idp = f"auth0 at {config.auth0_domain}"
    else:
        idp = "sandbox"
    if config.flightdeck_smtp_host:
        how = ", ".join(
            part
            for part in (
                "STARTTLS" if config.flightdeck_smtp_starttls else "no TLS",
                "login" if config.flightdeck_smtp_username else "",
            )
            if part
        )
        mail = f"smtp via {config.flightdeck_smtp_host}:{config.flightdeck_smtp_port} ({how})"
        if config.flightdeck_notify_webhook_url:
            mail += "; FLIGHTDECK_NOTIFY_WEBHOOK_URL ignored (SMTP preferred)"
    elif config.flightdeck_notify_webhook_url:
        mail = f"webhook at {_origin(config.flightdeck_notify_webhook_url)}"
    else:
        mail = "sandbox"
    return [f"tenant identity provider: {idp}", f"tenant notifier: {mail}"]


@runtime_checkable
class SupportsAclose(Protocol):
    """An adapter that holds connections and must be closed."""

    async def aclose(self) -> None:
        """Release the adapter's connections."""
        ...


async def close_adapters(*adapters: object) -> None:
    """Close every adapter that holds connections (sandbox providers hold none)."""
    for adapter in adapters:
        if isinstance(adapter, SupportsAclose):
            await adapter.aclose()


def _require(reason: str, **values: str | None) -> None:
    missing = [name for name, value in values.items() if not value]
    if missing:
        verb = "is" if len(missing) == 1 else "are"
        raise ValueError(f"{reason} but {', '.join(missing)} {verb} missing")


def _present(value: str | None, name: str) -> str:
    if not value:
        raise ConfigError(f"{name} is missing")
    return value


def _origin(url: str | None) -> str:
    """Scheme, host and port of a URL: paths and user info may hold secrets."""
    if not url:
        return "?"
    parsed = httpx.URL(url)
    port = f":{parsed.port}" if parsed.port else ""
    return f"{parsed.scheme}://{parsed.host}{port}"
