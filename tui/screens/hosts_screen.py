"""Hosts: every host with its labels, how many deployments it has and how many of them it runs
at their current revision, the newest change that reached it and its agent's last report; the
heading says how far the change processor has read the change log. Enter opens the host."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Footer, Header, Static

from backend.domains.placement.model import HostRows
from tui.screens.host_screen import HostScreen
from tui.screens.polling_screen import PollingScreen
from tui.session import DEPLOYMENTS_VIEW, Session
from tui.widgets.connection_status import ConnectionStatus
from tui.widgets.hosts_table import HostsTable

PAGE = 200
ADD_HINT = "add one with `flightdeck create host NAME --labels K=V,...` or POST /api/v1/hosts"


def processor_text(processed: int, head: int) -> str:
    """`change processor at #12 of #14 (lag 2)`."""
    return f"change processor at #{processed} of #{head} (lag {max(0, head - processed)})"


def hosts_heading(page: HostRows) -> str:
    """The line above the table: how many hosts, and how far the change processor is."""
    processor = processor_text(page.processed, page.head)
    if not page.items:
        return f"Hosts · none — {ADD_HINT} · {processor}"
    total = page.total
    shown = f"{total}" if total == len(page.items) else f"first {len(page.items)} of {total}"
    return f"Hosts · {shown} · {processor} · enter: host"


class HostsScreen(PollingScreen):
    """The hosts by name, polled while shown."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("d", "deployments", "Deployments"),
        Binding("q", "app.quit", "Quit", priority=True),
    ]
    AUTO_FOCUS = "#hosts"

    def __init__(self, session: Session) -> None:
        super().__init__(session)
        self.title = "Flightdeck ▸ hosts"

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(Text("Hosts"), classes="view-heading", id="hosts-heading")
        yield HostsTable(id="hosts", classes="view-table")
        yield ConnectionStatus()
        yield Footer()

    @property
    def table(self) -> HostsTable:
        """The hosts table."""
        return self.query_one(HostsTable)

    def load_failed_title(self) -> str:
        return "Hosts not refreshed"

    async def load(self) -> None:
        page = await self.session.client.hosts(limit=PAGE)
        self.table.show(page.items)
        self.query_one("#hosts-heading", Static).update(Text(hosts_heading(page)))

    @on(DataTable.RowSelected, "#hosts")
    def _open_host(self) -> None:
        row = self.table.selected_row
        if row is not None:
            self.app.push_screen(HostScreen(self.session, row.name))

    def action_deployments(self) -> None:
        """Switch to the Deployments view."""
        self.app.switch_mode(DEPLOYMENTS_VIEW)
