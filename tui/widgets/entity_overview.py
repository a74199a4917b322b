"""The head of any entity's detail view: the platform's fields and the domain's own, a live
percent bar, what it awaits (and the keys that answer it), why it is in its state, its last error."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

from backend.domain.entities import Entity
from backend.domain.entity import EntitySpec
from tui.live_progress import live_state
from tui.time_format import format_age, format_clock, utc_now
from tui.tones import (
    ERROR_STYLE,
    ERROR_TEXT_STYLE,
    MUTED_STYLE,
    WAITING_STYLE,
    status_style,
    value_style,
    words,
)
from tui.widgets.entity_table import attribute_text
from tui.widgets.percent_bar import percent_bar

NARROW = 70
"""Below this width the fields are listed in one column pair instead of two."""


class EntityOverview(Static):
    """Renders one entity's fields and progress; set `entity` to update it."""

    entity: reactive[Entity | None] = reactive(None, always_update=True)

    def __init__(self, spec: EntitySpec, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.spec = spec

    def render(self) -> RenderableType:
        entity = self.entity
        if entity is None:
            return Text("loading…", style=MUTED_STYLE)
        spec = self.spec
        now = utc_now()
        state = live_state(entity)
        status = str(entity.status)
        style = status_style(spec, status)

        pairs: list[tuple[str, Text]] = [
            ("status", Text(words(status), style=style)),
            ("requested by", Text(entity.requested_by)),
            (
                "created",
                Text(
                    f"{format_clock(entity.created_at, now)} ({format_age(entity.created_at, now)} ago)"
                ),
            ),
            ("updated", Text(format_clock(entity.updated_at, now))),
        ]
        columns = {column.key: column for column in spec.columns}
        for label, attribute in spec.detail_fields:
            value = attribute_text(getattr(entity, attribute, None), now)
            column = columns.get(attribute)
            pairs.append((label, Text(value, style=value_style(column, value) if column else "")))
        pairs += [("id", Text(entity.id)), ("workflow", Text(entity.workflow_id))]

        wide = self.size.width >= NARROW
        fields = Table.grid(padding=(0, 2))
        for _ in range(2 if wide else 1):
            fields.add_column(style=MUTED_STYLE, no_wrap=True)
            fields.add_column(overflow="fold")
        step = 2 if wide else 1
        for index in range(0, len(pairs), step):
            row: list[Text] = []
            for name, shown in pairs[index : index + step]:
                row += [Text(name), shown]
            fields.add_row(*row)

        bar_width = max(10, min(30, self.size.width - 40))
        progress = Text.assemble(
            ("phase ", MUTED_STYLE),
            (words(state.phase), "bold"),
            "  ",
            percent_bar(state.percent, width=bar_width, style=style),
        )
        if not state.exact:
            progress.append("  (last reported)", style=MUTED_STYLE)
        parts: list[RenderableType] = [fields, Text(""), progress]

        awaiting = state.awaiting
        if awaiting is not None:
            line = Text(f"awaiting {awaiting.kind}", style=WAITING_STYLE)
            line.append(
                f" since {format_clock(awaiting.since, now)} ({format_age(awaiting.since, now)})"
            )
            line.append(f" · round {awaiting.request_id}", style=MUTED_STYLE)
            parts.append(line)
            if awaiting.prompt:
                parts.append(Text(f"  {awaiting.prompt}"))
            answers = [
                f"{action.key} {action.label}" for action in spec.actions_answering(awaiting.kind)
            ]
            if answers:
                parts.append(Text(f"  press {' or '.join(answers)}", style=MUTED_STYLE))
        if entity.status_reason:
            parts.append(Text.assemble(("reason ", MUTED_STYLE), entity.status_reason))
        if state.retrying is not None:
            step_ = state.retrying
            parts.append(
                Text.assemble(
                    ("retrying ", ERROR_STYLE),
                    (f"{step_.name} (attempt {step_.attempt})", ERROR_TEXT_STYLE),
                )
            )
        if state.last_error:
            parts.append(
                Text.assemble(("last error ", ERROR_STYLE), (state.last_error, ERROR_TEXT_STYLE))
            )
        return Group(*parts)
