"""Connect to Temporal the way the Temporal CLI does: `TEMPORAL_*` env and `temporal.toml` profiles.

Uses temporalio's `envconfig` (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY,
TEMPORAL_TLS*, TEMPORAL_PROFILE, TEMPORAL_CONFIG_FILE), with Flightdeck's defaults for what is
unset, and the pydantic data converter so workflow payloads are Flightdeck's domain models
(encrypted when payload encryption keys are configured: `backend/runtime/codec.py`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from temporalio.client import Client
from temporalio.envconfig import ClientConfigProfile
from temporalio.service import RPCError

from backend.config import DEFAULT_NAMESPACE, ConfigError
from backend.runtime.codec import data_converter
from backend.runtime.codec_keys import KeyRing

DEFAULT_ADDRESS = "127.0.0.1:7233"


@dataclass(frozen=True)
class TemporalTarget:
    """Where to connect, and how (keyword arguments for `Client.connect`)."""

    address: str
    namespace: str
    connect_args: Mapping[str, Any]
    ui_url: str | None = None
    """This server's web UI, when known (the embedded dev server's, if it runs one)."""

    @property
    def uses_tls(self) -> bool:
        """True when the connection is TLS (or an API key, which implies TLS)."""
        return bool(self.connect_args.get("tls"))


def resolve_target(
    env: Mapping[str, str] | None = None, *, profile: str | None = None
) -> TemporalTarget:
    """Resolve the connection from a `temporal.toml` profile and `TEMPORAL_*` variables."""
    try:
        loaded = ClientConfigProfile.load(profile=profile, override_env_vars=env)
    except Exception as err:  # the bridge raises plain RuntimeError/ValueError on bad files
        raise ConfigError(f"cannot read Temporal client configuration: {err}") from None
    args: dict[str, Any] = dict(loaded.to_client_connect_config())
    address = str(args.pop("target_host", None) or DEFAULT_ADDRESS)
    namespace = str(args.pop("namespace", None) or DEFAULT_NAMESPACE)
    return TemporalTarget(address=address, namespace=namespace, connect_args=args)


async def connect(
    target: TemporalTarget, *, keyring: KeyRing | None = None, wait_seconds: float = 30.0
) -> Client:
    """Connect, retrying for `wait_seconds` (the server may be starting); ConfigError on failure.

    With a `keyring`, every payload the client (and any worker built on it) writes is encrypted,
    and every encrypted payload it reads is decrypted."""
    converter = data_converter(keyring)
    deadline = time.monotonic() + wait_seconds
    delay = 0.2
    while True:
        try:
            return await Client.connect(
                target.address,
                namespace=target.namespace,
                data_converter=converter,
                **target.connect_args,
            )
        except (RuntimeError, RPCError) as err:
            if time.monotonic() + delay > deadline:
                reason = " ".join(str(err).split())[:200]
                raise ConfigError(
                    f"cannot reach Temporal at {target.address} (namespace {target.namespace}):"
                    f" {reason}. Check TEMPORAL_ADDRESS (or the temporal.toml profile), or unset"
                    " it to use the embedded dev server"
                ) from None
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)
