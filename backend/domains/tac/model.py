"""Hook runs' contract types: a TAC intent's run around a DIG's lifecycle operation, with the
check of every worker it needs (the spec's three scenarios) and each hook workflow's outcome."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from backend.domain.entities import DetailLine, DetailSection, Entity
from backend.domain.form import ACTOR
from backend.domain.names import Actor, EntityName, IdempotencyKey, Reason
from backend.domain.tones import Tone
from backend.domains.digs.model import HookType, Segment, TaskQueue, WorkflowType

TAC_KIND = "tac-hook"


class HookRunStatus(StrEnum):
    """A hook run's status (the workflow's phases)."""

    CHECKING_WORKERS = "checking_workers"
    RUNNING_HOOKS = "running_hooks"
    CLEANING_UP = "cleaning_up"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


class CheckOutcome(StrEnum):
    """What came of one worker check."""

    READY = "ready"
    WARNING = "warning"
    FAILED = "failed"


class WorkerCheck(BaseModel):
    """One task queue a hook needs: the scenario found and what came of it."""

    task_queue: str
    scenario: str
    outcome: CheckOutcome
    worker_dig: str | None = None
    detail: str = ""
    started: bool = False
    """This run instantiated the worker DIG (so its cleanup terminates it)."""


class HookOutcome(BaseModel):
    """One hook workflow this run started, and how it ended."""

    workflow_type: str
    task_queue: str
    workflow_id: str
    outcome: str = "running"
    detail: str = ""


class CleanupOutcome(BaseModel):
    """One worker DIG this run terminated when it was done."""

    worker_dig: str
    outcome: str
    detail: str = ""


class CreateHookRun(BaseModel):
    """Body of `POST /api/v1/hook-runs`: run one hook workflow for a DIG now (as a TAC intent
    with one workflow would), workers checked and cleaned up as for a lifecycle event."""

    model_config = ConfigDict(extra="forbid")

    name: EntityName
    project: Segment
    composite_app: Segment
    version: Segment
    dig: Segment
    tac_intent: Segment = Field(description="The intent whose worker registrations apply")
    hook_type: HookType = HookType.PRE_INSTALL
    workflow_type: WorkflowType
    task_queue: TaskQueue
    params: dict[str, str] = Field(default_factory=dict, description="Hook params: k=v, k=v")
    blocking: StrictBool = True
    ready_timeout_seconds: int = Field(default=120, ge=1, le=3600)
    requested_by: Annotated[Actor | None, ACTOR] = None


class CancelHookRun(BaseModel):
    """Body of `cancel`."""

    model_config = ConfigDict(extra="forbid")

    reason: Reason
    actor: Annotated[Actor, ACTOR]
    idempotency_key: IdempotencyKey = None


class HookRun(Entity):
    """A hook run as the API returns it."""

    status: HookRunStatus
    project: str = ""
    composite_app: str = ""
    version: str = ""
    dig: str = ""
    tac_intent: str = ""
    hook_type: str = ""
    lifecycle: str = ""
    """What fired it: the DIG's `instantiate` / `terminate`, or `manual`."""
    checks: list[WorkerCheck] = Field(default_factory=list)
    hooks: list[HookOutcome] = Field(default_factory=list)
    cleanup: list[CleanupOutcome] = Field(default_factory=list)
    workers: str = ""
    """The worker checks in one line for the list (`Q ready, Q2 warning`)."""

    def detail_sections(self) -> list[DetailSection]:
        """Worker checks (scenario, outcome), hook workflows, cleanup."""
        checks = [
            DetailLine(
                f"{c.task_queue}  {c.outcome.value}  scenario {c.scenario}",
                _CHECK_TONES[c.outcome],
                c.detail,
            )
            for c in self.checks
        ]
        hooks = [
            DetailLine(
                f"{h.workflow_type} on {h.task_queue}  {h.outcome}",
                _HOOK_TONES.get(h.outcome, Tone.WORKING),
                h.detail or h.workflow_id,
            )
            for h in self.hooks
        ]
        cleanup = [
            DetailLine(
                f"{c.worker_dig}  {c.outcome}",
                Tone.ENDED if c.outcome == "terminated" else Tone.BAD,
                c.detail,
            )
            for c in self.cleanup
        ]
        return [
            DetailSection("Worker checks", checks, empty="not checked yet"),
            DetailSection("Hook workflows", hooks, empty="none started"),
            DetailSection("Cleanup", cleanup, empty="no worker DIG started"),
        ]


_CHECK_TONES = {
    CheckOutcome.READY: Tone.GOOD,
    CheckOutcome.WARNING: Tone.WAITING,
    CheckOutcome.FAILED: Tone.BAD,
}
_HOOK_TONES = {"completed": Tone.GOOD, "failed": Tone.BAD, "cancelled": Tone.ENDED}
