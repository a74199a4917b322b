"""Deployments: every deployment with the workload it renders from which template onto which
target's hosts, its replicas, revision and values. Enter opens the deployment with its state on
each host."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Footer, Header, Static

from tui.screens.deployment_screen import DeploymentScreen
from tui.screens.polling_screen import PollingScreen
from tui.session import HOSTS_VIEW, Session
from tui.widgets.connection_status import ConnectionStatus
from tui.widgets.deployments_table import DeploymentsTable

PAGE = 200
ADD_HINT = (
    "add one with `flightdeck create deployment NAME --workload W --template T --target X`"
    " or POST /api/v1/deployments"
)


def deployments_heading(shown: int, total: int) -> str:
    """The line above the table."""
    if not shown:
        return f"Deployments · none — {ADD_HINT}"
    count = f"{total}" if total == shown else f"first {shown} of {total}"
    return f"Deployments · {count} · enter: deployment"


class DeploymentsScreen(PollingScreen):
    """The deployments by name, polled while shown."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("h", "hosts", "Hosts"),
        Binding("q", "app.quit", "Quit", priority=True),
    ]
    AUTO_FOCUS = "#deployments"

    def __init__(self, session: Session) -> None:
        super().__init__(session)
        self.title = "Flightdeck ▸ deployments"

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(Text("Deployments"), classes="view-heading", id="deployments-heading")
        yield DeploymentsTable(id="deployments", classes="view-table")
        yield ConnectionStatus()
        yield Footer()

    @property
    def table(self) -> DeploymentsTable:
        """The deployments table."""
        return self.query_one(DeploymentsTable)

    def load_failed_title(self) -> str:
        return "Deployments not refreshed"

    async def load(self) -> None:
        items, total = await self.session.client.deployments(limit=PAGE)
        self.table.show(items)
        heading = deployments_heading(len(items), total)
        self.query_one("#deployments-heading", Static).update(Text(heading))

    @on(DataTable.RowSelected, "#deployments")
    def _open_deployment(self) -> None:
        deployment = self.table.selected
        if deployment is not None:
            self.app.push_screen(DeploymentScreen(self.session, deployment.name))

    def action_hosts(self) -> None:
        """Switch to the Hosts view."""
        self.app.switch_mode(HOSTS_VIEW)
