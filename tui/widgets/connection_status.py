"""One line that says whether the backend answers, takes our token, and how fresh the data is."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

from tui.connection import ConnectionState
from tui.time_format import format_clock, utc_now


class ConnectionStatus(Static):
    """`● connected · updated 14:03:09`, `○ disconnected — retrying · showing data from …`, or
    a lasting red banner while the token is refused; set `state` and `updated_at`."""

    state: reactive[ConnectionState] = reactive(ConnectionState.CONNECTING)
    updated_at: reactive[datetime | None] = reactive(None)

    def watch_state(self, state: ConnectionState) -> None:
        self.set_class(state is ConnectionState.TOKEN_REFUSED, "-refused")
        self.set_class(state is ConnectionState.DISCONNECTED, "-disconnected")

    def render(self) -> Text:
        now = utc_now()
        text = Text(no_wrap=True, overflow="ellipsis")
        if self.state is ConnectionState.CONNECTED:
            text.append("● connected", style="green")
            if self.updated_at is not None:
                text.append(f" · updated {format_clock(self.updated_at, now)}", style="dim")
        elif self.state is ConnectionState.DISCONNECTED:
            text.append("○ disconnected — retrying", style="bold")
            if self.updated_at is not None:
                text.append(f" · showing data from {format_clock(self.updated_at, now)}")
        elif self.state is ConnectionState.TOKEN_REFUSED:
            text.append(self.state.value, style="bold")
        else:
            text.append("… connecting", style="yellow")
        return text
