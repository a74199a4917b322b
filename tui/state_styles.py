"""Colour that means state: one place that says how each lab status and step state looks."""

from __future__ import annotations

from backend.domain.labs import LabStatus
from backend.domain.progress import StepState

AWAITING_STYLE = "bold yellow"
ERROR_STYLE = "bold red"
ENDED_STYLE = "dim"

STATUS_STYLES: dict[LabStatus, str] = {
    LabStatus.QUEUED: "",
    LabStatus.PROVISIONING: "cyan",
    LabStatus.VALIDATING: "cyan",
    LabStatus.AWAITING_REVIEW: AWAITING_STYLE,
    LabStatus.RUNNING: "green",
    LabStatus.EXPIRED: ENDED_STYLE,
    LabStatus.CANCELLED: ENDED_STYLE,
    LabStatus.FAILED: ERROR_STYLE,
}

STEP_STYLES: dict[StepState, str] = {
    StepState.PENDING: "dim",
    StepState.RUNNING: "cyan",
    StepState.WAITING: AWAITING_STYLE,
    StepState.COMPLETED: "green",
    StepState.FAILED: ERROR_STYLE,
    StepState.SKIPPED: "dim",
    StepState.CANCELLED: "dim",
}

SEVERITY_STYLES: dict[str, str] = {
    "low": "dim",
    "medium": "",
    "high": "yellow",
    "critical": "bold red",
}


def status_style(status: LabStatus) -> str:
    """The style of a lab's status everywhere it is shown."""
    return STATUS_STYLES.get(status, "")


def row_style(status: LabStatus) -> str:
    """Extra style for a whole row: ended labs fade."""
    return ENDED_STYLE if status in (LabStatus.EXPIRED, LabStatus.CANCELLED) else ""


def step_style(state: StepState) -> str:
    """The style of a workflow step's state."""
    return STEP_STYLES.get(state, "")


def status_label(value: str) -> str:
    """A status or phase as words: `awaiting_review` → `awaiting review`."""
    return value.replace("_", " ")
