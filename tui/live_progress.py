"""What the TUI believes about an entity's progress: the exact `progress` query when the API sent
it (rows on screen, details), else the values the workflow last reported to the store."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from rich.text import Text

from backend.domain.entities import Entity
from backend.domain.entity import EntitySpec
from backend.domain.progress import Awaiting, Step, StepState
from tui.time_format import format_age
from tui.tones import ERROR_TEXT_STYLE, MUTED_STYLE, WAITING_STYLE


@dataclass(frozen=True)
class LiveState:
    """Percent, what it awaits, what it accepts and what goes wrong, from the best source."""

    phase: str
    percent: int
    awaiting: Awaiting | None
    accepts: tuple[str, ...]
    last_error: str | None
    retrying: Step | None
    """A running step on its second or later attempt: something keeps failing."""
    exact: bool
    """True when these values come from the `progress` query rather than the last report."""


def live_state(entity: Entity) -> LiveState:
    """Prefer the exact `progress`; fall back to what the workflow last reported."""
    progress = entity.progress
    if progress is None:
        return LiveState(
            phase=str(entity.status),
            percent=entity.percent,
            awaiting=entity.awaiting,
            accepts=tuple(entity.accepts),
            last_error=entity.last_error,
            retrying=None,
            exact=False,
        )
    retrying = next(
        (s for s in progress.steps if s.state is StepState.RUNNING and s.attempt > 1), None
    )
    return LiveState(
        phase=progress.phase,
        percent=progress.percent,
        awaiting=progress.awaiting,
        accepts=tuple(progress.accepts),
        last_error=progress.last_error or entity.last_error,
        retrying=retrying,
        exact=True,
    )


def note(spec: EntitySpec, entity: Entity, now: datetime, width: int | None = None) -> Text:
    """What the row's note column says: what it waits for and how long (yellow), or why it is
    failing (red: the last error, which names the retrying step and attempt; else the retrying
    step itself), or why it ended (dim)."""
    state = live_state(entity)
    if state.awaiting is not None:
        return _fit(
            state.awaiting.kind, format_age(state.awaiting.since, now), width, WAITING_STYLE
        )
    if state.retrying is not None and not state.last_error:
        step = state.retrying
        return _text(
            f"{step.name} attempt {step.attempt}: {step.detail or 'retrying'}", ERROR_TEXT_STYLE
        )
    if state.last_error:
        return _text(state.last_error, ERROR_TEXT_STYLE)
    if spec.is_final(str(entity.status)) and entity.status_reason:
        return _text(entity.status_reason, MUTED_STYLE)
    return _text("", "")


def _fit(label: str, suffix: str, width: int | None, style: str) -> Text:
    """`label suffix`, shortening the label (never the suffix) to fit `width`."""
    room = None if width is None else width - len(suffix) - 1
    if room is not None and len(label) > room:
        label = label[: max(1, room - 1)] + "…"
    return _text(f"{label} {suffix}", style)


def _text(value: str, style: str) -> Text:
    return Text(value, style=style, no_wrap=True, overflow="ellipsis", end="")
