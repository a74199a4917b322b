"""Needs you: everything waiting for a person across every domain, oldest first, answered in
place with the keys of the selected item's domain (the same dialogs as everywhere else)."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Footer, Header, Static

from backend.domain.audit import ActionResult
from backend.domain.entities import NeedItem
from tui.action_rules import ActionTarget, role_refusal
from tui.screens.entity_actions import open_action
from tui.screens.entity_detail_screen import EntityDetailScreen
from tui.screens.polling_screen import PollingScreen
from tui.session import Session
from tui.time_format import format_age, utc_now
from tui.widgets.connection_status import ConnectionStatus
from tui.widgets.needs_table import NeedsTable


class NeedsScreen(PollingScreen):
    """Lists what waits for a person; the footer shows the keys of the selected item's domain."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "app.quit", "Quit", priority=True),
    ]

    def __init__(self, session: Session) -> None:
        super().__init__(session)
        self.title = "Flightdeck ▸ needs you"
        for spec in session.specs:
            for action in spec.actions:
                self._bindings.bind(
                    action.key,
                    f"act({spec.kind!r}, {action.name!r})",
                    action.label,
                    priority=True,
                )

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(Text("Needs you"), classes="view-heading", id="needs-heading")
        yield NeedsTable(self.session.specs, id="needs", classes="view-table")
        yield ConnectionStatus()
        yield Footer()

    @property
    def table(self) -> NeedsTable:
        """The needs table."""
        return self.query_one(NeedsTable)

    def load_failed_title(self) -> str:
        return "Needs you not refreshed"

    async def load(self) -> None:
        needs = await self.session.client.needs()
        self.table.show(needs.items)
        self._show_heading(needs.items, needs.total)
        self.refresh_bindings()

    def _show_heading(self, items: list[NeedItem], total: int) -> None:
        if not items:
            views = " ".join(f":{spec.plural}" for spec in self.session.specs)
            text = f"Needs you · nothing waits for a person — {views} to see everything"
        else:
            oldest = format_age(items[0].awaiting.since, utc_now())
            text = f"Needs you · {total} waiting · the oldest for {oldest} · enter: details"
        self.query_one("#needs-heading", Static).update(Text(text))

    @on(DataTable.RowHighlighted, "#needs")
    def _selection_moved(self) -> None:
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Offer an action key only for the selected item's domain and the actions it takes."""
        if action != "act":
            return True
        tables = self.query(NeedsTable)
        item = tables.first().selected_item if tables else None
        kind, name = parameters
        spec = self.session.spec_for_kind(str(kind))
        found = spec.action(str(name)) if spec else None
        if found is None or role_refusal(found, self.session.identity.me) is not None:
            return False
        return item is not None and item.kind == kind and name in item.actions

    def action_act(self, kind: str, name: str) -> None:
        """Open the dialog of action `name` for the selected item."""
        item = self.table.selected_item
        spec = self.session.spec_for_kind(kind)
        action = spec.action(name) if spec else None
        if item is None or spec is None or action is None:
            return
        open_action(self, self.session, spec, action, ActionTarget.of_need(item), self._after)

    def _after(self, result: ActionResult | None) -> None:
        self.action_refresh()

    @on(DataTable.RowSelected, "#needs")
    def _open_details(self) -> None:
        item = self.table.selected_item
        spec = self.session.spec_for_kind(item.kind) if item else None
        if item is None or spec is None:
            return
        self.app.push_screen(EntityDetailScreen(self.session, spec, item.id, item.name))
