"""The audit log: every human action with who, when, why and what came of it."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field


class AuditOutcome(StrEnum):
    """What came of an action."""

    ACCEPTED = "accepted"
    REFUSED = "refused"
    NO_OP = "no_op"
    FAILED = "failed"
    SENT = "sent"
    """Delivered to the workflow, which had not confirmed it yet (its verdict follows)."""


class AuditSource(StrEnum):
    """Where an action came from."""

    FLIGHTDECK = "flightdeck"
    """Through Flightdeck's API (the TUI, curl)."""
    TEMPORAL = "temporal"
    """A signal sent with another Temporal client (CLI, UI); the actor is what the payload said
    (unauthenticated)."""
    WORKFLOW = "workflow"
    """The workflow's own verdict on an earlier request that Flightdeck sent."""


class AuditEntry(BaseModel):
    """One recorded action."""

    id: int
    at: datetime
    actor: str
    action: str
    target_kind: str
    target_id: str
    reason: str = ""
    outcome: AuditOutcome
    message: str = ""
    idempotency_key: str | None = None
    source: AuditSource = AuditSource.FLIGHTDECK
    details: dict[str, Any] = Field(default_factory=dict)


class AuditList(BaseModel):
    """Response of `GET /api/v1/audit`."""

    items: list[AuditEntry]


class ActionResult(BaseModel):
    """Response of a human action endpoint (review, cancel, ...)."""

    outcome: AuditOutcome
    message: str
    audit_id: int | None = None
