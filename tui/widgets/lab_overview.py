"""The head of a lab's detail view: its fields, a live percent bar, what it awaits and its last error."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

from backend.domain.labs import Lab
from tui.live_progress import progress_view
from tui.state_styles import (
    AWAITING_STYLE,
    ERROR_STYLE,
    SEVERITY_STYLES,
    status_label,
    status_style,
)
from tui.time_format import format_age, format_clock, utc_now
from tui.widgets.percent_bar import percent_bar


class LabOverview(Static):
    """Renders one lab's fields and progress; set `lab` to update it."""

    lab: reactive[Lab | None] = reactive(None)
    bar_width: reactive[int] = reactive(30)

    def render(self) -> RenderableType:
        lab = self.lab
        if lab is None:
            return Text("loading…", style="dim")
        now = utc_now()
        view = progress_view(lab)
        state = status_style(lab.status)

        fields = Table.grid(padding=(0, 2))
        fields.add_column(style="dim", no_wrap=True)
        fields.add_column(overflow="fold")
        fields.add_column(style="dim", no_wrap=True)
        fields.add_column(overflow="fold")
        expires = format_clock(lab.expires_at, now) if lab.expires_at else "—"
        fields.add_row(
            "status",
            Text(status_label(lab.status.value), style=state),
            "severity",
            Text(lab.severity.value, style=SEVERITY_STYLES.get(lab.severity, "")),
        )
        fields.add_row(
            "requested by",
            lab.requested_by,
            "created",
            f"{format_clock(lab.created_at, now)} ({format_age(lab.created_at, now)} ago)",
        )
        fields.add_row("ttl", f"{lab.ttl_hours}h", "expires", expires)
        fields.add_row("id", lab.id, "workflow", lab.workflow_id)

        progress = Text.assemble(
            ("phase ", "dim"),
            (status_label(view.phase), "bold"),
            "  ",
            percent_bar(view.percent, width=self.bar_width, style=state),
        )
        if not view.exact:
            progress.append("  (from visibility)", style="dim")
        parts: list[RenderableType] = [fields, Text(""), progress]

        if view.awaiting_kind is not None:
            awaiting = Text(f"awaiting {view.awaiting_kind}", style=AWAITING_STYLE)
            if view.awaiting_since is not None:
                since = view.awaiting_since
                awaiting.append(f" since {format_clock(since, now)} ({format_age(since, now)})")
            if view.awaiting is not None:
                awaiting.append(f" · round {view.awaiting.request_id}", style="dim")
                if view.awaiting.prompt:
                    awaiting.append(f"\n{view.awaiting.prompt}")
            awaiting.append("  — press r to review", style="dim")
            parts.append(awaiting)
        if lab.status_reason:
            parts.append(Text.assemble(("reason ", "dim"), lab.status_reason))
        last_error = lab.progress.last_error if lab.progress else None
        if last_error:
            parts.append(Text.assemble(("last error ", ERROR_STYLE), (last_error, "red")))
        return Group(*parts)
