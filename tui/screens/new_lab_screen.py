"""The new-lab form: name, severity, TTL and who asks; the server's answer decides."""

from __future__ import annotations

from typing import ClassVar

from pydantic import ValidationError
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Grid, Vertical
from textual.screen import ModalScreen
from textual.widgets import Footer, Input, Label, Select, Static

from backend.domain.labs import CreateLab, Lab, LabSeverity
from tui.client import FlightdeckClient
from tui.errors import FlightdeckError, format_validation_errors


class NewLabScreen(ModalScreen[Lab | None]):
    """A modal form that creates a lab; on an error it keeps what was typed and says why."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+s", "submit", "Create"),
    ]
    AUTO_FOCUS = "#name"

    def __init__(self, client: FlightdeckClient, user: str) -> None:
        super().__init__()
        self.client = client
        self.user = user
        self.submitting = False

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("New lab", classes="dialog-title")
            with Grid(classes="form"):
                yield Label("Name", classes="field-label")
                yield Input(placeholder="lower-case letters, digits, dashes", id="name")
                yield Label("Severity", classes="field-label")
                yield Select(
                    [(severity.value, severity) for severity in LabSeverity],
                    value=LabSeverity.MEDIUM,
                    allow_blank=False,
                    id="severity",
                )
                yield Label("TTL hours", classes="field-label")
                yield Input(value="8", type="integer", id="ttl")
                yield Label("Requested by", classes="field-label")
                yield Input(value=self.user, id="requested-by")
            yield Static("enter / ctrl+s create · esc cancel", classes="dialog-help")
        yield Footer()

    @on(Input.Submitted)
    def _submit_from_input(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_submit()

    def action_cancel(self) -> None:
        self.dismiss(None)

    def action_submit(self) -> None:
        """Check the form against the API contract, then create the lab."""
        if self.submitting:
            return
        request = self._read_form()
        if request is not None:
            self.submitting = True
            self._create(request)

    def _read_form(self) -> CreateLab | None:
        ttl_text = self.query_one("#ttl", Input).value.strip()
        try:
            ttl_hours = int(ttl_text)
        except ValueError:
            self._refuse("ttl hours: enter a whole number of hours", "#ttl")
            return None
        severity = self.query_one("#severity", Select).value
        try:
            return CreateLab(
                name=self.query_one("#name", Input).value,
                requested_by=self.query_one("#requested-by", Input).value,
                severity=severity if isinstance(severity, LabSeverity) else LabSeverity.MEDIUM,
                ttl_hours=ttl_hours,
            )
        except ValidationError as exc:
            errors = exc.errors(include_url=False)
            first = str(errors[0]["loc"][0]) if errors and errors[0]["loc"] else "name"
            field = {"requested_by": "requested-by", "ttl_hours": "ttl"}.get(first, first)
            self._refuse(format_validation_errors(errors), f"#{field}")
            return None

    def _refuse(self, message: str, focus: str) -> None:
        self.notify(message, title="Check the form", severity="error", markup=False)
        if widgets := self.query(focus):
            widgets.first().focus()

    @work(exclusive=True, group="new-lab")
    async def _create(self, request: CreateLab) -> None:
        try:
            lab = await self.client.create_lab(request)
        except FlightdeckError as exc:
            self.notify(exc.message, title="Lab not created", severity="error", markup=False)
            return
        finally:
            self.submitting = False
        self.notify(f"Lab {lab.name} created", markup=False)
        self.dismiss(lab)
