"""What shows while the app asks the backend which view to open first."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from tui.connection import ConnectionState
from tui.widgets.connection_status import ConnectionStatus


class StartScreen(Screen[None]):
    """`Connecting to …`, until the first view opens."""

    def __init__(self, api_url: str) -> None:
        super().__init__()
        self.api_url = api_url
        self.title = "Flightdeck"

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(Text(f"Connecting to {self.api_url} …"), classes="view-heading")
        yield Static("", classes="view-table")
        yield ConnectionStatus()
        yield Footer()

    def on_mount(self) -> None:
        self.watch(self.app, "connection_state", self._show_connection_state)

    def _show_connection_state(self, state: ConnectionState) -> None:
        self.query_one(ConnectionStatus).state = state
