"""One deployment: its workload, template, target, values and replicas, how many hosts its
target matches and how many it is assigned to, and on each of those hosts how far its newest
change got (committed, event sent, deployed). Enter opens the host; Esc goes back."""

from __future__ import annotations

from textual.widget import Widget

from backend.domains.placement.model import Assignment, DeploymentView
from tui.screens.assignments_screen import AssignmentsScreen
from tui.session import DEPLOYMENTS_VIEW, Session
from tui.widgets.placement_overview import DeploymentOverview


def hosts_heading(view: DeploymentView) -> str:
    """The line above the deployment's assignments."""
    assigned = len(view.assignments)
    if assigned == 0:
        return f"Hosts · none assigned ({view.matching_hosts} matching)"
    return f"Hosts · {assigned} assigned of {view.matching_hosts} matching · enter: host"


class DeploymentScreen(AssignmentsScreen):
    """A deployment and its assignments, polled while shown."""

    OTHER_SIDE = "host"
    SECTION = "Hosts"

    def __init__(self, session: Session, name: str) -> None:
        super().__init__(session)
        self.deployment_name = name
        self.title = f"Flightdeck ▸ {DEPLOYMENTS_VIEW} ▸ {name}"

    def overview(self) -> Widget:
        return DeploymentOverview(classes="placement-overview")

    def load_failed_title(self) -> str:
        return f"Deployment {self.deployment_name} not refreshed"

    async def load(self) -> None:
        view = await self.session.client.deployment(self.deployment_name)
        self.query_one(DeploymentOverview).view = view
        self.show(view.assignments, hosts_heading(view))

    def open(self, assignment: Assignment) -> None:
        from tui.screens.host_screen import HostScreen  # the host's page opens deployments

        self.app.push_screen(HostScreen(self.session, assignment.host))
