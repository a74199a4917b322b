"""`GET /api/v1/me`: who the caller is and what it may do (the TUI hides the rest)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from backend.api.auth import require_token
from backend.api.context import ApiContext
from backend.api.errors import error_responses
from backend.api.identity import authenticate
from backend.domain.identity import Me, Principal

router = APIRouter(tags=["identity"], dependencies=[Depends(require_token)])


@router.get("/api/v1/me", responses=error_responses(401, 503))
async def me(request: Request, principal: Principal = Depends(authenticate)) -> Me:  # noqa: B008
    """The caller's name, roles and whether four-eyes applies to it."""
    context: ApiContext = request.app.state.context
    return Me(
        name=principal.name,
        roles=principal.roles,
        via=principal.via,
        four_eyes=context.four_eyes and principal.personal,
    )
