"""One host: its labels, its agent's last report, and every deployment assigned to it with how
far that deployment's newest change got on it (committed, event sent, deployed). Enter opens the
deployment; Esc goes back."""

from __future__ import annotations

from textual.widget import Widget

from backend.domains.placement.model import Assignment
from tui.screens.assignments_screen import AssignmentsScreen
from tui.screens.deployment_screen import DeploymentScreen
from tui.session import HOSTS_VIEW, Session
from tui.widgets.placement_overview import HostOverview


def assignments_heading(count: int) -> str:
    """The line above the host's assignments."""
    if count == 0:
        return "Deployments · none assigned to this host"
    return f"Deployments · {count} · enter: deployment"


class HostScreen(AssignmentsScreen):
    """A host and its assignments, polled while shown."""

    OTHER_SIDE = "deployment"
    SECTION = "Deployments"

    def __init__(self, session: Session, name: str) -> None:
        super().__init__(session)
        self.host_name = name
        self.title = f"Flightdeck ▸ {HOSTS_VIEW} ▸ {name}"

    def overview(self) -> Widget:
        return HostOverview(classes="placement-overview")

    def load_failed_title(self) -> str:
        return f"Host {self.host_name} not refreshed"

    async def load(self) -> None:
        view = await self.session.client.host(self.host_name)
        self.query_one(HostOverview).view = view
        self.show(view.assignments, assignments_heading(len(view.assignments)))

    def open(self, assignment: Assignment) -> None:
        self.app.push_screen(DeploymentScreen(self.session, assignment.deployment))
