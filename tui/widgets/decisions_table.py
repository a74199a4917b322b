"""The review history of a workflow: every human answer it received, accepted or ignored."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from backend.domain.progress import Decision
from tui.state_styles import status_label
from tui.time_format import format_clock
from tui.widgets.keyed_table import Cells, KeyedTable, cell

DECISION_COLUMNS = (
    ("when", "at"),
    ("who", "actor"),
    ("decision", "decision"),
    ("round", "request"),
    ("result", "accepted"),
    ("comment", "comment"),
)


def decision_cells(decision: Decision, now: datetime) -> Cells:
    """The cells of one decision's row; ignored answers say why."""
    accepted = cell("accepted", "green") if decision.accepted else cell("ignored", "dim")
    comment = decision.comment
    if decision.note:
        comment = f"{comment} ({decision.note})" if comment else decision.note
    return (
        cell(format_clock(decision.at, now), style="dim"),
        cell(decision.actor),
        cell(status_label(decision.decision), style="bold"),
        cell(decision.request_id or "—", style="dim"),
        accepted,
        cell(comment),
    )


class DecisionsTable(KeyedTable):
    """Decisions in the order received (the list only grows)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(DECISION_COLUMNS, **kwargs)

    def show_decisions(self, decisions: Sequence[Decision], now: datetime) -> None:
        """Show these decisions, oldest first."""
        self.sync([(str(index), decision_cells(d, now)) for index, d in enumerate(decisions)])
