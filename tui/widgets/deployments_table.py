"""Deployments as a table: the workload each renders from which template onto which target's
hosts (all of them, or `replicas` of them), its revision and its values."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, ClassVar

from textual.binding import Binding, BindingType

from backend.domains.placement.model import Deployment, labels_text
from tui.time_format import format_age, utc_now
from tui.tones import MUTED_STYLE
from tui.widgets.keyed_table import Cells, KeyedRows, KeyedTable, cell

DEPLOYMENTS_COLUMNS = (
    ("deployment", "name"),
    ("workload", "workload"),
    ("template", "template"),
    ("target", "target"),
    ("replicas", "replicas"),
    ("revision", "revision"),
    ("updated", "updated"),
    ("values", "values"),
)
COMPACT_WIDTHS = {
    "name": 12,
    "template": 12,
    "target": 8,
    "replicas": 4,
    "revision": 5,
    "updated": 4,
}
ALL_HOSTS = "all"
"""`replicas` when the deployment goes to every host its target matches."""


def replicas_text(replicas: int | None) -> str:
    """`all` (every matching host) or the number of hosts."""
    return ALL_HOSTS if replicas is None else str(replicas)


def deployment_cells(deployment: Deployment, now: datetime, *, compact: bool = False) -> Cells:
    """The cells of one deployment."""
    age = format_age(deployment.updated_at, now)
    values = labels_text(deployment.values)
    return (
        cell(deployment.name, "bold"),
        cell(deployment.workload),
        cell(deployment.template),
        cell(deployment.target),
        cell(replicas_text(deployment.replicas)),
        cell(f"#{deployment.revision}"),
        cell(age if compact else f"{age} ago", MUTED_STYLE),
        cell(values or "—", "" if values else MUTED_STYLE),
    )


class DeploymentsTable(KeyedTable):
    """Deployments by name, keyed by name."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select_cursor", "Deployment"),
    ]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(DEPLOYMENTS_COLUMNS, stretch="values", **kwargs)
        self.deployments: list[Deployment] = []

    def compact_widths(self, width: int) -> dict[str, int]:
        return COMPACT_WIDTHS

    def compact_labels(self) -> dict[str, str]:
        return {"replicas": "reps", "revision": "rev", "updated": "age"}

    def render_rows(self) -> KeyedRows:
        now = utc_now()
        return [(d.name, deployment_cells(d, now, compact=self.compact)) for d in self.deployments]

    def show(self, deployments: Sequence[Deployment]) -> None:
        """Show these deployments, in this order."""
        self.deployments = list(deployments)
        self.sync(self.render_rows())

    @property
    def selected(self) -> Deployment | None:
        """The deployment under the cursor."""
        key = self.selected_key
        return next((d for d in self.deployments if d.name == key), None)
