"""Route for the audit log."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from backend.api.auth import require_token
from backend.api.errors import API_ERRORS
from backend.api.identity import requires
from backend.domain.audit import AuditList
from backend.domain.identity import Role

router = APIRouter(
    prefix="/api/v1/audit",
    tags=["audit"],
    dependencies=[Depends(require_token), Depends(requires(Role.VIEWER))],
    responses=API_ERRORS,
)


@router.get("")
async def list_audit(
    request: Request,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    target_kind: Annotated[str | None, Query(max_length=32)] = None,
    target_id: Annotated[str | None, Query(max_length=64)] = None,
    before_id: Annotated[int | None, Query(ge=1, description="Entries older than this id")] = None,
) -> AuditList:
    """The audit log, newest first, optionally for one target; page with `before_id`."""
    repo = request.app.state.context.audit
    return AuditList(
        items=await repo.list(
            limit=limit, target_kind=target_kind, target_id=target_id, before_id=before_id
        )
    )
