"""A form built from a pydantic request model: the create form of every domain and the body of
every action dialog. It never shows the fields the client fills (who acts, the idempotency key,
the awaited round): it fills them itself."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from pydantic import BaseModel
from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Input, Label

from tui.form_fields import FormField, FormProblem, build, client_filled, form_fields
from tui.widgets.choice_selector import ChoiceSelector
from tui.widgets.form_checkbox import FormCheckbox

FIELD_ID_PREFIX = "field-"
LABEL_MIN = 8
LABEL_MAX = 22


def field_id(name: str) -> str:
    """The widget id of a field's control."""
    return f"{FIELD_ID_PREFIX}{name.replace('_', '-')}"


class ModelForm(Vertical):
    """Fields for `model` (defaults prefilled); Enter in any field validates with the model and
    posts `Submitted` with the request, or says what is wrong and puts the cursor there."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "submit", "Submit", show=False),
    ]

    class Submitted(Message):
        """The form holds a valid request."""

        def __init__(self, form: ModelForm, request: BaseModel) -> None:
            super().__init__()
            self.form = form
            self.request = request

        @property
        def control(self) -> ModelForm:
            """The form that was submitted."""
            return self.form

    def __init__(
        self,
        model: type[BaseModel],
        *,
        filled: Mapping[str, Any],
        reserved_keys: Sequence[str] = (),
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.model = model
        self.fields = form_fields(model)
        self.filled = client_filled(model, filled)
        """Values of the client-filled fields, by field name."""
        self.reserved_keys = tuple(reserved_keys)
        """Keys choices must not use (the one that opened the dialog, so a double press does
        not choose anything)."""

    def compose(self) -> ComposeResult:
        label_width = max([LABEL_MIN, *(len(field.label) + 1 for field in self.fields)])
        for field in self.fields:
            with Horizontal(classes="form-row"):
                label = Label(Text(field.label), classes="field-label")
                label.styles.width = min(label_width, LABEL_MAX)
                yield label
                yield self._control(field)

    def _control(self, field: FormField) -> Widget:
        control_id = field_id(field.name)
        if field.kind == "choice":
            default = str(field.default) if field.default is not None else None
            return ChoiceSelector(field.choices, default, taken=self.reserved_keys, id=control_id)
        if field.kind == "bool":
            label = Text(field.description or field.label)
            return FormCheckbox(label, value=bool(field.default), id=control_id, compact=True)
        hint = field.description or field.label
        placeholder = hint if field.required else f"{hint} (optional)"
        default = "" if field.default is None else str(field.default)
        if field.kind == "int":
            return Input(
                value=default,
                placeholder=placeholder,
                type="integer",
                id=control_id,
                compact=True,
            )
        return Input(value=default, placeholder=placeholder, id=control_id, compact=True)

    def control(self, name: str) -> Widget:
        """The widget that edits field `name`."""
        return self.query_one(f"#{field_id(name)}")

    def entered(self) -> dict[str, Any]:
        """What the person entered, by field name (text as typed)."""
        values: dict[str, Any] = {}
        for field in self.fields:
            widget = self.control(field.name)
            if isinstance(widget, ChoiceSelector | FormCheckbox | Input):
                values[field.name] = widget.value
        return values

    def read(self) -> BaseModel | FormProblem:
        """The request the form holds, or the first problem with it."""
        return build(self.model, self.fields, self.entered(), self.filled)

    def first_control(self) -> Widget | None:
        """The control of the first field (None if the model has none a person fills in)."""
        return self.control(self.fields[0].name) if self.fields else None

    def key_help(self, widget: Widget | None) -> str:
        """The keys that work in the field `widget` (the focused one)."""
        if isinstance(widget, ChoiceSelector | FormCheckbox):
            return widget.key_help()
        if isinstance(widget, Input):
            return "type the value"
        return ""

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        """Mark the row being edited (its label stands out)."""
        for row in self.query(".form-row"):
            row.set_class(event.widget in row.children, "-focused")

    @on(Input.Submitted)
    def _submit_from_input(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_submit()

    def action_submit(self) -> None:
        """Check the form against the model; post `Submitted`, or say what is wrong."""
        result = self.read()
        if isinstance(result, FormProblem):
            self.notify(result.message, title="Check the form", severity="error", markup=False)
            if result.field is not None:
                self.control(result.field).focus()
            return
        self.post_message(self.Submitted(self, result))
