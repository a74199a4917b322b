"""The FastAPI application: every declared domain's routes, plus needs, audit, health and the
codec server."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import FastAPI

from backend import __version__
from backend.api import audit, health, internal, me, needs
from backend.api.codec import install_codec_server
from backend.api.context import ApiContext
from backend.api.entities import entity_router
from backend.api.errors import install_error_handlers
from backend.api.limits import RequestGate
from backend.domain.catalog import all_specs
from backend.domains import domain_modules
from backend.runtime.codec import EncryptionCodec


def create_app(
    context: ApiContext,
    *,
    codec: EncryptionCodec | None = None,
    codec_origins: Sequence[str] = (),
) -> FastAPI:
    """The API over an already-built context (the backend process owns its lifecycle).

    Every request passes the `RequestGate` first: token and body size checked before a route
    reads the body (see `backend.api.limits`).

    `codec` serves `/codec/encode|decode` (None: payload encryption is off); `codec_origins` are
    the browser origins (Temporal UIs) allowed to call those routes."""
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
    # Added before the codec's CORS middleware, so that one stays outside: browser preflights
    # are answered without a token, and refusals still carry the CORS headers.
    app.add_middleware(RequestGate)
    app.include_router(health.router)
    for spec in specs:
        app.include_router(entity_router(spec))
    for module in domain_modules("routes"):
        for router in module.routers():
            app.include_router(router)
    app.include_router(me.router)
    app.include_router(needs.router)
    app.include_router(audit.router)
    app.include_router(internal.router)
    install_codec_server(app, codec, origins=codec_origins)
    return app
