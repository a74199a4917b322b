"""Labs: requests for a provisioned lab environment, their statuses and the human actions on them."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from backend.domain.names import Actor, Comment, EntityName, Reason
from backend.domain.progress import Progress, ProgressSummary

LAB_WORKFLOW_TYPE = "LabProvisionWorkflow"
LAB_KIND = "lab"


class LabSeverity(StrEnum):
    """How urgent a lab request is."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class LabStatus(StrEnum):
    """Status of a lab row; follows the workflow and is written by its activities."""

    QUEUED = "queued"
    PROVISIONING = "provisioning"
    VALIDATING = "validating"
    AWAITING_REVIEW = "awaiting_review"
    RUNNING = "running"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    FAILED = "failed"

    @property
    def is_final(self) -> bool:
        """True once the lab's workflow has ended."""
        return self in FINAL_LAB_STATUSES


FINAL_LAB_STATUSES = frozenset({LabStatus.EXPIRED, LabStatus.CANCELLED, LabStatus.FAILED})


class LabPhase(StrEnum):
    """Phases the lab workflow reports through `progress` and `CurrentPhase`."""

    QUEUED = "queued"
    BLUEPRINT = "generating_blueprint"
    PROVISIONING = "provisioning"
    VALIDATING = "validating"
    AWAITING_REVIEW = "awaiting_review"
    FINALIZING = "finalizing"
    RUNNING = "running"
    TEARING_DOWN = "tearing_down"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    FAILED = "failed"


class LabStepName(StrEnum):
    """The six steps of the lab workflow (spec §6), plus teardown."""

    LOCK = "LockLab"
    BLUEPRINT = "GenerateBlueprint"
    PROVISION = "ProvisionEnvironment"
    VALIDATION = "RunValidation"
    REVIEW = "RequestHumanReview"
    FINALIZE = "FinalizeLab"
    TEARDOWN = "TeardownLab"


class ReviewDecision(StrEnum):
    """A reviewer's answer to the human review step."""

    APPROVE = "approve"
    REQUEST_CHANGES = "request_changes"


class CreateLab(BaseModel):
    """Body of `POST /api/v1/labs`."""

    model_config = ConfigDict(extra="forbid")

    name: EntityName
    requested_by: Actor
    severity: LabSeverity = LabSeverity.MEDIUM
    ttl_hours: StrictInt = Field(
        default=8, ge=1, le=24 * 30, description="Hours the lab runs before expiry"
    )


class ReviewLab(BaseModel):
    """Body of `POST /api/v1/labs/{id}/review`."""

    model_config = ConfigDict(extra="forbid")

    decision: ReviewDecision
    reviewer: Actor
    comment: Comment = ""
    request_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description="The review round answered (from progress.awaiting); defaults to the current one",
    )
    idempotency_key: str | None = Field(default=None, min_length=1, max_length=128)


class CancelLab(BaseModel):
    """Body of `POST /api/v1/labs/{id}/cancel`."""

    model_config = ConfigDict(extra="forbid")

    reason: Reason
    actor: Actor
    idempotency_key: str | None = Field(default=None, min_length=1, max_length=128)


class Lab(BaseModel):
    """A lab as the API returns it: the stored record plus live progress."""

    id: str
    name: str
    requested_by: str
    severity: LabSeverity
    ttl_hours: int
    status: LabStatus
    workflow_id: str
    run_id: str | None = None
    created_at: datetime
    updated_at: datetime
    expires_at: datetime | None = None
    status_reason: str | None = None
    summary: ProgressSummary | None = None
    """Phase / percent / awaiting from visibility (every row)."""
    progress: Progress | None = None
    """Exact progress from the `progress` query (detail, and rows asked for as `live`)."""


class LabList(BaseModel):
    """Response of `GET /api/v1/labs`."""

    items: list[Lab]
    total: int
