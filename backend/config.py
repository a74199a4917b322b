"""Flightdeck settings from the environment (pydantic-settings), validated, with readable errors.

`FLIGHTDECK_*` variables configure Flightdeck itself; `TEMPORAL_*` variables configure the
Temporal connection exactly as the Temporal CLI reads them (`backend/runtime/temporal_client.py`).
"""

from __future__ import annotations

import ipaddress
import os
import re
import secrets
from collections.abc import Mapping
from functools import cached_property
from pathlib import Path
from typing import Literal

import platformdirs
from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from backend.domain.catalog import fault_steps
from backend.domain.entity import EntitySpec
from backend.providers.faults import FaultPlan

DEFAULT_NAMESPACE = "flightdeck"
DEFAULT_API_PORT = 8765


class ConfigError(Exception):
    """Settings that cannot be used; the message is one readable line."""


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def default_data_dir() -> Path:
    """Per-user data directory (e.g. ~/.local/share/flightdeck)."""
    return platformdirs.user_data_path("flightdeck", appauthor=False)


class Settings(BaseSettings):
    """Flightdeck's own settings (`FLIGHTDECK_*`)."""

    model_config = SettingsConfigDict(env_prefix="FLIGHTDECK_", extra="ignore")

    data_dir: Path = Field(default_factory=default_data_dir)
    api_host: str = "127.0.0.1"
    api_port: int = Field(default=DEFAULT_API_PORT, ge=0, le=65535)
    api_token: str | None = Field(default=None, min_length=16, repr=False)
    api_tls_cert: Path | None = None
    """Certificate (PEM) the API serves HTTPS with; needed to bind beyond loopback."""
    api_tls_key: Path | None = None
    api_insecure: bool = False
    """Allow plain HTTP on a non-loopback address (a warning is printed)."""
    oidc_jwks_url: str | None = Field(default=None, pattern=r"^https?://[^\s]+$")
    """Accept OIDC bearer tokens signed by a key of this JWKS (with oidc_audience)."""
    oidc_audience: str | None = None
    oidc_issuer: str | None = None
    oidc_roles_claim: str = "roles"
    oidc_name_claim: str = "preferred_username"
    four_eyes: bool = True
    """Refuse an approval by whoever requested the entity (personal tokens and OIDC)."""
    api_url: str | None = Field(default=None, pattern=r"^https?://[^\s]+$")
    """Where a worker without an API of its own reports status (`flightdeck worker --api`)."""
    temporal_ui_url: str | None = None
    """Set by the embedded supervisor so `/healthz` can point people at the Temporal UI."""
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    sandbox_step_seconds: float = Field(default=1.0, ge=0, le=60)
    """Demo latency of the sandbox providers per unit of work (0 in tests)."""
    fail: str = ""
    """Demo failure injection, e.g. `validation:2` (fail the first two attempts)."""
    progress_cache_seconds: float = Field(default=0.75, ge=0, le=60)
    query_concurrency: int = Field(default=16, ge=1, le=256)
    codec_keys: str | None = Field(default=None, repr=False)
    """Payload encryption keys, `id:base64,id:base64` (first current); see runtime/codec_keys."""
    codec_key_file: Path | None = None
    """The same keys from a file private to its owner, one `id:base64` per line (first current)."""
    codec_cors_origins: str = ""
    """Extra browser origins (comma list) allowed to call the codec server, e.g. a Temporal UI."""

    @field_validator("codec_cors_origins")
    @classmethod
    def _origins(cls, value: str) -> str:
        for origin in (o.strip() for o in value.split(",")):
            if origin and not re.fullmatch(r"https?://[^/\s]+", origin):
                raise ValueError(f"{origin!r} is not an origin (scheme://host[:port], no path)")
        return value

    @field_validator("fail")
    @classmethod
    def _fault_plan(cls, value: str) -> str:
        try:
            plan = FaultPlan.parse(value)
        except ValueError as err:
            raise ValueError(str(err).removeprefix("FLIGHTDECK_FAIL: ")) from None
        known = fault_steps()
        unknown = sorted(plan.steps() - set(known))
        if unknown:
            raise ValueError(
                f"unknown step {', '.join(unknown)}; steps are {', '.join(sorted(known))}"
            )
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    def check_exposure(self) -> str | None:
        """ConfigError when the API would serve plain HTTP beyond loopback without
        `--insecure`; the warning to print when it will."""
        if (self.api_tls_cert is None) != (self.api_tls_key is None):
            raise ConfigError("give both --tls-cert and --tls-key (FLIGHTDECK_API_TLS_CERT/_KEY)")
        for path in (self.api_tls_cert, self.api_tls_key):
            if path is not None and not path.is_file():
                raise ConfigError(f"TLS file {path} not found")
        if self.api_tls_cert is not None or is_loopback(self.api_host):
            return None
        if not self.api_insecure:
            raise ConfigError(
                f"the API would serve plain HTTP on {self.api_host}: give --tls-cert and"
                " --tls-key, or --insecure to accept that tokens cross the network in clear"
            )
        return (
            f"WARNING: the API serves plain HTTP on {self.api_host} (--insecure): bearer tokens"
            " and audit data cross the network unencrypted"
        )

    @cached_property
    def paths(self) -> DataPaths:
        """Where each file of the data directory lives."""
        return DataPaths(self.data_dir.expanduser())


class TemporalSettings(BaseSettings):
    """Worker and task-queue settings (`TEMPORAL_*`), beside the connection settings."""

    model_config = SettingsConfigDict(env_prefix="TEMPORAL_", extra="ignore")

    address: str | None = None
    profile: str | None = None
    namespace: str | None = None
    worker_identity: str | None = None
    worker_max_concurrent_activities: int = Field(default=10, ge=1, le=10_000)
    worker_max_concurrent_workflows: int = Field(default=50, ge=1, le=10_000)
    worker_graceful_shutdown_seconds: float = Field(default=10.0, ge=0, le=3600)
    cli_path: str | None = None

    @property
    def embedded(self) -> bool:
        """True when no remote Temporal is configured, so Flightdeck runs its own dev server."""
        return not (self.address or self.profile or os.environ.get("TEMPORAL_CONFIG_FILE"))


class DataPaths:
    """The layout of the data directory: SQLite db, Temporal db, token, logs, sandbox."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.db = root / "flightdeck.db"
        self.temporal_db = root / "temporal" / "temporal.db"
        self.temporal_state = root / "temporal"
        self.api_token = root / "api-token"
        self.logs = root / "logs"
        self.sandbox = root / "sandbox"

    def ensure(self) -> None:
        """Create the directories, private to the user (0700, also when they already existed
        with wider permissions)."""
        for path in (self.root, self.temporal_state, self.logs, self.sandbox):
            try:
                path.mkdir(parents=True, exist_ok=True, mode=0o700)
                if path.stat().st_mode & 0o077:
                    path.chmod(0o700)
            except OSError as err:
                raise ConfigError(
                    f"cannot create data directory {path}: {err.strerror} (set FLIGHTDECK_DATA_DIR)"
                ) from None


def task_queue_for(spec: EntitySpec, env: Mapping[str, str] | None = None) -> str:
    """A domain's task queue: its environment variable (e.g. TEMPORAL_LABS_TASK_QUEUE), else its
    default."""
    value = (env if env is not None else os.environ).get(spec.task_queue_env, "").strip()
    return value or spec.task_queue


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment plus explicit overrides; ConfigError on bad values."""
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})  # type: ignore[arg-type]
    except ValidationError as err:
        raise ConfigError(_first_error("FLIGHTDECK_", err)) from None


def load_temporal_settings() -> TemporalSettings:
    """Temporal worker settings from the environment; ConfigError on bad values."""
    try:
        return TemporalSettings()
    except ValidationError as err:
        raise ConfigError(_first_error("TEMPORAL_", err)) from None


def _first_error(prefix: str, err: ValidationError) -> str:
    first = err.errors()[0]
    field = ".".join(str(part) for part in first["loc"])
    message = str(first["msg"]).removeprefix("Value error, ")
    return f"invalid setting {prefix}{field.upper()}: {message}"


def ensure_api_token(settings: Settings) -> str:
    """The API token: FLIGHTDECK_API_TOKEN, else the data dir's `api-token` file (created 0600)."""
    if settings.api_token:
        return settings.api_token
    path = settings.paths.api_token
    try:
        if path.exists():
            token = path.read_text().strip()
            if token:
                return token
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        token = secrets.token_urlsafe(32)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(token + "\n")
        os.chmod(path, 0o600)
    except OSError as err:
        raise ConfigError(
            f"cannot use the API token file {path}: {err.strerror or err}"
            " (set FLIGHTDECK_DATA_DIR to a writable directory, or FLIGHTDECK_API_TOKEN)"
        ) from None
    return token
