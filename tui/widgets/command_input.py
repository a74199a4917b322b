"""The `:` command line's input: view names suggested as you type, tab completes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.suggester import SuggestFromList
from textual.widgets import Input


class CommandInput(Input):
    """An Input over a fixed list of names: the first name it starts is suggested, tab takes it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("tab", "complete", "Complete", show=False),
    ]

    def __init__(
        self,
        names: Sequence[str],
        *,
        id: str | None = None,
        placeholder: str = "",
        compact: bool = False,
    ) -> None:
        super().__init__(
            placeholder=placeholder,
            suggester=SuggestFromList(names, case_sensitive=False),
            id=id,
            compact=compact,
        )
        self.names = list(names)

    def completion(self) -> str | None:
        """The first name that starts with what was typed."""
        typed = self.value.strip().lower()
        return (
            next((name for name in self.names if name.startswith(typed)), None) if typed else None
        )

    def action_complete(self) -> None:
        """Replace what was typed with the name it starts."""
        name = self.completion()
        if name is not None:
            self.value = name
            self.cursor_position = len(name)
