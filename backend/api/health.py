"""`GET /healthz`: the backend answers, and says whether Temporal and the database do.
`GET /readyz`: 200 only when both are usable (for load balancers and supervisors), else 503.

Both checks are cheap and cached for `_CHECK_TTL` seconds, so polling them costs nothing."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from backend import __version__
from backend.api.context import ApiContext
from backend.domain.health import Health, Readiness

router = APIRouter(tags=["health"])

_CHECK_TTL = 2.0
_CHECK_TIMEOUT = 2.0
DATABASE_OK = "ok"


@router.get("/healthz")
async def healthz(request: Request) -> Health:
    """Backend status; `temporal` is `connected` when the server answers a health check,
    `database` is `ok` when the store answers a query."""
    context: ApiContext = request.app.state.context
    temporal, database = await asyncio.gather(_temporal(request), _database(request))
    return Health(
        temporal=temporal,
        database=database,
        namespace=context.namespace,
        temporal_address=context.temporal_address,
        temporal_ui=context.temporal_ui,
        version=__version__,
    )


@router.get(
    "/readyz",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "The database or Temporal is not usable"}},
)
async def readyz(request: Request) -> JSONResponse:
    """200 `{"ready": true, ...}` when the database and Temporal are both usable; 503 with
    what is not otherwise."""
    temporal, database = await asyncio.gather(_temporal(request), _database(request))
    ready = temporal == "connected" and database == DATABASE_OK
    answer = Readiness(ready=ready, database=database, temporal=temporal)
    return JSONResponse(answer.model_dump(), status_code=200 if ready else 503)


async def _temporal(request: Request) -> Literal["connected", "unreachable"]:
    cached: tuple[float, bool] | None = getattr(request.app.state, "temporal_health", None)
    if cached and time.monotonic() - cached[0] < _CHECK_TTL:
        ok = cached[1]
    else:
        context: ApiContext = request.app.state.context
        try:
            ok = bool(
                await asyncio.wait_for(
                    context.client.service_client.check_health(timeout=timedelta(seconds=2)), 3
                )
            )
        except Exception:
            ok = False
        request.app.state.temporal_health = (time.monotonic(), ok)
    return "connected" if ok else "unreachable"


async def _database(request: Request) -> str:
    """`ok` when the store answers a cheap read within `_CHECK_TIMEOUT`, else why not."""
    cached: tuple[float, str] | None = getattr(request.app.state, "database_health", None)
    if cached and time.monotonic() - cached[0] < _CHECK_TTL:
        return cached[1]
    context: ApiContext = request.app.state.context
    try:
        async with asyncio.timeout(_CHECK_TIMEOUT):
            await context.database.schema_version()
        state = DATABASE_OK
    except TimeoutError:
        state = f"unavailable: no answer within {_CHECK_TIMEOUT:g} s"
    except Exception as err:
        reason = " ".join(str(err).split())[:120] or type(err).__name__
        state = f"unavailable: {reason}"
    request.app.state.database_health = (time.monotonic(), state)
    return state
