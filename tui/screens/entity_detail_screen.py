"""Any entity in full: fields, live percent, what it awaits, steps (compensations marked),
decisions and its audit trail, polled while shown; the domain's action keys work here too."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Footer, Header, Label

from backend.domain.audit import ActionResult
from backend.domain.entities import Entity
from backend.domain.entity import EntitySpec
from tui.action_rules import ActionTarget, role_refusal
from tui.screens.entity_actions import bind_actions, open_action
from tui.screens.polling_screen import PollingScreen
from tui.session import Session
from tui.time_format import utc_now
from tui.widgets.audit_table import AuditTable
from tui.widgets.connection_status import ConnectionStatus
from tui.widgets.decisions_table import DecisionsTable
from tui.widgets.detail_sections import DetailSections
from tui.widgets.entity_overview import EntityOverview
from tui.widgets.steps_table import StepsTable

AUDIT_TRAIL_LIMIT = 50


class EntityDetailScreen(PollingScreen):
    """One entity of one domain with its exact progress and audit trail; Esc goes back."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back"),
    ]

    def __init__(
        self,
        session: Session,
        spec: EntitySpec,
        entity_id: str,
        name: str,
        entity: Entity | None = None,
    ) -> None:
        super().__init__(session)
        self.spec = spec
        self.entity_id = entity_id
        self.entity = entity
        self.title = f"Flightdeck ▸ {spec.plural} ▸ {name}"
        bind_actions(self, spec)

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="detail"):
            yield EntityOverview(self.spec, id="overview")
            yield DetailSections(id="sections")
            yield Label("Steps", classes="section-title")
            yield StepsTable(id="steps", classes="section-table", cursor=False)
            yield Label("Decisions", classes="section-title")
            yield DecisionsTable(id="decisions", classes="section-table", cursor=False)
            yield Label("Audit trail", classes="section-title")
            yield AuditTable(id="audit-trail", classes="section-table", cursor=False)
        yield ConnectionStatus()
        yield Footer()

    def on_mount(self) -> None:
        if self.entity is not None:
            self._show(self.entity)

    def load_failed_title(self) -> str:
        return f"{self.spec.noun} {self.entity_id} not refreshed"

    async def load(self) -> None:
        client = self.session.client
        entity = await client.get_entity(self.spec, self.entity_id)
        audit = await client.audit(
            target_id=self.entity_id, target_kind=self.spec.kind, limit=AUDIT_TRAIL_LIMIT
        )
        self._show(entity)
        self.query_one(AuditTable).show(audit.items)

    def _show(self, entity: Entity) -> None:
        now = utc_now()
        self.entity = entity
        self.title = f"Flightdeck ▸ {self.spec.plural} ▸ {entity.name}"
        self.query_one(EntityOverview).entity = entity
        self.query_one(DetailSections).sections = entity.detail_sections()
        progress = entity.progress
        self.query_one(StepsTable).show_steps(progress.steps if progress else [], now)
        self.query_one(DecisionsTable).show_decisions(progress.decisions if progress else [], now)

    def action_back(self) -> None:
        """Back to the view this came from."""
        self.dismiss(None)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Offer an action key only when our role may take the action."""
        if action == "act":
            found = self.spec.action(str(parameters[0]))
            return found is not None and role_refusal(found, self.session.identity.me) is None
        return True

    def action_act(self, name: str) -> None:
        """Open the dialog of action `name` for this entity, if it takes it now."""
        action = self.spec.action(name)
        if action is None:
            return
        if self.entity is None:
            self.notify("Still loading", severity="warning")
            return
        target = ActionTarget.of_entity(self.entity)
        open_action(self, self.session, self.spec, action, target, self._after_action)

    def _after_action(self, result: ActionResult | None) -> None:
        self.action_refresh()
