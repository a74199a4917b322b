"""The create form of any domain, built from its `create` model; the server's answer decides."""

from __future__ import annotations

from pydantic import BaseModel
from rich.text import Text

from backend.domain.entities import Entity
from backend.domain.entity import EntitySpec
from tui.errors import FlightdeckError
from tui.screens.form_dialog import FormDialog
from tui.session import Session
from tui.widgets.model_form import ModelForm


class CreateScreen(FormDialog[Entity]):
    """Asks for a new entity's fields and creates it; on an error it keeps what was typed."""

    verb = "create"

    def __init__(self, session: Session, spec: EntitySpec) -> None:
        super().__init__(session)
        self.spec = spec

    def dialog_title(self) -> Text:
        return Text(f"New {self.spec.noun}")

    def make_form(self) -> ModelForm:
        return ModelForm(
            self.spec.create, filled={"actor": self.session.user}, reserved_keys=("n",)
        )

    async def send(self, request: BaseModel) -> None:
        try:
            entity = await self.session.client.create_entity(self.spec, request)
        except FlightdeckError as exc:
            self.report(exc)
            self.notify(
                exc.message,
                title=f"{self.spec.noun} not created",
                severity="error",
                markup=False,
            )
            return
        self.report(None)
        self.notify(f"{self.spec.noun} {entity.name} created", markup=False)
        self.dismiss(entity)
