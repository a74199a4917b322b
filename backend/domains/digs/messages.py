"""Names and payloads of the DIG workflow's input, signals and activities."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field

from backend.domains.digs.model import AppState, DigApp, DigRef, LifecycleEvent, TacIntent

# Signals: EMCO's lifecycle operations, by name (any Temporal client can send them).
APPROVE_SIGNAL = "approve"
INSTANTIATE_SIGNAL = "instantiate"
TERMINATE_SIGNAL = "terminate"
DELETE_SIGNAL = "delete"
NOTICE_SIGNAL = "dig_notice"
"""Sent by a DIG to the workflow that asked for an operation (`notify`) once it is done."""

# Activities.
CREATE_ACTIVITY = "dig_create"
APPROVE_ACTIVITY = "dig_approve"
INSTANTIATE_ACTIVITY = "dig_instantiate"
READY_ACTIVITY = "dig_wait_ready"
TERMINATE_ACTIVITY = "dig_terminate"
DELETE_ACTIVITY = "dig_delete"
PLACE_ACTIVITY = "dig_place"
"""Place the apps that name a placement target (or remove them), in Flightdeck's store."""

ORCHESTRATOR_REFUSED = "OrchestratorRefused"
"""Failure type of an orchestrator's refusal: never retried."""


class Mode(StrEnum):
    """What a run of the DIG workflow does first (each lifecycle operation is a fresh run, via
    continue-as-new, so its progress and history start clean)."""

    CREATE = "create"
    INSTANTIATE = "instantiate"
    TERMINATE = "terminate"


class DigParams(BaseModel):
    """Input of DigLifecycleWorkflow (and of every run it continues as)."""

    dig_id: str
    name: str
    project: str
    composite_app: str
    version: str
    description: str = ""
    apps: list[DigApp]
    tac_intents: list[TacIntent] = Field(default_factory=list)
    requested_by: str = "flightdeck"
    mode: Mode = Mode.CREATE
    history: list[LifecycleEvent] = Field(default_factory=list)
    notify: str | None = None
    """The workflow to tell (NOTICE_SIGNAL) when this run's operation is done."""
    operation_by: str = ""
    """Who asked for this run's operation."""

    @property
    def ref(self) -> DigRef:
        """The DIG as the orchestrator names it."""
        return DigRef(
            project=self.project,
            composite_app=self.composite_app,
            version=self.version,
            name=self.name,
        )


class OperationSignal(BaseModel):
    """Payload of approve / instantiate / terminate / delete: who, why, and who to tell."""

    reason: str = ""
    actor: str
    request_id: str | None = None
    signal_id: str | None = None
    notify: str | None = None
    """A workflow id to send NOTICE_SIGNAL to when the operation is done (or refused)."""


class DigNotice(BaseModel):
    """What a DIG tells the workflow that asked for an operation."""

    dig_id: str
    operation: str
    accepted: bool = True
    status: str
    ready: bool = False
    reason: str | None = None


class DigInput(BaseModel):
    """What every DIG activity works on."""

    dig: DigRef
    apps: list[DigApp] = Field(default_factory=list)
    description: str = ""
    ready_timeout_seconds: float = 120.0


class AppStates(BaseModel):
    """The apps' states after an operation, and which orchestrator did it."""

    orchestrator: str
    apps: list[AppState] = Field(default_factory=list)
    ready: bool = False
    deployed: str = ""
