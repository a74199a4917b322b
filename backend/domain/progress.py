"""The shared live-progress model every Flightdeck workflow answers through the `progress` query."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field

PROGRESS_QUERY = "progress"
"""Name of the query every Flightdeck workflow answers with a `Progress`."""


class StepState(StrEnum):
    """Where one step of a workflow stands."""

    PENDING = "pending"
    RUNNING = "running"
    WAITING = "waiting"
    COMPLETED = "completed"
    FAILED = "failed"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"


class Step(BaseModel):
    """One named step of a workflow, with when it started and finished."""

    name: str
    state: StepState = StepState.PENDING
    started_at: datetime | None = None
    finished_at: datetime | None = None
    attempt: int = 0
    detail: str | None = None
    weight: int = 0
    """Percentage points this step adds to `Progress.percent` when it completes."""
    heartbeats: bool = False
    """The step's activity reports `{done, total}` heartbeat details, so percent moves inside it."""
    compensates: str | None = None
    """For a compensation (saga rollback) step: the step whose effect it undoes."""


class Awaiting(BaseModel):
    """What human input a workflow waits for, and since when."""

    kind: str
    """What is awaited, e.g. `review`; the action that answers it."""
    since: datetime
    request_id: str
    """Identifies this round of waiting; an answer to an older round is a no-op."""
    prompt: str | None = None


class Decision(BaseModel):
    """A human answer the workflow received (or ignored because it was not waiting for it)."""

    request_id: str | None
    kind: str
    """The action the signal asked for (`review`, `cancel`, ...)."""
    decision: str
    """The choice within it (`approve`, `request_changes`); the action's name when it has none."""
    actor: str
    comment: str = ""
    at: datetime
    accepted: bool = True
    note: str | None = None
    """Why it was not taken, or anything worth saying about it."""
    signal_id: str | None = None
    """Echo of the signal's id, so the sender can confirm how the workflow took it."""
    seq: int = 0
    """Order of receipt within the run (1, 2, ...), so each decision is audited once."""

    @property
    def audit_action(self) -> str:
        """The audit log's action for this decision (`review.approve`, `cancel`)."""
        return self.kind if self.decision == self.kind else f"{self.kind}.{self.decision}"


class Progress(BaseModel):
    """Live state of one workflow: phase, percent complete, steps and what it waits for."""

    phase: str = "starting"
    percent: int = Field(default=0, ge=0, le=100)
    steps: list[Step] = Field(default_factory=list)
    awaiting: Awaiting | None = None
    accepts: list[str] = Field(default_factory=list)
    """The actions the workflow takes now; a signal for any other is recorded and ignored."""
    closing: str | None = None
    """Why the workflow takes no more actions (e.g. `the lab is being cancelled (by carol)`)."""
    last_error: str | None = None
    decisions: list[Decision] = Field(default_factory=list)
    done: bool = False

    def step(self, name: str) -> Step | None:
        """The step called `name`, if the workflow has one."""
        return next((s for s in self.steps if s.name == name), None)


class HeartbeatProgress(BaseModel):
    """Heartbeat details of a long step: how far it got (so a retry resumes, and percent moves)."""

    done: int
    total: int
