"""What the TUI shows of a lab's progress: exact `progress` when present, else the visibility summary."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from backend.domain.labs import Lab, LabStatus
from backend.domain.progress import Awaiting

REVIEW = "review"


@dataclass(frozen=True)
class LabProgressView:
    """The phase, percent and awaited input of one lab, from the best source the list gave."""

    phase: str
    percent: int | None
    awaiting_kind: str | None
    awaiting_since: datetime | None
    awaiting: Awaiting | None
    exact: bool
    """True when these values come from the `progress` query rather than visibility."""

    @property
    def awaits_review(self) -> bool:
        """True when the lab waits for a reviewer's approve / request changes."""
        return self.awaiting_kind == REVIEW


def progress_view(lab: Lab) -> LabProgressView:
    """Prefer the exact `progress` over the `summary`; fall back to the lab's status."""
    if lab.progress is not None:
        progress = lab.progress
        awaiting = progress.awaiting
        return LabProgressView(
            phase=progress.phase,
            percent=progress.percent,
            awaiting_kind=awaiting.kind if awaiting else None,
            awaiting_since=awaiting.since if awaiting else None,
            awaiting=awaiting,
            exact=True,
        )
    summary = lab.summary
    phase = summary.phase if summary and summary.phase else lab.status.value
    percent = summary.percent if summary else None
    awaiting_kind = summary.awaiting if summary and summary.awaiting else None
    if awaiting_kind is None and lab.status is LabStatus.AWAITING_REVIEW:
        awaiting_kind = REVIEW
    return LabProgressView(
        phase=phase,
        percent=percent,
        awaiting_kind=awaiting_kind,
        awaiting_since=None,
        awaiting=None,
        exact=False,
    )
