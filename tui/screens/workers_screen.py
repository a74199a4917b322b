"""Workers: every TAC worker registration (task queue → worker DIG), the worker DIG's state, and
whether a worker polls the queue now; a row turns green when its worker comes up. Enter opens
the worker DIG's details."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Footer, Header, Static

from backend.domains.tac.registrations import WorkerRow
from tui.screens.entity_detail_screen import EntityDetailScreen
from tui.screens.polling_screen import PollingScreen
from tui.session import DIGS_PLURAL, Session
from tui.widgets.connection_status import ConnectionStatus
from tui.widgets.workers_table import WorkersTable

PAGE = 200
REGISTER_HINT = (
    "register one with POST /v2/projects/…/deployment-intent-groups/{dig}"
    "/temporal-action-controller/{intent}/workers"
)


class WorkersScreen(PollingScreen):
    """The registrations, newest first, polled while shown."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "app.quit", "Quit", priority=True),
    ]
    AUTO_FOCUS = "#workers"

    def __init__(self, session: Session) -> None:
        super().__init__(session)
        self.title = "Flightdeck ▸ workers"
        self.dig_spec = next((s for s in session.specs if s.plural == DIGS_PLURAL), None)

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(Text("Workers"), classes="view-heading", id="workers-heading")
        yield WorkersTable(self.dig_spec, id="workers", classes="view-table")
        yield ConnectionStatus()
        yield Footer()

    @property
    def table(self) -> WorkersTable:
        """The registrations table."""
        return self.query_one(WorkersTable)

    def load_failed_title(self) -> str:
        return "Workers not refreshed"

    async def load(self) -> None:
        page = await self.session.client.workers(limit=PAGE)
        self.table.show(page.items)
        self._show_heading(page.items, page.total)

    def _show_heading(self, rows: list[WorkerRow], total: int) -> None:
        if not rows:
            text = f"Workers · none registered — {REGISTER_HINT}"
        else:
            ready = sum(1 for row in rows if row.ready)
            shown = f"{total}" if total == len(rows) else f"newest {len(rows)} of {total}"
            text = f"Workers · {shown} registered · {ready} with a worker polling · enter: DIG"
        self.query_one("#workers-heading", Static).update(Text(text))

    @on(DataTable.RowSelected, "#workers")
    def _open_dig(self) -> None:
        """Open the selected registration's worker DIG, when this TUI knows DIGs and it exists."""
        row = self.table.selected_row
        if row is None:
            return
        if self.dig_spec is None or row.worker_dig_id is None:
            why = "is not found" if row.worker_dig_id is None else "is not shown in this TUI"
            self.notify(
                f"Worker DIG {row.worker_ref} {why}",
                title="No details",
                severity="warning",
                markup=False,
            )
            return
        self.app.push_screen(
            EntityDetailScreen(self.session, self.dig_spec, row.worker_dig_id, row.worker_dig)
        )
