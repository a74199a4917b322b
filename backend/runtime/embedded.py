"""The embedded Temporal dev server of a data dir (db under it, Flightdeck's search attributes).

Standard library and httpx only: the supervisor, which never imports temporalio, uses it too.
"""

from __future__ import annotations

from backend.config import Settings, TemporalSettings
from backend.domain.catalog import search_attribute_types
from backend.runtime.temporal_server import EmbeddedTemporalServer


def embedded_server(
    settings: Settings,
    temporal: TemporalSettings,
    *,
    headless: bool = False,
    port: int | None = None,
    ui_port: int | None = None,
) -> EmbeddedTemporalServer:
    """The embedded dev server for this data dir (db under it, Flightdeck's search attributes)."""
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
    )
