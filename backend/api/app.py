"""The FastAPI application: every declared domain's routes, plus needs, audit and health."""

from __future__ import annotations

from fastapi import FastAPI

from backend import __version__
from backend.api import audit, health, internal, needs
from backend.api.context import ApiContext
from backend.api.entities import entity_router
from backend.api.errors import install_error_handlers
from backend.domain.catalog import all_specs


def create_app(context: ApiContext) -> FastAPI:
    """The API over an already-built context (the backend process owns its lifecycle)."""
    specs = all_specs()
    app = FastAPI(
        title="Flightdeck API",
        version=__version__,
        description="Long-running provisioning on Temporal: "
        + ", ".join(spec.plural for spec in specs)
        + "; what waits for a person; the audit log.",
    )
    app.state.context = context
    install_error_handlers(app)
    app.include_router(health.router)
    for spec in specs:
        app.include_router(entity_router(spec))
    app.include_router(needs.router)
    app.include_router(audit.router)
    app.include_router(internal.router)
    return app
