"""The main view: every lab with its live phase and percent, and the keys to act on them."""

from __future__ import annotations

from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Footer, Header, Static
from textual.worker import Worker

from backend.domain.audit import ActionResult
from backend.domain.labs import Lab, LabStatus
from tui.client import FlightdeckClient
from tui.connection import BackendLost, BackendReached, ConnectionState
from tui.errors import BackendUnreachable, FlightdeckError
from tui.live_progress import progress_view
from tui.screens.cancel_screen import CancelScreen
from tui.screens.lab_actions import cancel_refusal, review_refusal
from tui.screens.lab_detail_screen import LabDetailScreen
from tui.screens.new_lab_screen import NewLabScreen
from tui.screens.review_screen import ReviewScreen
from tui.state_styles import status_label
from tui.time_format import utc_now
from tui.widgets.connection_status import ConnectionStatus
from tui.widgets.labs_table import LabsTable

STATUS_FILTERS: tuple[LabStatus | None, ...] = (
    None,
    LabStatus.AWAITING_REVIEW,
    LabStatus.PROVISIONING,
    LabStatus.VALIDATING,
    LabStatus.RUNNING,
    LabStatus.QUEUED,
    LabStatus.FAILED,
    LabStatus.CANCELLED,
    LabStatus.EXPIRED,
)
"""What `s` cycles through: all labs, then one status at a time."""


class LabsScreen(Screen[None]):
    """Lists labs, polls the backend every `refresh_interval` seconds, and opens the actions."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n", "new_lab", "New"),
        Binding("r", "review", "Review"),
        Binding("c", "cancel_lab", "Cancel"),
        Binding("s", "cycle_filter", "Filter"),
        Binding("f5,ctrl+r", "refresh", "Refresh"),
        Binding("q", "app.quit", "Quit"),
    ]

    def __init__(
        self, client: FlightdeckClient, *, user: str, refresh_interval: float = 1.0
    ) -> None:
        super().__init__()
        self.client = client
        self.user = user
        self.refresh_interval = refresh_interval
        self.labs: dict[str, Lab] = {}
        self.status_filter: LabStatus | None = None
        self.loaded = False
        self._refresh_worker: Worker[None] | None = None
        self._last_error: str | None = None
        self._select_after_refresh: str | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Labs", id="labs-heading")
        yield LabsTable(id="labs")
        yield ConnectionStatus(id="connection")
        yield Footer()

    def on_mount(self) -> None:
        self.watch(self.app, "connection_state", self._show_connection_state)
        self.set_interval(self.refresh_interval, self._poll)
        self._poll()

    @property
    def table(self) -> LabsTable:
        """The labs table."""
        return self.query_one(LabsTable)

    @property
    def selected_lab(self) -> Lab | None:
        """The lab under the cursor, as last fetched."""
        lab_id = self.table.selected_lab_id
        return self.labs.get(lab_id) if lab_id else None

    def _show_connection_state(self, state: ConnectionState) -> None:
        self.query_one(ConnectionStatus).state = state

    def on_screen_resume(self) -> None:
        """Back from the details: refresh at once rather than at the next tick."""
        if self.loaded:
            self._poll()

    def _poll(self) -> None:
        """Start a refresh unless one is in flight (a slow backend must not pile them up) or
        another full screen covers this one (dialogs leave the list visible, so it stays live)."""
        if self._refresh_worker is not None and not self._refresh_worker.is_finished:
            return
        if self._covered():
            return
        self._refresh_worker = self.refresh_labs()

    def _covered(self) -> bool:
        for screen in reversed(self.app.screen_stack):
            if screen is self:
                return False
            if not isinstance(screen, ModalScreen):
                return True
        return False

    @work(exclusive=True, group="labs-refresh")
    async def refresh_labs(self) -> None:
        """Fetch the labs (exact progress for those on screen) and show them."""
        table = self.table
        try:
            answer = await self.client.list_labs(
                live=table.live_lab_ids(), status=self.status_filter
            )
        except BackendUnreachable as exc:
            self.post_message(BackendLost(exc.message))
            return
        except FlightdeckError as exc:
            self.post_message(BackendReached())
            if exc.message != self._last_error:
                self.notify(exc.message, title="Labs not refreshed", severity="error", markup=False)
            self._last_error = exc.message
            return
        self.post_message(BackendReached())
        self._last_error = None
        self.loaded = True
        now = utc_now()
        self.labs = {lab.id: lab for lab in answer.items}
        table.show_labs(answer.items, now)
        if self._select_after_refresh and table.select_key(self._select_after_refresh):
            self._select_after_refresh = None
        self.query_one(ConnectionStatus).updated_at = now
        self._show_heading(answer.items, answer.total)

    def _show_heading(self, labs: list[Lab], total: int) -> None:
        shown = "all labs" if self.status_filter is None else status_label(self.status_filter)
        awaiting = sum(1 for lab in labs if progress_view(lab).awaits_review)
        parts = [f"Labs · {shown} ({total})"]
        if awaiting:
            parts.append(f"{awaiting} awaiting review")
        if not labs and self.status_filter is None:
            parts.append("none yet — press n to create one")
        elif not labs:
            parts.append("none with this status — press s for the next filter")
        self.query_one("#labs-heading", Static).update(" · ".join(parts))

    @on(DataTable.RowSelected, "#labs")
    def _open_details(self, event: DataTable.RowSelected) -> None:
        lab = self.labs.get(str(event.row_key.value))
        if lab is not None:
            self.app.push_screen(
                LabDetailScreen(
                    self.client, lab, user=self.user, refresh_interval=self.refresh_interval
                )
            )

    def action_refresh(self) -> None:
        """Refresh now, replacing any refresh in flight."""
        self._refresh_worker = self.refresh_labs()

    def action_cycle_filter(self) -> None:
        """Show all labs, then only one status at a time."""
        index = STATUS_FILTERS.index(self.status_filter)
        self.status_filter = STATUS_FILTERS[(index + 1) % len(STATUS_FILTERS)]
        label = "all labs" if self.status_filter is None else status_label(self.status_filter)
        self.notify(f"Showing {label}", timeout=2)
        self.action_refresh()

    def action_new_lab(self) -> None:
        self.app.push_screen(NewLabScreen(self.client, self.user), self._after_create)

    def _after_create(self, lab: Lab | None) -> None:
        if lab is not None:
            self._select_after_refresh = lab.id
            self.action_refresh()

    def action_review(self) -> None:
        """Open the review dialog for the selected lab, if it is waiting for one."""
        lab = self._lab_to_act_on()
        if lab is None:
            return
        refusal = review_refusal(lab)
        if refusal is not None:
            self.notify(refusal, title="Nothing to review", severity="warning", markup=False)
            return
        self.app.push_screen(ReviewScreen(self.client, lab, self.user), self._after_action)

    def action_cancel_lab(self) -> None:
        """Ask to confirm cancelling the selected lab, if it is still active."""
        lab = self._lab_to_act_on()
        if lab is None:
            return
        refusal = cancel_refusal(lab)
        if refusal is not None:
            self.notify(refusal, title="Nothing to cancel", severity="warning", markup=False)
            return
        self.app.push_screen(CancelScreen(self.client, lab, self.user), self._after_action)

    def _lab_to_act_on(self) -> Lab | None:
        lab = self.selected_lab
        if lab is None:
            self.notify("No lab selected", severity="warning")
        return lab

    def _after_action(self, result: ActionResult | None) -> None:
        if result is not None:
            self.action_refresh()
