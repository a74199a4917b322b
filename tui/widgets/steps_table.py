"""A workflow's steps: name, state, when it started, how long it ran, attempt and detail.

Compensation (saga rollback) steps are marked `↺` and say which step they undo."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from backend.domain.progress import Step
from tui.time_format import elapsed, format_clock, format_duration, utc_now
from tui.tones import step_style, words
from tui.widgets.keyed_table import Cells, KeyedRows, KeyedTable, cell

STEP_COLUMNS = (
    ("step", "name"),
    ("state", "state"),
    ("started", "started"),
    ("duration", "duration"),
    ("try", "attempt"),
    ("detail", "detail"),
)
COMPENSATION_MARK = "↺ "


def step_cells(step: Step, now: datetime) -> Cells:
    """The cells of one step's row."""
    length = elapsed(step.started_at, step.finished_at, now)
    details = [f"undoes {step.compensates}"] if step.compensates else []
    if step.detail:
        details.append(step.detail)
    name = f"{COMPENSATION_MARK}{step.name}" if step.compensates else step.name
    return (
        cell(name, "italic" if step.compensates else ""),
        cell(words(step.state.value), style=step_style(step.state)),
        cell(format_clock(step.started_at, now) if step.started_at else "—", style="dim"),
        cell(format_duration(length) if length is not None else "—"),
        cell(str(step.attempt) if step.attempt else "—"),
        cell(" · ".join(details)),
    )


class StepsTable(KeyedTable):
    """The steps of one workflow, keyed by step name."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(STEP_COLUMNS, stretch="detail", **kwargs)
        self.steps: list[Step] = []

    def compact_widths(self, width: int) -> dict[str, int]:
        return {"state": 9, "started": 8, "duration": 8, "attempt": 3}

    def render_rows(self) -> KeyedRows:
        now = utc_now()
        return [(step.name, step_cells(step, now)) for step in self.steps]

    def show_steps(self, steps: Sequence[Step], now: datetime) -> None:
        """Show these steps, in workflow order."""
        self.steps = list(steps)
        self.sync([(step.name, step_cells(step, now)) for step in self.steps])
