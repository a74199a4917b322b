"""The answers a workflow received: every human decision, accepted or ignored (with why)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from backend.domain.entity import Tone
from backend.domain.progress import Decision
from tui.time_format import format_clock
from tui.tones import MUTED_STYLE, tone_style, words
from tui.widgets.keyed_table import Cells, KeyedTable, cell

DECISION_COLUMNS = (
    ("when", "at"),
    ("who", "actor"),
    ("action", "decision"),
    ("round", "request"),
    ("result", "accepted"),
    ("comment / note", "comment"),
)


def decision_cells(decision: Decision, now: datetime) -> Cells:
    """The cells of one decision's row; ignored answers say why."""
    if decision.accepted:
        result = cell("accepted", tone_style(Tone.GOOD))
    else:
        result = cell("ignored", tone_style(Tone.NOTABLE))
    comment = decision.comment
    if decision.note:
        comment = f"{comment} ({decision.note})" if comment else decision.note
    if decision.decision == decision.kind:
        action = decision.kind
    else:
        action = f"{decision.kind}: {words(decision.decision)}"
    return (
        cell(format_clock(decision.at, now), style=MUTED_STYLE),
        cell(decision.actor),
        cell(action, style="bold"),
        cell(decision.request_id or "—", style=MUTED_STYLE),
        result,
        cell(comment),
    )


class DecisionsTable(KeyedTable):
    """Decisions in the order received (the list only grows)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(DECISION_COLUMNS, stretch="comment", **kwargs)

    def show_decisions(self, decisions: Sequence[Decision], now: datetime) -> None:
        """Show these decisions, oldest first."""
        rows = [(f"{d.seq}:{i}", decision_cells(d, now)) for i, d in enumerate(decisions)]
        self.sync(rows)
