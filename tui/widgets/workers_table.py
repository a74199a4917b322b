"""TAC worker registrations as a table: the task queue, the worker DIG that runs its worker and
that DIG's state, and whether a worker polls the queue now (green once one does)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType

from backend.domain.entity import EntitySpec, Tone
from backend.domains.tac.registrations import NOT_FOUND, WorkerRow
from tui.tones import MUTED_STYLE, status_style, tone_style, words
from tui.widgets.keyed_table import Cells, KeyedRows, KeyedTable, cell

WORKERS_COLUMNS = (
    ("name", "name"),
    ("task queue", "queue"),
    ("worker DIG", "dig"),
    ("DIG state", "state"),
    ("pollers", "pollers"),
    ("ready", "ready"),
    ("registered under", "under"),
)
COMPACT_WIDTHS = {"name": 10, "queue": 14, "state": 9, "pollers": 3, "ready": 5, "under": 10}
READY_STYLE = tone_style(Tone.GOOD)


def ready_text(row: WorkerRow, *, compact: bool = False) -> Text:
    """`ready` (green) once a worker polls; `no poller` while none does; `unknown` when
    Temporal did not say."""
    if row.ready:
        return cell("ready", READY_STYLE)
    if row.pollers is None:
        return cell("?" if compact else "unknown", MUTED_STYLE)
    return cell("no" if compact else "no poller", tone_style(Tone.WAITING))


def dig_state_text(dig_spec: EntitySpec | None, row: WorkerRow) -> Text:
    """The worker DIG's lifecycle state, coloured as the DIG view colours it."""
    if row.dig_status == NOT_FOUND:
        return cell(NOT_FOUND, tone_style(Tone.BAD))
    style = status_style(dig_spec, row.dig_status) if dig_spec is not None else ""
    return cell(words(row.dig_status), style)


def worker_dig_text(row: WorkerRow, *, compact: bool = False) -> str:
    """The worker DIG's name first (a cut keeps it), then `project/composite-app/version`."""
    if compact:
        return row.worker_dig
    where = f"{row.worker_project}/{row.worker_composite_app}/{row.worker_version}"
    return f"{row.worker_dig} · {where}"


def worker_cells(dig_spec: EntitySpec | None, row: WorkerRow, *, compact: bool = False) -> Cells:
    """The cells of one registration."""
    pollers = "?" if row.pollers is None else str(row.pollers)
    return (
        cell(row.name, f"bold {READY_STYLE}" if row.ready else "bold"),
        cell(row.task_queue),
        cell(worker_dig_text(row, compact=compact)),
        dig_state_text(dig_spec, row),
        cell(pollers, READY_STYLE if row.ready else MUTED_STYLE),
        ready_text(row, compact=compact),
        cell(f"{row.dig} · {row.tac_intent}", MUTED_STYLE),
    )


class WorkersTable(KeyedTable):
    """Registrations, newest first, keyed by their v2 path; `dig_spec` (the DIG domain, when
    this TUI knows it) colours the DIG states."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select_cursor", "Worker DIG"),
    ]

    def __init__(self, dig_spec: EntitySpec | None = None, **kwargs: Any) -> None:
        super().__init__(WORKERS_COLUMNS, stretch="dig", **kwargs)
        self.dig_spec = dig_spec
        self.rows_shown: list[WorkerRow] = []

    def compact_widths(self, width: int) -> dict[str, int]:
        return COMPACT_WIDTHS

    def compact_labels(self) -> dict[str, str]:
        return {"state": "state", "pollers": "pol", "under": "under"}

    def render_rows(self) -> KeyedRows:
        return [
            (row.key, worker_cells(self.dig_spec, row, compact=self.compact))
            for row in self.rows_shown
        ]

    def show(self, rows: Sequence[WorkerRow]) -> None:
        """Show these registrations, in this order."""
        self.rows_shown = list(rows)
        self.sync(self.render_rows())

    @property
    def selected_row(self) -> WorkerRow | None:
        """The registration under the cursor."""
        key = self.selected_key
        return next((row for row in self.rows_shown if row.key == key), None)
