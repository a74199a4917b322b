"""A workflow's steps: name, state, when it started, how long it ran, attempt and detail."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from backend.domain.progress import Step
from tui.state_styles import status_label, step_style
from tui.time_format import elapsed, format_clock, format_duration
from tui.widgets.keyed_table import Cells, KeyedTable, cell

STEP_COLUMNS = (
    ("step", "name"),
    ("state", "state"),
    ("started", "started"),
    ("duration", "duration"),
    ("attempt", "attempt"),
    ("detail", "detail"),
)


def step_cells(step: Step, now: datetime) -> Cells:
    """The cells of one step's row."""
    length = elapsed(step.started_at, step.finished_at, now)
    return (
        cell(step.name),
        cell(status_label(step.state.value), style=step_style(step.state)),
        cell(format_clock(step.started_at, now) if step.started_at else "—", style="dim"),
        cell(format_duration(length) if length is not None else "—"),
        cell(str(step.attempt) if step.attempt else "—"),
        cell(step.detail or ""),
    )


class StepsTable(KeyedTable):
    """The steps of one workflow, keyed by step name."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(STEP_COLUMNS, **kwargs)

    def show_steps(self, steps: Sequence[Step], now: datetime) -> None:
        """Show these steps, in workflow order."""
        self.sync([(step.name, step_cells(step, now)) for step in steps])
