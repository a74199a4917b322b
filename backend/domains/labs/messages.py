"""Names and payloads of the lab workflow's input, signals and activities (spec §6)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from backend.domains.labs.model import LabSeverity, ReviewDecision
from backend.domains.labs.providers import Blueprint

# Signals and queries, by the names of the spec (any Temporal client can use them).
HUMAN_REVIEW_SIGNAL = "HumanReview"
CANCEL_LAB_SIGNAL = "CancelLab"
CURRENT_PHASE_QUERY = "CurrentPhase"
PERCENT_COMPLETE_QUERY = "PercentComplete"


class LabProvisionParams(BaseModel):
    """Input of LabProvisionWorkflow (spec §6)."""

    lab_id: str
    name: str
    requested_by: str
    severity: LabSeverity
    ttl_hours: int


class LabResult(BaseModel):
    """How a lab workflow ended."""

    lab_id: str
    status: str
    reason: str | None = None


class HumanReviewSignal(BaseModel):
    """Payload of the HumanReview signal."""

    decision: ReviewDecision
    reviewer: str
    comment: str = ""
    request_id: str | None = None
    """The review round answered; None answers the current one."""
    signal_id: str | None = None
    """Set by senders that want to confirm the outcome in `progress.decisions`."""


class CancelLabSignal(BaseModel):
    """Payload of the CancelLab signal."""

    reason: str
    actor: str
    signal_id: str | None = None


class LockLabInput(BaseModel):
    """LockLab activity input."""

    lab_id: str
    workflow_id: str


class BlueprintInput(BaseModel):
    """GenerateBlueprint activity input."""

    lab_id: str
    name: str
    severity: LabSeverity


class EnvironmentInput(BaseModel):
    """Input of the activities that work on a lab's environment."""

    lab_id: str
    blueprint: Blueprint


class ProvisionResult(BaseModel):
    """What ProvisionEnvironment did."""

    created: int
    total: int
    resumed_from: int = 0


class ValidationResult(BaseModel):
    """What RunValidation checked."""

    checks: int
    attempt: int


class LabInput(BaseModel):
    """Input of the lab activities that need only the lab's id."""

    lab_id: str


class FinalizeInput(BaseModel):
    """FinalizeLab activity input."""

    lab_id: str
    expires_at: datetime


class TeardownResult(BaseModel):
    """What TeardownLab removed."""

    removed: int
