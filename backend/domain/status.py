"""What a workflow reports about its entity, from whichever worker runs it, to the store.

Workers never write the API's database: every status change travels as a `StatusReport`
(in process when API and worker share one, over the internal API when they do not).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from backend.domain.progress import Awaiting, Decision


class StatusReport(BaseModel):
    """A snapshot of one entity's state, as its workflow sees it; later versions win."""

    kind: str
    entity_id: str
    workflow_id: str
    run_id: str
    version: str
    """Orders reports: the run's start time, then a counter within the run (string-sortable)."""
    status: str
    reason: str | None = None
    percent: int = Field(ge=0, le=100)
    awaiting: Awaiting | None = None
    accepts: list[str] = Field(default_factory=list)
    last_error: str | None = None
    fields: dict[str, Any] = Field(default_factory=dict)
    """Domain fields the workflow sets (e.g. a lab's `expires_at`)."""
    done: bool = False
    decisions: list[Decision] = Field(default_factory=list)
    """Decisions received since the last report that got through (each audited once)."""


class StatusAck(BaseModel):
    """Answer to a status report."""

    applied: bool
    """False when a newer report had already been applied (this one changed nothing)."""


class ClaimRequest(BaseModel):
    """A workflow asks to own an entity (idempotent); refused when another workflow owns it."""

    kind: str
    entity_id: str
    workflow_id: str


class ClaimResult(BaseModel):
    """Whether the claim holds, and why not."""

    granted: bool
    reason: str = ""


class RegisterRequest(BaseModel):
    """A workflow started by another workflow (a child) asks for an entity of its own, so it
    is listed, awaited in Needs you and acted on like any other (idempotent)."""

    kind: str
    entity_id: str
    name: str
    requested_by: str
    workflow_id: str
    run_id: str = ""
    parent_workflow_id: str | None = None
    fields: dict[str, Any] = Field(default_factory=dict)
