"""The list of labs: one row per lab with its status, phase, a percent bar, age and what it awaits."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, ClassVar

from textual import events
from textual.binding import Binding, BindingType

from backend.domain.labs import Lab
from tui.live_progress import progress_view
from tui.state_styles import (
    AWAITING_STYLE,
    SEVERITY_STYLES,
    row_style,
    status_label,
    status_style,
)
from tui.time_format import format_age, utc_now
from tui.widgets.keyed_table import Cells, KeyedTable, cell
from tui.widgets.percent_bar import percent_bar

LAB_COLUMNS = (
    ("name", "name"),
    ("severity", "severity"),
    ("status", "status"),
    ("phase", "phase"),
    ("progress", "progress"),
    ("age", "age"),
    ("awaiting", "awaiting"),
)

COMPACT_BELOW = 100
"""Below this many columns the table switches to fixed, narrower columns so it fits 80."""

COMPACT_WIDTHS = {
    "severity": 4,
    "status": 15,
    "phase": 10,
    "progress": 11,
    "age": 3,
    "awaiting": 9,
}
"""Column widths in compact mode; `name` takes what is left."""

SHORT_SEVERITY = {"low": "low", "medium": "med", "high": "high", "critical": "crit"}


def lab_cells(lab: Lab, now: datetime, *, compact: bool = False) -> Cells:
    """The cells of one lab's row, styled by its state."""
    view = progress_view(lab)
    base = row_style(lab.status)
    state = status_style(lab.status) or base
    if view.awaiting_kind is None:
        awaiting = ""
    elif view.awaiting_since is not None:
        awaiting = f"{view.awaiting_kind} {format_age(view.awaiting_since, now)}"
    else:
        awaiting = view.awaiting_kind
    severity = lab.severity.value
    return (
        cell(lab.name, f"bold {base}".strip()),
        cell(
            SHORT_SEVERITY.get(severity, severity) if compact else severity,
            SEVERITY_STYLES.get(severity, "") or base,
        ),
        cell(status_label(lab.status.value), state),
        cell(status_label(view.phase), base),
        percent_bar(view.percent, width=6 if compact else 10, style=state),
        cell(format_age(lab.created_at, now), base),
        cell(awaiting, AWAITING_STYLE),
    )


class LabsTable(KeyedTable):
    """Labs keyed by id; refreshes change only the cells that changed, the cursor stays on its lab.

    Narrower than `COMPACT_BELOW` columns it uses fixed column widths, shorter bars and short
    severities, so all seven columns fit an 80-column terminal.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select_cursor", "Details"),
    ]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(LAB_COLUMNS, **kwargs)
        self.compact = False
        self._labs: list[Lab] = []

    def on_resize(self, event: events.Resize) -> None:
        compact = event.size.width < COMPACT_BELOW
        if compact == self.compact:
            return
        self.compact = compact
        selected = self.selected_key
        if compact:
            fixed = sum(COMPACT_WIDTHS.values()) + 2 * self.cell_padding * len(LAB_COLUMNS)
            name_width = max(8, event.size.width - fixed - 1)
            self.set_column_widths({"name": name_width, **COMPACT_WIDTHS}, {"severity": "sev"})
        else:
            self.set_column_widths({})
        self.show_labs(self._labs, utc_now())
        if selected is not None:
            self.select_key(selected)

    def show_labs(self, labs: Sequence[Lab], now: datetime) -> None:
        """Show these labs, in this order."""
        self._labs = list(labs)
        self.sync([(lab.id, lab_cells(lab, now, compact=self.compact)) for lab in labs])

    @property
    def selected_lab_id(self) -> str | None:
        """The id of the lab under the cursor."""
        return self.selected_key

    def live_lab_ids(self, limit: int = 50) -> list[str]:
        """Ids whose exact progress is worth a query: the selected lab, then those on screen."""
        ids = [self.selected_key] if self.selected_key else []
        ids += [key for key in self.visible_keys() if key not in ids]
        return ids[:limit]
