"""Assignments (a deployment on a host) as a table, with how far each one's newest change got
end to end: committed to the store (orange: waiting for the change processor), event sent to the
host's topic (working), deployed (green: the host reported it runs that revision)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, ClassVar, Literal

from rich.text import Text
from textual.binding import Binding, BindingType

from backend.domain.entity import Tone
from backend.domains.placement.model import Assignment, AssignmentState
from tui.time_format import format_age, format_clock, utc_now
from tui.tones import MUTED_STYLE, tone_style
from tui.widgets.keyed_table import Cells, KeyedRows, KeyedTable, cell

STATE_TONES: dict[AssignmentState, Tone] = {
    AssignmentState.COMMITTED: Tone.WAITING,
    AssignmentState.EVENT_SENT: Tone.WORKING,
    AssignmentState.DEPLOYED: Tone.GOOD,
}
STATE_NOTES: dict[AssignmentState, str] = {
    AssignmentState.COMMITTED: "waiting for the change processor to send it",
    AssignmentState.EVENT_SENT: "sent to the host; not reported deployed yet",
    AssignmentState.DEPLOYED: "the host runs this revision",
}

By = Literal["deployment", "host"]
"""What names a row: the deployment (on a host's page) or the host (on a deployment's)."""


def state_style(state: AssignmentState) -> str:
    """The colour of an end-to-end state."""
    return tone_style(STATE_TONES.get(state, Tone.NEUTRAL))


def state_text(state: AssignmentState) -> Text:
    """An end-to-end state in its colour."""
    return cell(state.value, state_style(state))


def revision_text(revision: int | None, style: str = "") -> Text:
    """`#12` (a change-log sequence number), or a dash."""
    return cell("—", MUTED_STYLE) if revision is None else cell(f"#{revision}", style)


def deployed_revision_text(assignment: Assignment) -> Text:
    """The revision the host reported it runs: green when current, muted when older."""
    deployed = assignment.deployed_revision
    current = deployed is not None and deployed >= assignment.revision
    return revision_text(deployed, state_style(AssignmentState.DEPLOYED) if current else "")


def assignment_note(assignment: Assignment) -> str:
    """What the state means, and what the host still runs while it is behind."""
    note = STATE_NOTES.get(assignment.state, "")
    deployed = assignment.deployed_revision
    if assignment.state is not AssignmentState.DEPLOYED and deployed is not None:
        note = f"{note} (runs #{deployed})"
    return note


def assignment_cells(
    assignment: Assignment, by: By, now: datetime, *, compact: bool = False
) -> Cells:
    """The cells of one assignment."""
    name = assignment.deployment if by == "deployment" else assignment.host
    deployed_at = assignment.deployed_at
    age = format_age(assignment.assigned_at, now)
    return (
        cell(name, "bold"),
        state_text(assignment.state),
        revision_text(assignment.revision),
        deployed_revision_text(assignment),
        cell(format_clock(deployed_at, now), "" if deployed_at else MUTED_STYLE),
        cell(age if compact else f"{age} ago", MUTED_STYLE),
        cell(assignment_note(assignment), MUTED_STYLE),
    )


class AssignmentsTable(KeyedTable):
    """One host's deployments, or one deployment's hosts (`by`), keyed by that name; Enter
    opens the row's deployment or host."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select_cursor", "Open"),
    ]

    def __init__(self, by: By, **kwargs: Any) -> None:
        columns = (
            (by, "name"),
            ("state", "state"),
            ("revision", "revision"),
            ("deployed", "deployed"),
            ("deployed at", "deployed_at"),
            ("assigned", "assigned"),
            ("what it means", "note"),
        )
        super().__init__(columns, stretch="note", **kwargs)
        self.by: By = by
        self.assignments: list[Assignment] = []

    def compact_widths(self, width: int) -> dict[str, int]:
        return {
            "name": 12,
            "state": 10,
            "revision": 5,
            "deployed": 5,
            "deployed_at": 8,
            "assigned": 5,
        }

    def compact_labels(self) -> dict[str, str]:
        return {
            "revision": "rev",
            "deployed": "runs",
            "deployed_at": "deployed",
            "assigned": "since",
            "note": "meaning",
        }

    def render_rows(self) -> KeyedRows:
        now = utc_now()
        return [
            (self.key_of(a), assignment_cells(a, self.by, now, compact=self.compact))
            for a in self.assignments
        ]

    def key_of(self, assignment: Assignment) -> str:
        """The row key: the deployment's name, or the host's."""
        return assignment.deployment if self.by == "deployment" else assignment.host

    def show(self, assignments: Sequence[Assignment]) -> None:
        """Show these assignments, in this order."""
        self.assignments = list(assignments)
        self.sync(self.render_rows())

    @property
    def selected(self) -> Assignment | None:
        """The assignment under the cursor."""
        key = self.selected_key
        return next((a for a in self.assignments if self.key_of(a) == key), None)
