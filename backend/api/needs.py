"""`GET /api/v1/needs`: everything waiting for a person, across every domain, oldest first."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from backend.api.auth import require_token
from backend.api.context import ApiContext
from backend.api.errors import API_ERRORS
from backend.api.identity import requires
from backend.domain.entities import NeedsList
from backend.domain.identity import Role

router = APIRouter(
    prefix="/api/v1/needs",
    tags=["needs"],
    dependencies=[Depends(require_token), Depends(requires(Role.VIEWER))],
    responses=API_ERRORS,
)


@router.get("")
async def list_needs(
    request: Request, limit: Annotated[int, Query(ge=1, le=1000)] = 200
) -> NeedsList:
    """Entities awaiting a human answer (review, approval, a stuck step), longest waiting first."""
    context: ApiContext = request.app.state.context
    return await context.needs.list(limit=limit)
