"""Colour that means state: the one place that says how each `Tone` looks, and which tone step
states, audit outcomes and a domain's statuses and column values have."""

from __future__ import annotations

from backend.domain.audit import AuditOutcome, AuditSource
from backend.domain.entity import Column, EntitySpec, Tone
from backend.domain.progress import StepState

TONE_STYLES: dict[Tone, str] = {
    Tone.NEUTRAL: "",
    Tone.WORKING: "cyan",
    Tone.WAITING: "bold yellow",
    Tone.GOOD: "green",
    Tone.ENDED: "dim",
    Tone.BAD: "bold red",
    Tone.NOTABLE: "medium_purple1",
}

WAITING_STYLE = TONE_STYLES[Tone.WAITING]
ERROR_STYLE = TONE_STYLES[Tone.BAD]
ERROR_TEXT_STYLE = "red"
"""Error messages themselves (not bold: they can be long)."""
MUTED_STYLE = "dim"

STEP_TONES: dict[StepState, Tone] = {
    StepState.PENDING: Tone.ENDED,
    StepState.RUNNING: Tone.WORKING,
    StepState.WAITING: Tone.WAITING,
    StepState.COMPLETED: Tone.GOOD,
    StepState.FAILED: Tone.BAD,
    StepState.SKIPPED: Tone.ENDED,
    StepState.CANCELLED: Tone.ENDED,
}

OUTCOME_TONES: dict[AuditOutcome, Tone] = {
    AuditOutcome.ACCEPTED: Tone.GOOD,
    AuditOutcome.REFUSED: Tone.BAD,
    AuditOutcome.NO_OP: Tone.ENDED,
    AuditOutcome.FAILED: Tone.BAD,
    AuditOutcome.SENT: Tone.WORKING,
}

SOURCE_TONES: dict[AuditSource, Tone] = {
    AuditSource.FLIGHTDECK: Tone.NEUTRAL,
    AuditSource.TEMPORAL: Tone.NOTABLE,
    AuditSource.WORKFLOW: Tone.ENDED,
}


def tone_style(tone: Tone) -> str:
    """The rich style of a tone."""
    return TONE_STYLES.get(tone, "")


def status_style(spec: EntitySpec, status: str) -> str:
    """The style of one of a domain's statuses, wherever it is shown."""
    return tone_style(spec.status(status).tone)


def row_style(spec: EntitySpec, status: str) -> str:
    """Extra style for a whole row: entities that ended quietly fade."""
    declared = spec.status(status)
    return MUTED_STYLE if declared.final and declared.tone is Tone.ENDED else ""


def value_style(column: Column, value: str) -> str:
    """The style of a domain column's value (e.g. `critical` severity is red)."""
    tone = column.tones.get(value)
    return tone_style(tone) if tone is not None else ""


def step_style(state: StepState) -> str:
    """The style of a workflow step's state."""
    return tone_style(STEP_TONES.get(state, Tone.NEUTRAL))


def outcome_style(outcome: AuditOutcome) -> str:
    """The style of an audit outcome."""
    return tone_style(OUTCOME_TONES.get(outcome, Tone.NEUTRAL))


def source_style(source: AuditSource) -> str:
    """The style of where an audited action came from (unauthenticated ones stand out)."""
    return tone_style(SOURCE_TONES.get(source, Tone.NEUTRAL))


def words(value: str) -> str:
    """A status, phase or choice as words: `awaiting_review` → `awaiting review`."""
    return value.replace("_", " ")
