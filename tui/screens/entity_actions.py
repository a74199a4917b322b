"""Opening an action's dialog from any screen: refused locally (with why, nothing sent) when the
entity does not take the action now."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from textual.screen import Screen

from backend.domain.audit import ActionResult
from backend.domain.entity import ActionSpec, EntitySpec
from tui.action_rules import ActionTarget, refusal
from tui.screens.action_screen import ActionScreen
from tui.session import Session

log = logging.getLogger(__name__)


def open_action(
    screen: Screen[Any],
    session: Session,
    spec: EntitySpec,
    action: ActionSpec,
    target: ActionTarget,
    after: Callable[[ActionResult | None], None],
) -> None:
    """Push the action's dialog for `target`, or warn why it is not possible now."""
    reason = refusal(spec, action, target, session.identity.me)
    if reason is not None:
        screen.notify(reason, title=f"{action.label}: not now", severity="warning", markup=False)
        return
    screen.app.push_screen(ActionScreen(session, spec, action, target), after)


def bind_actions(screen: Screen[Any], spec: EntitySpec) -> None:
    """Give `screen` one key per action of `spec` (`act('<name>')`), shown in the footer.

    Priority bindings: the key opens its dialog at once, so keys typed right after it (a burst
    over a slow SSH link) reach the dialog instead of the list under it."""
    for action in spec.actions:
        if action.key in screen._bindings.key_to_bindings:
            log.warning(
                "%s: key %r of action %s is taken; not bound", spec.kind, action.key, action.name
            )
            continue
        screen._bindings.bind(action.key, f"act({action.name!r})", action.label, priority=True)
