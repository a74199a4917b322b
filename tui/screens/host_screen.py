"""One host: its labels, its agent's last report, and every deployment assigned to it with how
far that deployment's newest change got on it (committed, event sent, deployed). Enter opens the
deployment; Esc goes back."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Footer, Header, Label

from tui.screens.deployment_screen import DeploymentScreen
from tui.screens.polling_screen import PollingScreen
from tui.session import HOSTS_VIEW, Session
from tui.widgets.assignments_table import AssignmentsTable
from tui.widgets.connection_status import ConnectionStatus
from tui.widgets.placement_overview import HostOverview


def assignments_heading(count: int) -> str:
    """The line above the host's assignments."""
    if count == 0:
        return "Deployments · none assigned to this host"
    return f"Deployments · {count} · enter: deployment"


class HostScreen(PollingScreen):
    """A host and its assignments, polled while shown."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back"),
        Binding("q", "app.quit", "Quit", priority=True),
    ]
    AUTO_FOCUS = "#host-assignments"

    def __init__(self, session: Session, name: str) -> None:
        super().__init__(session)
        self.host_name = name
        self.title = f"Flightdeck ▸ {HOSTS_VIEW} ▸ {name}"

    def compose(self) -> ComposeResult:
        yield Header()
        yield HostOverview(id="host-overview", classes="placement-overview")
        yield Label(Text("Deployments"), classes="placement-section", id="host-section")
        yield AssignmentsTable("deployment", id="host-assignments", classes="view-table")
        yield ConnectionStatus()
        yield Footer()

    @property
    def table(self) -> AssignmentsTable:
        """The host's assignments."""
        return self.query_one(AssignmentsTable)

    def load_failed_title(self) -> str:
        return f"Host {self.host_name} not refreshed"

    async def load(self) -> None:
        view = await self.session.client.host(self.host_name)
        self.query_one(HostOverview).view = view
        self.table.show(view.assignments)
        self.query_one("#host-section", Label).update(
            Text(assignments_heading(len(view.assignments)))
        )

    @on(DataTable.RowSelected, "#host-assignments")
    def _open_deployment(self) -> None:
        assignment = self.table.selected
        if assignment is not None:
            self.app.push_screen(DeploymentScreen(self.session, assignment.deployment))

    def action_back(self) -> None:
        """Back to where this came from."""
        self.dismiss(None)
