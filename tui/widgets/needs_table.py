"""Everything waiting for a person, across domains: kind, name, what it waits for, for how long,
the keys that answer it, and the prompt."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, ClassVar

from textual.binding import Binding, BindingType

from backend.domain.entities import NeedItem
from backend.domain.entity import EntitySpec
from tui.time_format import format_age, utc_now
from tui.tones import MUTED_STYLE, WAITING_STYLE
from tui.widgets.keyed_table import Cells, KeyedRows, KeyedTable, cell

NEEDS_COLUMNS = (
    ("kind", "kind"),
    ("name", "name"),
    ("waits for", "awaiting"),
    ("for", "age"),
    ("keys", "keys"),
    ("prompt", "prompt"),
)
COMPACT_WIDTHS = {"kind": 6, "awaiting": 12, "age": 4, "keys": 5}


def need_key(item: NeedItem) -> str:
    """The row key of a need: kind and id (ids are only unique within a kind)."""
    return f"{item.kind}:{item.id}"


def keys_text(spec: EntitySpec | None, item: NeedItem, *, compact: bool = False) -> str:
    """The keys that act on this item here: `r review · c cancel` (compact: `r c`)."""
    if spec is None:
        return ""
    actions = [a for a in (spec.action(name) for name in item.actions) if a is not None]
    if compact:
        return " ".join(action.key for action in actions)
    return " · ".join(f"{action.key} {action.label.lower()}" for action in actions)


def need_cells(
    spec: EntitySpec | None, item: NeedItem, now: datetime, *, compact: bool = False
) -> Cells:
    """The cells of one need."""
    return (
        cell(item.kind, MUTED_STYLE),
        cell(item.name, "bold"),
        cell(item.awaiting.kind, WAITING_STYLE),
        cell(format_age(item.awaiting.since, now), WAITING_STYLE),
        cell(keys_text(spec, item, compact=compact)),
        cell(item.awaiting.prompt or ""),
    )


class NeedsTable(KeyedTable):
    """Needs, longest waiting first, keyed by kind and id."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select_cursor", "Details"),
    ]

    def __init__(self, specs: Sequence[EntitySpec], **kwargs: Any) -> None:
        super().__init__(NEEDS_COLUMNS, stretch="prompt", **kwargs)
        self.specs = {spec.kind: spec for spec in specs}
        self.items: list[NeedItem] = []

    def compact_widths(self, width: int) -> dict[str, int]:
        return COMPACT_WIDTHS

    def render_rows(self) -> KeyedRows:
        now = utc_now()
        return [
            (need_key(item), need_cells(self.specs.get(item.kind), item, now, compact=self.compact))
            for item in self.items
        ]

    def show(self, items: Sequence[NeedItem]) -> None:
        """Show these needs, in this order."""
        self.items = list(items)
        self.sync(self.render_rows())

    @property
    def selected_item(self) -> NeedItem | None:
        """The need under the cursor."""
        key = self.selected_key
        return next((item for item in self.items if need_key(item) == key), None)
