"""What every full screen of backend data shares: it polls while it is what the user sees,
reports each request's fate to the app (connection state), and shows how fresh it is."""

from __future__ import annotations

from typing import ClassVar

from textual import work
from textual.binding import Binding, BindingType
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.worker import Worker

from tui.connection import (
    BackendReached,
    ConnectionState,
    connection_message,
    is_connection_problem,
)
from tui.errors import FlightdeckError
from tui.session import Session
from tui.time_format import utc_now
from tui.widgets.connection_status import ConnectionStatus


class PollingScreen(Screen[None]):
    """Refreshes every `refresh_interval` seconds with `load` while visible (a screen covered by
    another full screen, or in a view switched away from, does not poll); f5 refreshes now."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f5,ctrl+r", "refresh", "Refresh"),
    ]

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session
        self.loaded = False
        """True once a load succeeded."""
        self._worker: Worker[None] | None = None
        self._last_error: str | None = None

    async def load(self) -> None:
        """Fetch what the screen shows and show it; raise `FlightdeckError` on failure."""
        raise NotImplementedError

    def load_failed_title(self) -> str:
        """The title of the notification when a refresh fails."""
        return "not refreshed"

    def on_mount(self) -> None:
        self.watch(self.app, "connection_state", self._show_connection_state)
        self.set_interval(self.session.refresh_interval, self.poll)
        self.poll()

    def on_screen_resume(self) -> None:
        """Back on screen (from a detail, or switched to): refresh at once."""
        if self.loaded:
            self.action_refresh()

    def _show_connection_state(self, state: ConnectionState) -> None:
        self.query_one(ConnectionStatus).state = state

    def poll(self) -> None:
        """Start a refresh unless one is in flight (a slow backend must not pile them up) or the
        screen is not visible (dialogs leave it visible, so it stays live under them)."""
        if self._worker is not None and not self._worker.is_finished:
            return
        if not self.is_current:
            return
        self._worker = self.reload()

    def action_refresh(self) -> None:
        """Refresh now, replacing any refresh in flight."""
        self._worker = self.reload()

    @work(exclusive=True, group="reload")
    async def reload(self) -> None:
        """Run `load` and report how it went."""
        try:
            await self.load()
        except NoMatches:
            # Closed while the answer was on its way (esc during a refresh): nothing to show.
            if self.is_current:
                raise
            return
        except FlightdeckError as exc:
            self.post_message(connection_message(exc))
            if not is_connection_problem(exc) and exc.message != self._last_error:
                self.notify(
                    exc.message, title=self.load_failed_title(), severity="error", markup=False
                )
            self._last_error = exc.message
            return
        self.post_message(BackendReached())
        self._last_error = None
        self.loaded = True
        for status in self.query(ConnectionStatus):
            status.updated_at = utc_now()
