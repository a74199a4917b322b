"""What the review and cancel keys check before they open a dialog, shared by the lab screens."""

from __future__ import annotations

from textual.notifications import SeverityLevel

from backend.domain.audit import ActionResult, AuditOutcome
from backend.domain.labs import Lab
from tui.live_progress import progress_view
from tui.state_styles import status_label


def review_refusal(lab: Lab) -> str | None:
    """Why `lab` cannot be reviewed now, or None when it is waiting for a review."""
    view = progress_view(lab)
    if view.awaits_review:
        return None
    return f"lab {lab.name} is not waiting for review (phase: {status_label(view.phase)})"


def cancel_refusal(lab: Lab) -> str | None:
    """Why `lab` cannot be cancelled, or None when it is still active."""
    if lab.status.is_final:
        return f"lab {lab.name} has already ended (status: {status_label(lab.status.value)})"
    return None


def outcome_severity(result: ActionResult) -> SeverityLevel:
    """How loudly to report what came of an action."""
    if result.outcome is AuditOutcome.ACCEPTED:
        return "information"
    if result.outcome is AuditOutcome.NO_OP:
        return "warning"
    return "error"
