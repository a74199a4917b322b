"""The Flightdeck TUI: a full-screen, keyboard-only Textual app over the backend's HTTP API."""

from __future__ import annotations

import getpass
import os
from pathlib import Path

import httpx
from textual.app import App
from textual.reactive import reactive
from textual.screen import Screen

from tui.client import FlightdeckClient
from tui.connection import BackendLost, BackendReached, ConnectionState
from tui.screens.labs_screen import LabsScreen


def default_user() -> str:
    """Who is at the keyboard: `$USER`, else the login name, else `unknown`."""
    user = os.environ.get("USER", "").strip()
    if user:
        return user
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "unknown"


class FlightdeckApp(App[None]):
    """Lists labs with live phase and percent complete; review and cancel them from the keyboard.

    Talks to the backend only through `FlightdeckClient`; `transport` lets tests serve the API
    in-process (`httpx.ASGITransport(app)`) and `refresh_interval` is how often (in seconds) the
    screens poll it.
    """

    CSS_PATH = Path(__file__).with_name("app.tcss")
    TITLE = "Flightdeck"

    connection_state: reactive[ConnectionState] = reactive(ConnectionState.CONNECTING)
    """Whether the backend answers; screens report every request's fate with messages."""

    def __init__(
        self,
        api_url: str,
        token: str | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        refresh_interval: float = 1.0,
        user: str | None = None,
    ) -> None:
        super().__init__()
        self.api_url = api_url
        self.refresh_interval = refresh_interval
        self.user = user or default_user()
        self.client = FlightdeckClient(api_url, token, transport=transport)
        self.sub_title = self._describe_connection()

    def get_default_screen(self) -> Screen[None]:
        return LabsScreen(self.client, user=self.user, refresh_interval=self.refresh_interval)

    async def on_unmount(self) -> None:
        await self.client.aclose()

    def on_backend_reached(self, _: BackendReached) -> None:
        """A request got an answer: say so if we had lost the backend."""
        if self.connection_state is ConnectionState.DISCONNECTED:
            self.notify(f"Reconnected to {self.api_url}", markup=False)
        self.connection_state = ConnectionState.CONNECTED

    def on_backend_lost(self, message: BackendLost) -> None:
        """A request got no answer: tell the user once, then keep retrying quietly."""
        if self.connection_state is not ConnectionState.DISCONNECTED:
            self.notify(
                f"{message.reason}. Showing the last data; retrying.",
                title="Backend unreachable",
                severity="error",
                markup=False,
            )
        self.connection_state = ConnectionState.DISCONNECTED

    def watch_connection_state(self) -> None:
        self.sub_title = self._describe_connection()

    def _describe_connection(self) -> str:
        return f"{self.connection_state.value} · {self.api_url}"


def run_tui(api_url: str, token: str | None = None) -> None:
    """Run the TUI in the foreground against the backend at `api_url` until the user quits."""
    FlightdeckApp(api_url, token).run()
