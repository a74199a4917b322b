"""Routes for labs: create, list, get, review, cancel."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, status

from backend.api.auth import require_token
from backend.domain.audit import ActionResult
from backend.domain.health import ErrorBody
from backend.domain.labs import CancelLab, CreateLab, Lab, LabList, LabStatus, ReviewLab
from backend.services.labs import MAX_LIVE, LabService

router = APIRouter(prefix="/api/v1/labs", tags=["labs"], dependencies=[Depends(require_token)])

LabId = Annotated[str, Path(pattern=r"^[a-z0-9-]{1,64}$", description="Lab id")]
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody},
    404: {"model": ErrorBody},
    409: {"model": ErrorBody},
    422: {"model": ErrorBody},
    503: {"model": ErrorBody},
}


def labs_service(request: Request) -> LabService:
    """The lab service of this app."""
    service: LabService = request.app.state.context.labs
    return service


Service = Annotated[LabService, Depends(labs_service)]


@router.post("", status_code=status.HTTP_201_CREATED, responses=ERRORS)
async def create_lab(body: CreateLab, service: Service) -> Lab:
    """Request a lab: records it and starts LabProvisionWorkflow `lab-{id}`."""
    return await service.create(body)


@router.get("", responses=ERRORS)
async def list_labs(
    service: Service,
    lab_status: Annotated[LabStatus | None, Query(alias="status")] = None,
    live: Annotated[
        str, Query(max_length=MAX_LIVE * 65, description="Comma-separated ids to query exactly")
    ] = "",
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
) -> LabList:
    """Labs, newest first, with visibility summaries; `live` ids also carry exact progress."""
    ids = [part.strip() for part in live.split(",") if part.strip()]
    return await service.list(status=lab_status, live=ids, limit=limit, offset=offset)


@router.get("/{lab_id}", responses=ERRORS)
async def get_lab(lab_id: LabId, service: Service) -> Lab:
    """One lab with its exact live progress."""
    return await service.get(lab_id)


@router.post("/{lab_id}/review", responses=ERRORS)
async def review_lab(lab_id: LabId, body: ReviewLab, service: Service) -> ActionResult:
    """Approve the lab or request changes (HumanReview signal); 409 unless it awaits review."""
    return await service.review(lab_id, body)


@router.post("/{lab_id}/cancel", responses=ERRORS)
async def cancel_lab(lab_id: LabId, body: CancelLab, service: Service) -> ActionResult:
    """Cancel the lab (CancelLab signal): what exists is torn down; 409 once it has ended."""
    return await service.cancel(lab_id, body)
