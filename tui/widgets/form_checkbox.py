"""A yes / no field: space toggles it, so Enter is left to submit the form."""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.widgets import Checkbox


class FormCheckbox(Checkbox, inherit_bindings=False):
    """A Checkbox that toggles with space only (Enter submits the dialog it is in)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space", "toggle_button", "Toggle", show=False),
    ]

    def key_help(self) -> str:
        """The keys that work while this has focus."""
        return "space yes / no"
