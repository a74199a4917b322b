"""Internal, token-protected routes workers use to report status when they run elsewhere (an
unknown entity is a 404: `backend.api.errors` maps EntityMissing)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Request

from backend.api.auth import require_token
from backend.api.context import ApiContext
from backend.api.errors import error_responses
from backend.api.identity import requires
from backend.domain.identity import Role
from backend.domain.status import (
    ClaimRequest,
    ClaimResult,
    RegisterRequest,
    StatusAck,
    StatusReport,
)
from backend.providers.status import CALL_PATH, CLAIM_PATH, REGISTER_PATH, STATUS_PATH

router = APIRouter(
    tags=["internal"],
    dependencies=[Depends(require_token), Depends(requires(Role.WORKER))],
    responses=error_responses(400, 401, 404, 413, 422, 503),
)


@router.post(STATUS_PATH)
async def report_status(report: StatusReport, request: Request) -> StatusAck:
    """Apply a workflow's status report (`flightdeck worker --api URL`); 404 for unknown ones."""
    context: ApiContext = request.app.state.context
    return await context.status.report(report)


@router.post(CLAIM_PATH)
async def claim_entity(claim: ClaimRequest, request: Request) -> ClaimResult:
    """Let a workflow claim its entity; 404 for unknown entities."""
    context: ApiContext = request.app.state.context
    return await context.status.claim(claim)


@router.post(REGISTER_PATH)
async def register_entity(registration: RegisterRequest, request: Request) -> ClaimResult:
    """Create the entity of a workflow another workflow started; 404 for an unknown kind."""
    context: ApiContext = request.app.state.context
    return await context.status.register(registration)


@router.post(CALL_PATH)
async def domain_call(
    name: Annotated[str, Path(pattern=r"^[a-z][a-z0-9_.-]{0,63}$")],
    body: Annotated[dict[str, Any], Body()],
    request: Request,
) -> dict[str, Any]:
    """Run a domain's internal call for a worker elsewhere; 404 for an unknown name."""
    context: ApiContext = request.app.state.context
    return await context.status.call(name, body)
