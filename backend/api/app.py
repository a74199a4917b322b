"""The FastAPI application."""

from __future__ import annotations

from fastapi import FastAPI

from backend import __version__
from backend.api import audit, health, labs
from backend.api.context import ApiContext
from backend.api.errors import install_error_handlers


def create_app(context: ApiContext) -> FastAPI:
    """The API over an already-built context (the backend process owns its lifecycle)."""
    app = FastAPI(
        title="Flightdeck API",
        version=__version__,
        description="Labs (and soon tenants, infra runs, DIGs, workers, hosts) on Temporal.",
    )
    app.state.context = context
    install_error_handlers(app)
    app.include_router(health.router)
    app.include_router(labs.router)
    app.include_router(audit.router)
    return app
