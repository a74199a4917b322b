"""Hosts as a table: each host's labels, how many deployments it has and how many of them it runs
at their current revision (green when all, orange while behind), the newest change that reached
it and when its agent last reported."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType

from backend.domain.entity import Tone
from backend.domains.placement.model import HostRow, labels_text
from tui.time_format import format_age, utc_now
from tui.tones import MUTED_STYLE, tone_style
from tui.widgets.keyed_table import Cells, KeyedRows, KeyedTable, cell

HOSTS_COLUMNS = (
    ("host", "name"),
    ("labels", "labels"),
    ("deployments", "deployments"),
    ("deployed", "deployed"),
    ("last change", "change"),
    ("agent", "agent"),
)
COMPACT_WIDTHS = {"name": 12, "deployments": 4, "deployed": 8, "agent": 8}
ALL_DEPLOYED_STYLE = tone_style(Tone.GOOD)
BEHIND_STYLE = tone_style(Tone.WAITING)
NO_AGENT = "no agent"


def deployed_style(deployed: int, deployments: int) -> str:
    """Green when the host runs every deployment at its current revision, orange while it is
    behind, muted when it has none."""
    if deployments == 0:
        return MUTED_STYLE
    return ALL_DEPLOYED_STYLE if deployed >= deployments else BEHIND_STYLE


def deployed_text(deployed: int, deployments: int) -> Text:
    """`n/m`: of the host's deployments, how many run their current revision."""
    return cell(f"{deployed}/{deployments}", deployed_style(deployed, deployments))


def last_change_text(row: HostRow, now: datetime, *, compact: bool = False) -> Text:
    """`update deployment prod · 3m ago`, or a dash when no change reached the host."""
    if not row.last_change:
        return cell("—", MUTED_STYLE)
    text = Text(no_wrap=True, overflow="ellipsis", end="")
    text.append(row.last_change)
    if row.last_change_at is not None:
        age = format_age(row.last_change_at, now)
        text.append(f" · {age}" if compact else f" · {age} ago", style=MUTED_STYLE)
    return text


def agent_text(seen_at: datetime | None, now: datetime, *, compact: bool = False) -> Text:
    """When the host's agent last reported (`seen 5s ago`), or `no agent`."""
    if seen_at is None:
        return cell("none" if compact else NO_AGENT, MUTED_STYLE)
    age = format_age(seen_at, now)
    return cell(f"{age} ago" if compact else f"seen {age} ago")


def host_cells(row: HostRow, now: datetime, *, compact: bool = False) -> Cells:
    """The cells of one host."""
    everything = row.deployments > 0 and row.deployed >= row.deployments
    return (
        cell(row.name, f"bold {ALL_DEPLOYED_STYLE}" if everything else "bold"),
        cell(labels_text(row.labels) or "—", "" if row.labels else MUTED_STYLE),
        cell(str(row.deployments), "" if row.deployments else MUTED_STYLE),
        deployed_text(row.deployed, row.deployments),
        last_change_text(row, now, compact=compact),
        agent_text(row.agent_seen_at, now, compact=compact),
    )


class HostsTable(KeyedTable):
    """Hosts by name, keyed by name."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select_cursor", "Host"),
    ]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(HOSTS_COLUMNS, stretch="labels", **kwargs)
        self.rows_shown: list[HostRow] = []

    def compact_widths(self, width: int) -> dict[str, int]:
        return COMPACT_WIDTHS

    def compact_labels(self) -> dict[str, str]:
        return {"deployments": "deps", "deployed": "deployed", "change": "last change"}

    def render_rows(self) -> KeyedRows:
        now = utc_now()
        return [(row.name, host_cells(row, now, compact=self.compact)) for row in self.rows_shown]

    def show(self, rows: Sequence[HostRow]) -> None:
        """Show these hosts, in this order."""
        self.rows_shown = list(rows)
        self.sync(self.render_rows())

    @property
    def selected_row(self) -> HostRow | None:
        """The host under the cursor."""
        key = self.selected_key
        return next((row for row in self.rows_shown if row.name == key), None)
