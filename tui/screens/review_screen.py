"""The review dialog: approve or request changes on a lab waiting for review, with a comment."""

from __future__ import annotations

from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Footer, Input, Label, RadioButton, RadioSet, Static

from backend.domain.audit import ActionResult
from backend.domain.labs import Lab, ReviewDecision, ReviewLab
from tui.client import FlightdeckClient, new_idempotency_key
from tui.errors import ApiError, FlightdeckError
from tui.live_progress import progress_view
from tui.screens.lab_actions import outcome_severity
from tui.time_format import format_age, format_clock, utc_now

CONFLICT = 409


class ReviewScreen(ModalScreen[ActionResult | None]):
    """Asks approve / request changes and a comment, then sends the review for this round."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Back"),
        Binding("ctrl+s", "submit", "Send review"),
    ]
    AUTO_FOCUS = "#comment"

    def __init__(self, client: FlightdeckClient, lab: Lab, user: str) -> None:
        super().__init__()
        self.client = client
        self.lab = lab
        self.user = user
        self.awaiting = progress_view(lab).awaiting
        self.idempotency_key = new_idempotency_key()
        """One key for this review, so resending after a network error is not a second review."""
        self.submitting = False

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(f"Review lab {self.lab.name}", classes="dialog-title")
            yield Static(self._describe_round(), classes="dialog-body")
            with RadioSet(id="decision"):
                yield RadioButton("Approve", value=True, id="approve")
                yield RadioButton("Request changes", id="request-changes")
            yield Input(placeholder="comment (optional)", id="comment")
            yield Static(
                "enter / ctrl+s send · tab: choose decision · esc back", classes="dialog-help"
            )
        yield Footer()

    def _describe_round(self) -> str:
        if self.awaiting is None:
            return "Waiting for review."
        now = utc_now()
        since = self.awaiting.since
        lines = [
            f"Waiting for review since {format_clock(since, now)} ({format_age(since, now)})",
            f"round {self.awaiting.request_id}",
        ]
        if self.awaiting.prompt:
            lines.append(self.awaiting.prompt)
        return "\n".join(lines)

    @property
    def decision(self) -> ReviewDecision:
        """The decision currently chosen in the dialog."""
        pressed = self.query_one("#decision", RadioSet).pressed_button
        if pressed is not None and pressed.id == "request-changes":
            return ReviewDecision.REQUEST_CHANGES
        return ReviewDecision.APPROVE

    @on(Input.Submitted)
    def _submit_from_input(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_submit()

    def action_cancel(self) -> None:
        self.dismiss(None)

    def action_submit(self) -> None:
        """Send the review once; a second press while it is in flight does nothing."""
        if self.submitting:
            return
        self.submitting = True
        self._send(
            ReviewLab(
                decision=self.decision,
                reviewer=self.user,
                comment=self.query_one("#comment", Input).value,
                request_id=self.awaiting.request_id if self.awaiting else None,
                idempotency_key=self.idempotency_key,
            )
        )

    @work(exclusive=True, group="review")
    async def _send(self, request: ReviewLab) -> None:
        try:
            result = await self.client.review_lab(self.lab.id, request)
        except FlightdeckError as exc:
            self.notify(exc.message, title="Review not sent", severity="error", markup=False)
            if isinstance(exc, ApiError) and exc.status == CONFLICT:
                self.dismiss(None)
            return
        finally:
            self.submitting = False
        self.notify(
            result.message,
            title=f"Review of {self.lab.name}",
            markup=False,
            severity=outcome_severity(result),
        )
        self.dismiss(result)
