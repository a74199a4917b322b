"""Names and payloads of TacHookWorkflow: its input, result, signals and activities."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field

from backend.domains.digs.model import DigRef, TacIntent

TAC_HOOK_WORKFLOW_TYPE = "TacHookWorkflow"
CANCEL_SIGNAL = "cancel_hook"
LOOKUP_ACTIVITY = "tac_lookup_worker"
WARN_ACTIVITY = "tac_warn"


class Scenario(StrEnum):
    """The spec's three scenarios for a task queue a hook needs (plus: already up)."""

    INSTANTIATE = "1: registered, approved, only app: instantiate"
    REFUSE = "2: registered, not approved or not the only app: fail"
    UNREGISTERED = "3: not registered: warn and continue"
    RUNNING = "already instantiated and ready"


class HookRunParams(BaseModel):
    """Input of TacHookWorkflow: the DIG whose lifecycle event fired, the intent to run."""

    hook_run_id: str | None = None
    """The hook run (entity) to report to; None when a DIG workflow runs it as a child: it
    registers a hook run of its own."""
    name: str | None = None
    dig: DigRef
    dig_id: str | None = None
    intent: TacIntent
    lifecycle: str = "manual"
    """The lifecycle operation that fired it (`instantiate`, `terminate`) or `manual`."""
    requested_by: str = "flightdeck"


class HookRunResult(BaseModel):
    """How a hook run ended."""

    status: str
    reason: str | None = None


class CancelHookSignal(BaseModel):
    """Payload of cancel_hook."""

    reason: str
    actor: str
    signal_id: str | None = None


class HookWarning(BaseModel):
    """A warning a hook run records in the audit log (scenario 3)."""

    hook_run_id: str
    task_queue: str
    message: str
    actor: str = "tac-hook"
    details: dict[str, str] = Field(default_factory=dict)
