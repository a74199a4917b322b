"""One lab in full: fields, live percent, steps, what it awaits, its last error and review history."""

from __future__ import annotations

from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, Label
from textual.worker import Worker

from backend.domain.audit import ActionResult
from backend.domain.labs import Lab
from tui.client import FlightdeckClient
from tui.connection import BackendLost, BackendReached, ConnectionState
from tui.errors import BackendUnreachable, FlightdeckError
from tui.screens.cancel_screen import CancelScreen
from tui.screens.lab_actions import cancel_refusal, review_refusal
from tui.screens.review_screen import ReviewScreen
from tui.time_format import utc_now
from tui.widgets.connection_status import ConnectionStatus
from tui.widgets.decisions_table import DecisionsTable
from tui.widgets.lab_overview import LabOverview
from tui.widgets.steps_table import StepsTable


class LabDetailScreen(Screen[None]):
    """Shows one lab and polls its exact progress; `r` / `c` act on it, Esc goes back."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back"),
        Binding("r", "review", "Review"),
        Binding("c", "cancel_lab", "Cancel"),
        Binding("f5,ctrl+r", "refresh", "Refresh"),
    ]

    def __init__(
        self, client: FlightdeckClient, lab: Lab, *, user: str, refresh_interval: float = 1.0
    ) -> None:
        super().__init__()
        self.client = client
        self.lab = lab
        self.user = user
        self.refresh_interval = refresh_interval
        self.title = f"Flightdeck ▸ labs ▸ {lab.name}"
        self._refresh_worker: Worker[None] | None = None
        self._last_error: str | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="lab-detail"):
            yield LabOverview(id="overview")
            yield Label("Steps", classes="section-title")
            yield StepsTable(id="steps")
            yield Label("Review history", classes="section-title")
            yield DecisionsTable(id="decisions")
        yield ConnectionStatus(id="connection")
        yield Footer()

    def on_mount(self) -> None:
        self.watch(self.app, "connection_state", self._show_connection_state)
        self._show_lab(self.lab)
        self.set_interval(self.refresh_interval, self._poll)
        self._poll()

    def _show_connection_state(self, state: ConnectionState) -> None:
        self.query_one(ConnectionStatus).state = state

    def _show_lab(self, lab: Lab) -> None:
        now = utc_now()
        self.lab = lab
        self.query_one(LabOverview).lab = lab
        progress = lab.progress
        self.query_one(StepsTable).show_steps(progress.steps if progress else [], now)
        self.query_one(DecisionsTable).show_decisions(progress.decisions if progress else [], now)

    def _poll(self) -> None:
        if self._refresh_worker is not None and not self._refresh_worker.is_finished:
            return
        self._refresh_worker = self.refresh_lab()

    @work(exclusive=True, group="lab-refresh")
    async def refresh_lab(self) -> None:
        """Fetch this lab with its exact progress and show it."""
        try:
            lab = await self.client.get_lab(self.lab.id)
        except BackendUnreachable as exc:
            self.post_message(BackendLost(exc.message))
            return
        except FlightdeckError as exc:
            self.post_message(BackendReached())
            if exc.message != self._last_error:
                self.notify(
                    exc.message,
                    title=f"{self.lab.name} not refreshed",
                    severity="error",
                    markup=False,
                )
            self._last_error = exc.message
            return
        self.post_message(BackendReached())
        self._last_error = None
        self._show_lab(lab)
        self.query_one(ConnectionStatus).updated_at = utc_now()

    def action_back(self) -> None:
        self.dismiss(None)

    def action_refresh(self) -> None:
        self._refresh_worker = self.refresh_lab()

    def action_review(self) -> None:
        """Open the review dialog if this lab is waiting for a review."""
        refusal = review_refusal(self.lab)
        if refusal is not None:
            self.notify(refusal, title="Nothing to review", severity="warning", markup=False)
            return
        self.app.push_screen(ReviewScreen(self.client, self.lab, self.user), self._after_action)

    def action_cancel_lab(self) -> None:
        """Ask to confirm cancelling this lab if it is still active."""
        refusal = cancel_refusal(self.lab)
        if refusal is not None:
            self.notify(refusal, title="Nothing to cancel", severity="warning", markup=False)
            return
        self.app.push_screen(CancelScreen(self.client, self.lab, self.user), self._after_action)

    def _after_action(self, result: ActionResult | None) -> None:
        if result is not None:
            self.action_refresh()
