"""One deployment: its workload, template, target, values and replicas, how many hosts its
target matches and how many it is assigned to, and on each of those hosts how far its newest
change got (committed, event sent, deployed). Enter opens the host; Esc goes back."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Footer, Header, Label

from backend.domains.placement.model import DeploymentView
from tui.screens.polling_screen import PollingScreen
from tui.session import DEPLOYMENTS_VIEW, Session
from tui.widgets.assignments_table import AssignmentsTable
from tui.widgets.connection_status import ConnectionStatus
from tui.widgets.placement_overview import DeploymentOverview


def hosts_heading(view: DeploymentView) -> str:
    """The line above the deployment's assignments."""
    assigned = len(view.assignments)
    if assigned == 0:
        return f"Hosts · none assigned ({view.matching_hosts} matching)"
    return f"Hosts · {assigned} assigned of {view.matching_hosts} matching · enter: host"


class DeploymentScreen(PollingScreen):
    """A deployment and its assignments, polled while shown."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back"),
        Binding("q", "app.quit", "Quit", priority=True),
    ]
    AUTO_FOCUS = "#deployment-assignments"

    def __init__(self, session: Session, name: str) -> None:
        super().__init__(session)
        self.deployment_name = name
        self.title = f"Flightdeck ▸ {DEPLOYMENTS_VIEW} ▸ {name}"

    def compose(self) -> ComposeResult:
        yield Header()
        yield DeploymentOverview(id="deployment-overview", classes="placement-overview")
        yield Label(Text("Hosts"), classes="placement-section", id="deployment-section")
        yield AssignmentsTable("host", id="deployment-assignments", classes="view-table")
        yield ConnectionStatus()
        yield Footer()

    @property
    def table(self) -> AssignmentsTable:
        """The deployment's assignments."""
        return self.query_one(AssignmentsTable)

    def load_failed_title(self) -> str:
        return f"Deployment {self.deployment_name} not refreshed"

    async def load(self) -> None:
        view = await self.session.client.deployment(self.deployment_name)
        self.query_one(DeploymentOverview).view = view
        self.table.show(view.assignments)
        self.query_one("#deployment-section", Label).update(Text(hosts_heading(view)))

    @on(DataTable.RowSelected, "#deployment-assignments")
    def _open_host(self) -> None:
        assignment = self.table.selected
        if assignment is None:
            return
        from tui.screens.host_screen import HostScreen  # the host's page opens deployments

        self.app.push_screen(HostScreen(self.session, assignment.host))

    def action_back(self) -> None:
        """Back to where this came from."""
        self.dismiss(None)
