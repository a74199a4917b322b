"""What a host's page and a deployment's page share: an overview above, the assignments that
join the two below (each with how far its newest change got), Enter on one opens the other
side, Esc goes back."""

from __future__ import annotations

from typing import ClassVar, Literal

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widget import Widget
from textual.widgets import DataTable, Footer, Header, Label

from backend.domains.placement.model import Assignment
from tui.screens.polling_screen import PollingScreen
from tui.widgets.assignments_table import AssignmentsTable
from tui.widgets.connection_status import ConnectionStatus


class AssignmentsScreen(PollingScreen):
    """One host or one deployment and its assignments, polled while shown."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back"),
        Binding("q", "app.quit", "Quit", priority=True),
    ]
    AUTO_FOCUS = "#assignments"
    OTHER_SIDE: ClassVar[Literal["deployment", "host"]]
    """The assignment's column naming the other side (`deployment` on a host's page)."""
    SECTION: ClassVar[str]
    """The heading above the assignments until the first answer."""

    def overview(self) -> Widget:
        """The widget above the assignments."""
        raise NotImplementedError

    def open(self, assignment: Assignment) -> None:
        """Open the other side of `assignment`."""
        raise NotImplementedError

    def compose(self) -> ComposeResult:
        yield Header()
        yield self.overview()
        yield Label(Text(self.SECTION), classes="placement-section", id="assignments-heading")
        yield AssignmentsTable(self.OTHER_SIDE, id="assignments", classes="view-table")
        yield ConnectionStatus()
        yield Footer()

    @property
    def table(self) -> AssignmentsTable:
        """The assignments."""
        return self.query_one(AssignmentsTable)

    def show(self, assignments: list[Assignment], heading: str) -> None:
        """Show the assignments under `heading`."""
        self.table.show(assignments)
        self.query_one("#assignments-heading", Label).update(Text(heading))

    @on(DataTable.RowSelected, "#assignments")
    def _open_selected(self) -> None:
        assignment = self.table.selected
        if assignment is not None:
            self.open(assignment)

    def action_back(self) -> None:
        """Back to where this came from."""
        self.dismiss(None)
