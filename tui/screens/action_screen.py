"""The dialog of any action of any domain: its form from the action's request model, what the
entity awaits, a danger-styled confirmation for destructive actions, and the server's answer."""

from __future__ import annotations

from pydantic import BaseModel
from rich.console import Group, RenderableType
from rich.text import Text

from backend.domain.audit import ActionResult
from backend.domain.entity import ActionSpec, EntitySpec
from tui.action_rules import ActionTarget, confirmation, outcome_severity
from tui.client import new_idempotency_key
from tui.errors import ApiError, FlightdeckError
from tui.screens.form_dialog import FormDialog
from tui.session import Session
from tui.time_format import format_age, format_clock, utc_now
from tui.tones import ERROR_STYLE, MUTED_STYLE, WAITING_STYLE
from tui.widgets.model_form import ModelForm

CONFLICT = 409


class ActionScreen(FormDialog[ActionResult]):
    """Asks for an action's request, sends it once, and shows what the server said.

    One idempotency key per dialog: sending again after a network error resends the same
    request, which the backend answers with its first answer instead of acting twice. A 409
    (the workflow does not take it now) closes the dialog with the reason; other errors keep it
    open with what was typed.
    """

    def __init__(
        self, session: Session, spec: EntitySpec, action: ActionSpec, target: ActionTarget
    ) -> None:
        super().__init__(session, danger=action.destructive)
        self.spec = spec
        self.action = action
        self.target = target
        self.idempotency_key = new_idempotency_key()
        self.verb = "confirm" if action.destructive else "send"

    def dialog_title(self) -> Text:
        return Text(f"{self.action.label} · {self.spec.noun} {self.target.name}")

    def dialog_body(self) -> RenderableType | None:
        parts: list[RenderableType] = []
        if self.action.description:
            parts.append(Text(self.action.description, style=MUTED_STYLE))
        awaiting = self.target.awaiting
        if self.action.answers and awaiting is not None and awaiting.kind == self.action.answers:
            now = utc_now()
            line = Text(f"Waiting for {awaiting.kind}", style=WAITING_STYLE)
            line.append(
                f" since {format_clock(awaiting.since, now)} ({format_age(awaiting.since, now)})"
                f" · round {awaiting.request_id}"
            )
            parts.append(line)
            if awaiting.prompt and awaiting.prompt not in self.action.description:
                parts.append(Text(awaiting.prompt))
        if self.action.destructive:
            parts.append(Text(confirmation(self.spec, self.action, self.target), style=ERROR_STYLE))
        return Group(*parts) if parts else None

    def make_form(self) -> ModelForm:
        return ModelForm(
            self.action.request,
            filled={
                "actor": self.session.user,
                "idempotency_key": self.idempotency_key,
                "round": self.target.round_for(self.action),
            },
            reserved_keys=(self.action.key,),
        )

    async def send(self, request: BaseModel) -> None:
        title = f"{self.action.label} {self.spec.noun} {self.target.name}"
        try:
            result = await self.session.client.act(self.spec, self.action, self.target.id, request)
        except FlightdeckError as exc:
            self.report(exc)
            self.notify(exc.message, title=f"{title}: not done", severity="error", markup=False)
            if isinstance(exc, ApiError) and exc.status == CONFLICT:
                self.dismiss(None)
            return
        self.report(None)
        self.notify(result.message, title=title, severity=outcome_severity(result), markup=False)
        self.dismiss(result)
