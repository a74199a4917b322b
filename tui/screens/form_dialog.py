"""What the create form and every action dialog share: a title, what it is about, a form built
from the request model, and a help line that lists exactly the keys that work right now."""

from __future__ import annotations

from typing import ClassVar, Generic, TypeVar

from pydantic import BaseModel
from rich.console import RenderableType
from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Label, Static

from tui.connection import connection_message
from tui.errors import FlightdeckError
from tui.screens.type_ahead_screen import TypeAheadScreen
from tui.session import Session
from tui.widgets.model_form import ModelForm

ResultT = TypeVar("ResultT")


class FormDialog(TypeAheadScreen[ResultT | None], Generic[ResultT]):
    """A modal form: Enter sends (once at a time), Esc backs out; subclasses say what sending
    does (`send`) and dismiss with its typed result."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back"),
        Binding("enter", "submit", "Send", show=False),
        # Priority, so a typed-ahead tab moves the focus before the next key is delivered.
        Binding("tab", "app.focus_next", "Next field", show=False, priority=True),
        Binding("shift+tab", "app.focus_previous", "Previous field", show=False, priority=True),
    ]

    verb = "send"
    """What Enter does, for the help line."""

    def __init__(self, session: Session, *, danger: bool = False) -> None:
        super().__init__()
        self.session = session
        self.danger = danger
        self.sending = False

    def dialog_title(self) -> Text:
        """The first line of the dialog."""
        raise NotImplementedError

    def dialog_body(self) -> RenderableType | None:
        """What the dialog is about, above the form (None: nothing)."""
        return None

    def make_form(self) -> ModelForm:
        """The form of the request this dialog sends."""
        raise NotImplementedError

    async def send(self, request: BaseModel) -> None:
        """Send the request (in a worker) and dismiss on success."""
        raise NotImplementedError

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog danger" if self.danger else "dialog"):
            yield Label(self.dialog_title(), classes="dialog-title")
            body = self.dialog_body()
            if body is not None:
                yield Static(body, classes="dialog-body")
            yield self.make_form()
            yield Static("", classes="dialog-help", id="dialog-help")

    @property
    def form(self) -> ModelForm:
        """The dialog's form."""
        return self.query_one(ModelForm)

    def on_mount(self) -> None:
        self.take_focus(self.form.first_control())
        self._show_help()

    def on_descendant_focus(self, _: events.DescendantFocus) -> None:
        self._show_help()

    def help_text(self) -> str:
        """The keys that work now: the focused field's, moving between fields, send, back."""
        parts = []
        field_keys = self.form.key_help(self.focused)
        if field_keys:
            parts.append(field_keys)
        if len(self.form.fields) > 1:
            parts.append("tab field")
        parts += [f"enter {self.verb}", "esc back"]
        return " · ".join(parts)

    def _show_help(self) -> None:
        self.query_one("#dialog-help", Static).update(Text(self.help_text()))

    def action_submit(self) -> None:
        """Enter with no field focused (a form with nothing to fill in)."""
        self.form.action_submit()

    def action_back(self) -> None:
        """Close without sending."""
        self.dismiss(None)

    @on(ModelForm.Submitted)
    def _submitted(self, event: ModelForm.Submitted) -> None:
        event.stop()
        if self.sending:
            return
        self.sending = True
        self.run_worker(self._send(event.request), exclusive=True, group="send")

    async def _send(self, request: BaseModel) -> None:
        try:
            await self.send(request)
        finally:
            self.sending = False

    def report(self, error: FlightdeckError | None) -> None:
        """Tell the app how the request went (connection state)."""
        self.post_message(connection_message(error))
