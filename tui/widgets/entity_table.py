"""Any domain's list: one row per entity, with the columns its `EntitySpec` declares."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import Enum
from typing import Any, ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType

from backend.domain.entities import Entity
from backend.domain.entity import Column, EntitySpec
from tui.live_progress import live_state, note
from tui.time_format import format_age, format_clock, utc_now
from tui.tones import row_style, status_style, value_style, words
from tui.widgets.keyed_table import Cells, KeyedRows, KeyedTable, cell
from tui.widgets.percent_bar import percent_bar

WIDE_BAR = 10
"""Percent bar width on wide terminals."""
PERCENT_TEXT = 5
"""The ` 100%` after a bar."""


def attribute_text(value: Any, now: datetime) -> str:
    """A record attribute as a cell shows it."""
    if value is None:
        return "—"
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return format_clock(value, now)
    if isinstance(value, dict):
        return ", ".join(f"{key}={item}" for key, item in value.items()) or "—"
    return str(value)


def entity_cells(
    spec: EntitySpec,
    entity: Entity,
    now: datetime,
    *,
    widths: dict[str, int] | None = None,
) -> Cells:
    """The cells of one entity's row, styled by its state; `widths` in compact mode."""
    compact = widths is not None
    status = str(entity.status)
    base = row_style(spec, status)
    state_style = status_style(spec, status) or base
    cells: list[Text] = []
    for column in spec.columns:
        width = widths.get(column.key) if widths else None
        if column.key == "status":
            cells.append(cell(words(status), state_style))
        elif column.key == "progress":
            bar = max(3, width - PERCENT_TEXT) if width else WIDE_BAR
            cells.append(percent_bar(live_state(entity).percent, width=bar, style=state_style))
        elif column.key == "age":
            cells.append(cell(format_age(entity.created_at, now), base))
        elif column.key == "note":
            cells.append(note(spec, entity, now, width))
        else:
            cells.append(_attribute_cell(column, entity, now, compact=compact, base=base))
    return cells


def _attribute_cell(
    column: Column, entity: Entity, now: datetime, *, compact: bool, base: str
) -> Text:
    value = attribute_text(getattr(entity, column.key, None), now)
    shown = column.short.get(value, value) if compact else value
    style = value_style(column, value) or base
    if column.key == "name":
        style = f"bold {style}".strip()
    return cell(shown, style)


class EntityTable(KeyedTable):
    """Entities of one domain keyed by id; refreshes change only the cells that changed and the
    cursor stays on its entity. Narrow, it uses the columns' `compact_width`s and `short` forms
    (and the `None`-width columns share what is left), so every column fits 80 cells."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select_cursor", "Details"),
    ]

    def __init__(self, spec: EntitySpec, **kwargs: Any) -> None:
        keys = [c.key for c in spec.columns]
        stretch = "note" if "note" in keys else None
        super().__init__([(c.label, c.key) for c in spec.columns], stretch=stretch, **kwargs)
        self.spec = spec
        self.entities: list[Entity] = []

    def compact_widths(self, width: int) -> dict[str, int]:
        return {c.key: c.compact_width for c in self.spec.columns if c.compact_width}

    def render_rows(self) -> KeyedRows:
        now = utc_now()
        widths = self.widths if self.compact else None
        return [(e.id, entity_cells(self.spec, e, now, widths=widths)) for e in self.entities]

    def show(self, entities: Sequence[Entity]) -> None:
        """Show these entities, in this order."""
        self.entities = list(entities)
        self.sync(self.render_rows())

    def live_ids(self, limit: int = 50) -> list[str]:
        """Ids whose exact progress is worth a query: the selected row, then those on screen."""
        selected = self.selected_key
        ids = [selected] if selected else []
        ids += [key for key in self.visible_keys() if key not in ids]
        return ids[:limit]
