"""The `:` command line at the bottom (as in k9s and vim): type a view name, Enter switches to it,
Esc closes; it dismisses with the view's name."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Input, Static

from tui.screens.type_ahead_screen import TypeAheadScreen
from tui.session import Session
from tui.widgets.command_input import CommandInput


class CommandLineScreen(TypeAheadScreen[str | None]):
    """Asks for a view; dismisses with its name, or None when closed with Esc."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close"),
    ]

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session

    def compose(self) -> ComposeResult:
        names = self.session.view_names
        with Vertical(id="command-line"):
            yield Static(
                Text(f"views: {' · '.join(names)}   tab completes · enter opens · esc closes"),
                id="command-help",
            )
            yield CommandInput(names, id="command", placeholder="view name", compact=True)

    def on_mount(self) -> None:
        self.take_focus(self.query_one(CommandInput))

    @on(Input.Submitted, "#command")
    def _open(self, event: Input.Submitted) -> None:
        event.stop()
        view = self.session.resolve_view(event.value)
        if view is None:
            typed = event.value.strip()
            known = ", ".join(self.session.view_names)
            self.notify(
                f"No view called {typed!r}; there are: {known}" if typed else f"Views: {known}",
                title="Unknown view",
                severity="warning",
                markup=False,
            )
            return
        self.dismiss(view)

    def action_close(self) -> None:
        """Close without switching."""
        self.dismiss(None)
