"""One line that says whether the backend answers and how fresh the data on screen is."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

from tui.connection import ConnectionState
from tui.time_format import format_clock, utc_now


class ConnectionStatus(Static):
    """Shows `● connected · updated 14:03:09` or `○ disconnected — retrying · data from 14:02:51`."""

    state: reactive[ConnectionState] = reactive(ConnectionState.CONNECTING)
    updated_at: reactive[datetime | None] = reactive(None)
    detail: reactive[str] = reactive("")

    def render(self) -> Text:
        now = utc_now()
        text = Text(no_wrap=True, overflow="ellipsis")
        if self.state is ConnectionState.CONNECTED:
            text.append("● connected", style="green")
            if self.updated_at is not None:
                text.append(f" · updated {format_clock(self.updated_at, now)}", style="dim")
        elif self.state is ConnectionState.DISCONNECTED:
            text.append("○ disconnected — retrying", style="bold red")
            if self.updated_at is not None:
                text.append(f" · showing data from {format_clock(self.updated_at, now)}")
        else:
            text.append("… connecting", style="yellow")
        if self.detail:
            text.append(f" · {self.detail}", style="dim")
        return text
