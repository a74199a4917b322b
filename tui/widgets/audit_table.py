"""The audit log as a table: when, who, what, on which entity, what came of it, and from where.

Actions sent with another Temporal client (`source` temporal) are marked unauthenticated: the
actor is only what the signal's payload claimed."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from backend.domain.audit import AuditEntry, AuditSource
from tui.time_format import format_clock, utc_now
from tui.tones import MUTED_STYLE, outcome_style, source_style, words
from tui.widgets.keyed_table import Cells, KeyedRows, KeyedTable, cell

AUDIT_COLUMNS = (
    ("when", "at"),
    ("who", "actor"),
    ("action", "action"),
    ("target", "target"),
    ("outcome", "outcome"),
    ("source", "source"),
    ("message / reason", "message"),
)
COMPACT_WIDTHS = {"at": 5, "actor": 8, "action": 12, "outcome": 8, "source": 4}
SOURCE_TEXT = {
    AuditSource.FLIGHTDECK: ("flightdeck", "fd"),
    AuditSource.TEMPORAL: ("temporal ⚠ unauthenticated", "tmp⚠"),
    AuditSource.WORKFLOW: ("workflow", "wf"),
}


def target_text(entry: AuditEntry, *, with_kind: bool = True) -> str:
    """`lab payments-db` (the name the entry recorded), else `lab 3fa2c1d0` (its id)."""
    name = entry.details.get("name")
    label = name if isinstance(name, str) and name else entry.target_id
    return f"{entry.target_kind} {label}" if with_kind else label


def message_text(entry: AuditEntry) -> str:
    """The reason someone gave and the message the outcome carried, in one line."""
    parts = [f"“{entry.reason}”"] if entry.reason else []
    if entry.message:
        parts.append(entry.message)
    return " — ".join(parts)


def audit_cells(entry: AuditEntry, now: datetime, *, compact: bool = False) -> Cells:
    """The cells of one audit entry."""
    source, short = SOURCE_TEXT.get(entry.source, (entry.source.value, entry.source.value))
    when = format_clock(entry.at, now)
    return (
        cell(when[:5] if compact and len(when) == 8 else when, MUTED_STYLE),
        cell(entry.actor),
        cell(entry.action, "bold"),
        cell(target_text(entry)),
        cell(words(entry.outcome.value), outcome_style(entry.outcome)),
        cell(short if compact else source, source_style(entry.source)),
        cell(message_text(entry)),
    )


class AuditTable(KeyedTable):
    """Audit entries, newest first, keyed by id."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(AUDIT_COLUMNS, stretch="message", **kwargs)
        self.entries: list[AuditEntry] = []

    def compact_widths(self, width: int) -> dict[str, int]:
        return COMPACT_WIDTHS

    def compact_labels(self) -> dict[str, str]:
        return {"source": "src", "message": "message"}

    def render_rows(self) -> KeyedRows:
        now = utc_now()
        return [(str(e.id), audit_cells(e, now, compact=self.compact)) for e in self.entries]

    def show(self, entries: Sequence[AuditEntry]) -> None:
        """Show these entries, in this order (newest first)."""
        self.entries = list(entries)
        self.sync(self.render_rows())
