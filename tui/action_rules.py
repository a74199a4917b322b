"""Which actions an entity takes now, said before anything is sent, and how loudly to report
what came of one. Pure functions over the domain's declaration."""

from __future__ import annotations

from dataclasses import dataclass

from textual.notifications import SeverityLevel

from backend.domain.audit import ActionResult, AuditOutcome
from backend.domain.entities import Entity, NeedItem
from backend.domain.entity import ActionSpec, EntitySpec, fill
from backend.domain.identity import Me, Principal, four_eyes_applies, role_for_action
from backend.domain.progress import Awaiting
from tui.live_progress import live_state


@dataclass(frozen=True)
class ActionTarget:
    """The entity an action is for, as far as a dialog needs to know it."""

    kind: str
    id: str
    name: str
    status: str
    awaiting: Awaiting | None
    accepts: tuple[str, ...]
    requested_by: str = ""

    @classmethod
    def of_entity(cls, entity: Entity) -> ActionTarget:
        """From a list row or a detail (its exact progress when present)."""
        state = live_state(entity)
        return cls(
            kind=entity.kind,
            id=entity.id,
            name=entity.name,
            status=str(entity.status),
            awaiting=state.awaiting,
            accepts=state.accepts,
            requested_by=entity.requested_by,
        )

    @classmethod
    def of_need(cls, item: NeedItem) -> ActionTarget:
        """From a Needs-you row: it takes the actions the row lists."""
        return cls(
            kind=item.kind,
            id=item.id,
            name=item.name,
            status=item.status,
            awaiting=item.awaiting,
            accepts=tuple(item.actions),
            requested_by=item.requested_by,
        )

    def round_for(self, action: ActionSpec) -> str | None:
        """The awaited round an answering action is for (None for other actions)."""
        if action.answers and self.awaiting is not None and self.awaiting.kind == action.answers:
            return self.awaiting.request_id
        return None


def role_refusal(action: ActionSpec, me: Me | None) -> str | None:
    """Why our identity may not take `action` at all (its role), or None."""
    if me is None:
        return None
    needed = role_for_action(action)
    if Principal(name=me.name, roles=me.roles, via=me.via).may(needed):
        return None
    have = ", ".join(me.roles) or "no role"
    return f"you are {me.name} ({have}): {action.label.lower()} needs the {needed} role"


def refusal(
    spec: EntitySpec, action: ActionSpec, target: ActionTarget, me: Me | None = None
) -> str | None:
    """Why `target` cannot take `action` now (nothing is sent then), or None when it can.

    Our role must allow it, and four-eyes bars approving what we requested ourselves. A signal
    is possible when the workflow lists the action in `accepts`; a starting action when the
    entity's status is one it may start from.
    """
    by_role = role_refusal(action, me)
    if by_role is not None:
        return by_role
    what = action.label.lower()
    own = me is not None and me.four_eyes and target.requested_by == me.name
    if own and four_eyes_applies(action):
        return f"four-eyes: you requested {spec.noun} {target.name}; someone else must {what} it"
    if action.start is not None:
        if not action.allowed_statuses or target.status in action.allowed_statuses:
            return None
        needs = ", ".join(sorted(action.allowed_statuses))
        return f"{spec.noun} {target.name} is {target.status}: {what} needs {needs}"
    if action.name in target.accepts:
        return None
    reason = f"{spec.noun} {target.name} is {target.status}: {what} is not possible now"
    possible = [a.label.lower() for a in spec.actions if a.name in target.accepts]
    return f"{reason} (it takes: {', '.join(possible)})" if possible else reason


def confirmation(spec: EntitySpec, action: ActionSpec, target: ActionTarget) -> str:
    """The question a destructive action asks, with the entity's name and kind filled in."""
    text = action.confirm or f"{action.label} {spec.noun} {{name}}?"
    return fill(text, {"name": target.name, "kind": spec.noun})


def outcome_severity(result: ActionResult) -> SeverityLevel:
    """How loudly to report what came of an action."""
    if result.outcome in (AuditOutcome.ACCEPTED, AuditOutcome.SENT):
        return "information"
    if result.outcome is AuditOutcome.NO_OP:
        return "warning"
    return "error"
