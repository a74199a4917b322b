"""Any domain's list view, from its declaration: the columns, a status filter, the create form,
the details, and one key per action, acting on the selected row."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Footer, Header, Static

from backend.domain.audit import ActionResult
from backend.domain.entities import Entity
from backend.domain.entity import EntitySpec
from tui.action_rules import ActionTarget, role_refusal
from tui.live_progress import live_state
from tui.screens.create_screen import CreateScreen
from tui.screens.entity_actions import bind_actions, open_action
from tui.screens.entity_detail_screen import EntityDetailScreen
from tui.screens.polling_screen import PollingScreen
from tui.session import Session
from tui.tones import words
from tui.widgets.connection_status import ConnectionStatus
from tui.widgets.entity_table import EntityTable


class EntityListScreen(PollingScreen):
    """Lists the entities of one domain with live progress; the same class for every domain."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n", "create", "New", priority=True),
        Binding("s", "cycle_filter", "Filter", priority=True),
        Binding("q", "app.quit", "Quit", priority=True),
    ]

    def __init__(self, session: Session, spec: EntitySpec) -> None:
        super().__init__(session)
        self.spec = spec
        self.title = f"Flightdeck ▸ {spec.plural}"
        self.status_filter: str | None = None
        self.filters: tuple[str | None, ...] = (None, *(s.value for s in spec.statuses))
        """What `s` cycles through: everything, then one status at a time."""
        self.entities: dict[str, Entity] = {}
        self._select_after_refresh: str | None = None
        bind_actions(self, spec)

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(Text(self.spec.title), classes="view-heading", id="list-heading")
        yield EntityTable(self.spec, id="entities", classes="view-table")
        yield ConnectionStatus()
        yield Footer()

    @property
    def table(self) -> EntityTable:
        """The entities table."""
        return self.query_one(EntityTable)

    @property
    def selected(self) -> Entity | None:
        """The entity under the cursor, as last fetched."""
        key = self.table.selected_key
        return self.entities.get(key) if key else None

    def load_failed_title(self) -> str:
        return f"{self.spec.title} not refreshed"

    async def load(self) -> None:
        table = self.table
        page = await self.session.client.list_entities(
            self.spec, live=table.live_ids(), status=self.status_filter
        )
        self.entities = {entity.id: entity for entity in page.items}
        table.show(page.items)
        if self._select_after_refresh and table.select_key(self._select_after_refresh):
            self._select_after_refresh = None
        self._show_heading(page.items, page.total)

    def _show_heading(self, entities: list[Entity], total: int) -> None:
        shown = "all" if self.status_filter is None else words(self.status_filter)
        parts = [f"{self.spec.title} · {shown} ({total})"]
        waiting = sum(1 for entity in entities if live_state(entity).awaiting is not None)
        if waiting:
            parts.append(f"{waiting} waiting for a person")
        if not entities and self.status_filter is None:
            parts.append(f"none yet — press n to create {self.spec.a_noun}")
        elif not entities:
            parts.append("none with this status — press s for the next filter")
        self.query_one("#list-heading", Static).update(Text(" · ".join(parts)))

    @on(DataTable.RowSelected, "#entities")
    def _open_details(self, event: DataTable.RowSelected) -> None:
        entity = self.entities.get(str(event.row_key.value))
        if entity is not None:
            self.app.push_screen(
                EntityDetailScreen(self.session, self.spec, entity.id, entity.name, entity)
            )

    def action_cycle_filter(self) -> None:
        """Show everything, then one status at a time."""
        index = self.filters.index(self.status_filter)
        self.status_filter = self.filters[(index + 1) % len(self.filters)]
        shown = "all" if self.status_filter is None else words(self.status_filter)
        self.notify(f"Showing {self.spec.plural}: {shown}", timeout=2, markup=False)
        self.action_refresh()

    def action_create(self) -> None:
        """Open the create form."""
        self.app.push_screen(CreateScreen(self.session, self.spec), self._after_create)

    def _after_create(self, entity: Entity | None) -> None:
        if entity is not None:
            self._select_after_refresh = entity.id
            self.action_refresh()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Offer an action key only when our role may take the action."""
        if action == "act":
            found = self.spec.action(str(parameters[0]))
            return found is not None and role_refusal(found, self.session.identity.me) is None
        return True

    def action_act(self, name: str) -> None:
        """Open the dialog of action `name` for the selected entity, if it takes it now."""
        action = self.spec.action(name)
        entity = self.selected
        if action is None:
            return
        if entity is None:
            self.notify(f"No {self.spec.noun} selected", severity="warning", markup=False)
            return
        target = ActionTarget.of_entity(entity)
        open_action(self, self.session, self.spec, action, target, self._after_action)

    def _after_action(self, result: ActionResult | None) -> None:
        self.action_refresh()
