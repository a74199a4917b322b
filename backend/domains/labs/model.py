"""Labs' contract types: statuses, steps, the request bodies and the record the API returns."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from backend.domain.entities import Entity
from backend.domain.form import ACTOR
from backend.domain.names import (
    Actor,
    Comment,
    EntityName,
    IdempotencyKey,
    Reason,
    RoundId,
    WholeNumber,
)

LAB_KIND = "lab"
LAB_WORKFLOW_TYPE = "LabProvisionWorkflow"
DEFAULT_LABS_TASK_QUEUE = "labs.provisioning.v1"


class LabSeverity(StrEnum):
    """How urgent a lab request is."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class LabStatus(StrEnum):
    """A lab's status; the lab workflow's phase is always one of these words."""

    QUEUED = "queued"
    GENERATING_BLUEPRINT = "generating_blueprint"
    PROVISIONING = "provisioning"
    VALIDATING = "validating"
    AWAITING_REVIEW = "awaiting_review"
    FINALIZING = "finalizing"
    RUNNING = "running"
    TEARING_DOWN = "tearing_down"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    FAILED = "failed"

    @property
    def is_final(self) -> bool:
        """True once the lab's workflow has ended."""
        return self in FINAL_LAB_STATUSES


FINAL_LAB_STATUSES = frozenset({LabStatus.EXPIRED, LabStatus.CANCELLED, LabStatus.FAILED})


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
    requested_by: Annotated[Actor, ACTOR]
    severity: LabSeverity = LabSeverity.MEDIUM
    ttl_hours: WholeNumber = Field(
        default=8, ge=1, le=24 * 30, description="Hours the lab runs before expiry"
    )


class ReviewLab(BaseModel):
    """Body of `POST /api/v1/labs/{id}/review`."""

    model_config = ConfigDict(extra="forbid")

    decision: ReviewDecision
    reviewer: Annotated[Actor, ACTOR]
    comment: Comment = ""
    request_id: RoundId = None
    idempotency_key: IdempotencyKey = None


class CancelLab(BaseModel):
    """Body of `POST /api/v1/labs/{id}/cancel`."""

    model_config = ConfigDict(extra="forbid")

    reason: Reason
    actor: Annotated[Actor, ACTOR]
    idempotency_key: IdempotencyKey = None


class Lab(Entity):
    """A lab as the API returns it: the stored record plus live progress."""

    status: LabStatus
    severity: LabSeverity
    ttl_hours: int
    expires_at: datetime | None = None
