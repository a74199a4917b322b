"""The audit log, newest first: who did what to which entity, what came of it, and from where;
`/` filters by target id (asked of the server), `]` / `[` page to older entries and back."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widgets import Footer, Header, Input, Label, Static

from tui.screens.polling_screen import PollingScreen
from tui.session import Session
from tui.widgets.audit_table import AuditTable
from tui.widgets.connection_status import ConnectionStatus

PAGE = 100


class AuditScreen(PollingScreen):
    """The whole audit log, or one target's, polled while shown."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "filter", "Filter", key_display="/"),
        Binding("escape", "clear_filter", "Clear filter", show=False),
        Binding("right_square_bracket", "older", "Older", key_display="]"),
        Binding("left_square_bracket", "newer", "Newer", key_display="["),
        Binding("q", "app.quit", "Quit"),
    ]
    AUTO_FOCUS = "#audit"

    def __init__(self, session: Session) -> None:
        super().__init__(session)
        self.title = "Flightdeck ▸ audit"
        self.target_id: str | None = None
        self.pages: list[int] = []
        """`before_id` of each older page shown, in order; empty: the newest entries."""
        self.has_more = False

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(Text("Audit log"), classes="view-heading", id="audit-heading")
        with Horizontal(id="audit-filter-bar"):
            yield Label(Text("target id "), classes="filter-label")
            yield Input(
                placeholder="/ then an entity id; enter applies, esc clears",
                id="audit-filter",
                compact=True,
            )
        yield AuditTable(id="audit", classes="view-table")
        yield ConnectionStatus()
        yield Footer()

    @property
    def before_id(self) -> int | None:
        """Where the page shown starts (None: the newest entries)."""
        return self.pages[-1] if self.pages else None

    def load_failed_title(self) -> str:
        return "Audit log not refreshed"

    async def load(self) -> None:
        answer = await self.session.client.audit(
            target_id=self.target_id, limit=PAGE, before_id=self.before_id
        )
        self.has_more = len(answer.items) >= PAGE
        self.query_one(AuditTable).show(answer.items)
        self._show_heading(len(answer.items))

    def _show_heading(self, shown: int) -> None:
        parts = ["Audit log · newest first"]
        if self.target_id:
            parts.append(f"target {self.target_id}")
        if self.pages:
            parts.append(f"page {len(self.pages) + 1} (older)")
        parts.append(f"{shown} shown" if shown else "nothing recorded")
        self.query_one("#audit-heading", Static).update(Text(" · ".join(parts)))

    def action_filter(self) -> None:
        """Type a target id to filter by."""
        self.query_one("#audit-filter", Input).focus()

    def action_clear_filter(self) -> None:
        """Show every target again."""
        self.query_one("#audit-filter", Input).value = ""
        self.query_one(AuditTable).focus()
        if self.target_id is not None or self.pages:
            self.target_id = None
            self.pages = []
            self.action_refresh()

    @on(Input.Submitted, "#audit-filter")
    def _apply_filter(self, event: Input.Submitted) -> None:
        event.stop()
        self.target_id = event.value.strip() or None
        self.pages = []
        self.query_one(AuditTable).focus()
        self.action_refresh()

    def action_older(self) -> None:
        """The page of entries older than the oldest one shown."""
        entries = self.query_one(AuditTable).entries
        if not entries or not self.has_more:
            self.notify("No older entries", timeout=2)
            return
        self.pages.append(entries[-1].id)
        self.action_refresh()

    def action_newer(self) -> None:
        """Back one page towards the newest entries."""
        if self.pages:
            self.pages.pop()
            self.action_refresh()
