"""A modal that keeps what is typed before its first field has focus.

Keys pressed right after the key that opened a dialog (`:ten⏎`, `r` then `a`, often one burst
over SSH) reach the new screen before any widget in it has focus, and Textual would drop them.
This screen holds them and, once its first field has focus, sends them again in order.
"""

from __future__ import annotations

from typing import TypeVar

from textual import events
from textual.screen import ModalScreen
from textual.widget import Widget

ResultT = TypeVar("ResultT")


class TypeAheadScreen(ModalScreen[ResultT]):
    """A ModalScreen whose early keys go to the widget passed to `take_focus`, then on."""

    def __init__(self) -> None:
        super().__init__()
        self._early_keys: list[events.Key] = []
        self._focus_taken = False

    def _forward_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key) and not self._focus_taken:
            self._early_keys.append(event)
            return
        super()._forward_event(event)

    def take_focus(self, widget: Widget | None) -> None:
        """Focus `widget` and send the keys typed so far again, as if typed now."""
        self._focus_taken = True
        if widget is not None:
            self.set_focus(widget)
        early, self._early_keys = self._early_keys, []
        for key in early:
            self.app.post_message(events.Key(key.key, key.character))
