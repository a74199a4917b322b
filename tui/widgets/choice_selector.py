"""A choice among a few values (a `StrEnum` or `Literal` field): one key per choice, shown next
to it, arrows to move; the chosen value is marked in text (`◉`), not by colour alone."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget

from tui.form_fields import choice_keys, choice_label

CHOSEN = "◉"
NOT_CHOSEN = "○"
GAP = "   "


class ChoiceSelector(Widget, can_focus=True):
    """Choose one of `choices` with its key or the arrows; `value` is the chosen one (or None)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("left,up", "move(-1)", "Previous", show=False),
        Binding("right,down", "move(1)", "Next", show=False),
    ]

    value: reactive[str | None] = reactive(None)

    class Changed(Message):
        """The chosen value changed."""

        def __init__(self, selector: ChoiceSelector, value: str | None) -> None:
            super().__init__()
            self.selector = selector
            self.value = value

        @property
        def control(self) -> ChoiceSelector:
            """The selector that changed."""
            return self.selector

    def __init__(
        self,
        choices: Sequence[str],
        value: str | None = None,
        *,
        taken: Sequence[str] = (),
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.choices = tuple(choices)
        self.labels = [choice_label(choice) for choice in self.choices]
        self.keys = choice_keys(self.labels, taken)
        self.set_reactive(ChoiceSelector.value, value if value in self.choices else None)

    def key_help(self) -> str:
        """The keys that work while this has focus: `a/c or ←→ choose` (each key is shown next
        to its choice)."""
        return f"{'/'.join(self.keys)} or ←→ choose"

    def watch_value(self, value: str | None) -> None:
        self.post_message(self.Changed(self, value))

    def action_move(self, step: int) -> None:
        """Choose the previous / next value (the first one if none is chosen yet)."""
        if self.value is None:
            self.value = self.choices[0 if step > 0 else -1]
            return
        index = self.choices.index(self.value)
        self.value = self.choices[(index + step) % len(self.choices)]

    def on_key(self, event: events.Key) -> None:
        character = (event.character or "").lower()
        if character and character in self.keys and event.key == event.character:
            self.value = self.choices[self.keys.index(character)]
            event.stop()
            event.prevent_default()

    def render(self) -> Text:
        items = []
        for choice, key, label in zip(self.choices, self.keys, self.labels, strict=True):
            item = Text(no_wrap=True, end="")
            chosen = choice == self.value
            item.append(CHOSEN if chosen else NOT_CHOSEN, style="bold" if chosen else "dim")
            item.append(" ")
            item.append(key, style="bold underline")
            item.append(" ")
            item.append(label, style="bold reverse" if chosen else "")
            items.append(item)
        width = self.size.width or 80
        lines: list[Text] = []
        line = Text(no_wrap=True, end="")
        for item in items:
            if line.cell_len and line.cell_len + len(GAP) + item.cell_len > width:
                lines.append(line)
                line = Text(no_wrap=True, end="")
            if line.cell_len:
                line.append(GAP)
            line.append_text(item)
        lines.append(line)
        return Text("\n").join(lines)
