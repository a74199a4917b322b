"""The heads of a host's and a deployment's detail views: their fields, and how many of their
assignments are in each end-to-end state (committed, event sent, deployed)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime

from rich.console import RenderableType
from rich.table import Table
from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

from backend.domains.placement.model import (
    Assignment,
    AssignmentState,
    DeploymentView,
    HostView,
    labels_text,
)
from tui.time_format import format_age, format_clock, utc_now
from tui.tones import MUTED_STYLE
from tui.widgets.assignments_table import state_style
from tui.widgets.hosts_table import deployed_style

NARROW = 100
"""Below this width the fields are listed in one column pair instead of two."""

Pair = tuple[str, Text]


def field_grid(pairs: Sequence[Pair], *, wide: bool) -> Table:
    """`name value` pairs, two to a line when `wide`."""
    grid = Table.grid(padding=(0, 2))
    step = 2 if wide else 1
    for _ in range(step):
        grid.add_column(style=MUTED_STYLE, no_wrap=True)
        grid.add_column(overflow="fold")
    for index in range(0, len(pairs), step):
        row: list[Text] = []
        for name, shown in pairs[index : index + step]:
            row += [Text(name), shown]
        grid.add_row(*row)
    return grid


def moment_text(moment: datetime, now: datetime) -> Text:
    """`14:03:09 (5m ago)`."""
    return Text(f"{format_clock(moment, now)} ({format_age(moment, now)} ago)")


def states_text(assignments: Sequence[Assignment]) -> Text:
    """`2 deployed · 1 event sent · 1 committed`, each in its colour (the empty ones left out)."""
    counts = Counter(a.state for a in assignments)
    text = Text()
    for state in (AssignmentState.DEPLOYED, AssignmentState.EVENT_SENT, AssignmentState.COMMITTED):
        if not counts[state]:
            continue
        if text:
            text.append(" · ", style=MUTED_STYLE)
        text.append(f"{counts[state]} {state.value}", style=state_style(state))
    return text if text else Text("none assigned", style=MUTED_STYLE)


def deployed_count_text(assignments: Sequence[Assignment]) -> Text:
    """`1/2 deployed`: how many run their current revision, green when all, orange when not."""
    deployed = sum(1 for a in assignments if a.state is AssignmentState.DEPLOYED)
    total = len(assignments)
    return Text(f"{deployed}/{total} deployed", style=deployed_style(deployed, total))


class HostOverview(Static):
    """One host: its labels, its deployments and its agent's last report; set `view`."""

    view: reactive[HostView | None] = reactive(None, always_update=True)

    def render(self) -> RenderableType:
        view = self.view
        if view is None:
            return Text("loading…", style=MUTED_STYLE)
        now = utc_now()
        host = view.host
        if view.agent_seen_at is None:
            agent = Text("no agent has reported", style=MUTED_STYLE)
        else:
            agent = Text(f"seen {format_age(view.agent_seen_at, now)} ago")
            if view.agent_bookmark is not None:
                agent.append(f" · at bookmark #{view.agent_bookmark}", style=MUTED_STYLE)
        labels = labels_text(host.labels)
        pairs: list[Pair] = [
            ("labels", Text(labels) if labels else Text("none", style=MUTED_STYLE)),
            ("deployments", deployed_count_text(view.assignments)),
            ("agent", agent),
            ("states", states_text(view.assignments)),
            ("created", moment_text(host.created_at, now)),
            ("updated", moment_text(host.updated_at, now)),
            ("revision", Text(f"#{host.revision}")),
        ]
        return field_grid(pairs, wide=self.size.width >= NARROW)


class DeploymentOverview(Static):
    """One deployment: what it renders from what, where to, with which values, and the hosts
    it reaches; set `view`."""

    view: reactive[DeploymentView | None] = reactive(None, always_update=True)

    def render(self) -> RenderableType:
        view = self.view
        if view is None:
            return Text("loading…", style=MUTED_STYLE)
        now = utc_now()
        deployment = view.deployment
        repo = Text(view.repo) if view.repo is not None else Text("—", style=MUTED_STYLE)
        target = Text(deployment.target)
        if view.target_labels is not None:
            target.append(f" · {labels_text(view.target_labels)}", style=MUTED_STYLE)
        values = labels_text(deployment.values)
        replicas = deployment.replicas
        hosts = Text(f"{view.matching_hosts} matching · {len(view.assignments)} assigned · ")
        hosts.append_text(deployed_count_text(view.assignments))
        pairs: list[Pair] = [
            ("workload", Text(deployment.workload)),
            ("template", Text(deployment.template)),
            ("repository", repo),
            ("values", Text(values) if values else Text("none", style=MUTED_STYLE)),
            ("target", target),
            (
                "replicas",
                Text(
                    "all matching hosts"
                    if replicas is None
                    else f"{replicas} of the matching hosts"
                ),
            ),
            ("hosts", hosts),
            ("states", states_text(view.assignments)),
            ("revision", Text(f"#{deployment.revision}")),
            ("updated", moment_text(deployment.updated_at, now)),
            ("created", moment_text(deployment.created_at, now)),
        ]
        return field_grid(pairs, wide=self.size.width >= NARROW)
