"""The embedded Temporal dev server of a data dir (db under it, Flightdeck's search attributes).

Standard library and httpx only: the supervisor, which never imports temporalio, uses it too.
"""

from __future__ import annotations

import ipaddress
import logging

from backend.config import Settings, TemporalSettings, ensure_api_token
from backend.domain.catalog import search_attribute_types
from backend.runtime.codec_keys import codec_capability, encryption_configured
from backend.runtime.temporal_server import EmbeddedTemporalServer

log = logging.getLogger(__name__)


def embedded_server(
    settings: Settings,
    temporal: TemporalSettings,
    *,
    headless: bool = False,
    port: int | None = None,
    ui_port: int | None = None,
) -> EmbeddedTemporalServer:
    """The embedded dev server for this data dir (db under it, Flightdeck's search attributes);
    its web UI decodes encrypted payloads through the backend's codec server."""
    paths = settings.paths
    return EmbeddedTemporalServer(
        state_dir=paths.temporal_state,
        db_path=paths.temporal_db,
        log_path=paths.logs / "temporal.log",
        namespace=temporal.namespace or "flightdeck",
        cli_path=temporal.cli_path,
        port=port,
        ui_port=ui_port,
        headless=headless,
        search_attributes=search_attribute_types(),
        ui_codec_endpoint=None if headless else ui_codec_endpoint(settings),
    )


def ui_codec_endpoint(settings: Settings) -> str | None:
    """The codec server URL for the embedded web UI: the backend's capability URL on loopback
    (`backend/api/codec.py` explains the trade-off), or None when payload encryption is off or
    the backend's loopback address is not known before it starts."""
    if not encryption_configured(settings):
        return None
    host = _loopback_url_host(settings.api_host)
    if host is None or settings.api_port == 0:
        reason = (
            f"the API listens on {settings.api_host}, not on loopback"
            if host is None
            else "FLIGHTDECK_API_PORT is 0 (any free port), so its address is not known yet"
        )
        log.warning(
            "payload encryption is on, but the Temporal UI will show payloads encrypted: %s",
            reason,
        )
        return None
    capability = codec_capability(ensure_api_token(settings))
    return f"http://{host}:{settings.api_port}/codec/{capability}"


def _loopback_url_host(api_host: str) -> str | None:
    """How a browser on this machine reaches an API bound to `api_host`, if over loopback."""
    if api_host == "localhost":
        return "127.0.0.1"
    try:
        address = ipaddress.ip_address(api_host)
    except ValueError:
        return None
    if not (address.is_loopback or address.is_unspecified):
        return None
    if address.version == 6:
        return "[::1]"
    return "127.0.0.1"
