"""The cancel confirmation: says what will happen and asks for a reason before tearing a lab down."""

from __future__ import annotations

from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Input, Label, Static

from backend.domain.audit import ActionResult
from backend.domain.labs import CancelLab, Lab
from tui.client import FlightdeckClient, new_idempotency_key
from tui.errors import ApiError, FlightdeckError
from tui.screens.lab_actions import outcome_severity

CONFLICT = 409


class CancelScreen(ModalScreen[ActionResult | None]):
    """Confirms cancelling a lab; a reason is required. y / enter confirm, n / esc back out."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back"),
        Binding("n", "back", "No"),
        Binding("y", "confirm", "Yes, cancel it"),
    ]
    AUTO_FOCUS = "#reason"

    def __init__(self, client: FlightdeckClient, lab: Lab, user: str) -> None:
        super().__init__()
        self.client = client
        self.lab = lab
        self.user = user
        self.idempotency_key = new_idempotency_key()
        """One key for this cancel, so resending after a network error is not a second cancel."""
        self.submitting = False

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog danger"):
            yield Label(
                f"Cancel lab {self.lab.name}? Its environment will be torn down.",
                classes="dialog-title",
            )
            yield Input(placeholder="reason (required)", id="reason")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Cancel lab", variant="error", id="confirm")
                yield Button("Back", id="back")
            yield Static("enter / y confirm · esc / n back", classes="dialog-help")
        yield Footer()

    @on(Input.Submitted)
    def _confirm_from_input(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_confirm()

    @on(Button.Pressed, "#confirm")
    def _confirm_from_button(self) -> None:
        self.action_confirm()

    @on(Button.Pressed, "#back")
    def _back_from_button(self) -> None:
        self.action_back()

    def action_back(self) -> None:
        self.dismiss(None)

    def action_confirm(self) -> None:
        """Cancel the lab, once there is a reason."""
        if self.submitting:
            return
        reason_input = self.query_one("#reason", Input)
        reason = reason_input.value.strip()
        if not reason:
            self.notify(
                "Give a reason: it goes to the audit log.",
                title="Reason required",
                severity="warning",
            )
            reason_input.focus()
            return
        self.submitting = True
        self._send(CancelLab(reason=reason, actor=self.user, idempotency_key=self.idempotency_key))

    @work(exclusive=True, group="cancel")
    async def _send(self, request: CancelLab) -> None:
        try:
            result = await self.client.cancel_lab(self.lab.id, request)
        except FlightdeckError as exc:
            self.notify(exc.message, title="Lab not cancelled", severity="error", markup=False)
            if isinstance(exc, ApiError) and exc.status == CONFLICT:
                self.dismiss(None)
            return
        finally:
            self.submitting = False
        self.notify(
            result.message,
            title=f"Cancel {self.lab.name}",
            markup=False,
            severity=outcome_severity(result),
        )
        self.dismiss(result)
