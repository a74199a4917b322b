"""`GET /healthz`: the backend answers, and says whether Temporal does."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

from fastapi import APIRouter, Request

from backend import __version__
from backend.api.context import ApiContext
from backend.domain.health import Health

router = APIRouter(tags=["health"])

_CHECK_TTL = 2.0


@router.get("/healthz")
async def healthz(request: Request) -> Health:
    """Backend status; `temporal` is `connected` when the server answers a health check."""
    context: ApiContext = request.app.state.context
    return Health(
        temporal="connected" if await _temporal_ok(request, context) else "unreachable",
        namespace=context.namespace,
        temporal_address=context.temporal_address,
        temporal_ui=context.temporal_ui,
        version=__version__,
    )


async def _temporal_ok(request: Request, context: ApiContext) -> bool:
    cached: tuple[float, bool] | None = getattr(request.app.state, "temporal_health", None)
    if cached and time.monotonic() - cached[0] < _CHECK_TTL:
        return cached[1]
    try:
        ok = await asyncio.wait_for(
            context.client.service_client.check_health(timeout=timedelta(seconds=2)), 3
        )
    except Exception:
        ok = False
    request.app.state.temporal_health = (time.monotonic(), bool(ok))
    return bool(ok)
