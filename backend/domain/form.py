"""Markers that say who fills a request field: the person at the keyboard, or the client itself.

Request models (create bodies, action bodies) are the API contract and also the source of the
TUI's forms. A field annotated with one of these markers is not asked for in a form: the client
fills it (`Annotated[str, ACTOR]` is the acting user, `ROUND` the awaited round, ...).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel


@dataclass(frozen=True)
class FilledBy:
    """Pydantic field metadata: the client fills this field; forms do not show it."""

    role: str


ACTOR = FilledBy("actor")
"""Who acts (the requester, reviewer, approver): the user at the keyboard."""
ROUND = FilledBy("round")
"""The awaited round an answer is for (`progress.awaiting.request_id`)."""
IDEMPOTENCY_KEY = FilledBy("idempotency_key")
"""A fresh key per user action, so a resent request is not done twice."""


def filled_by(model: type[BaseModel], field: str) -> str | None:
    """The role of a client-filled field, or None when a person fills it in."""
    info = model.model_fields[field]
    return next((m.role for m in info.metadata if isinstance(m, FilledBy)), None)


def field_with_role(model: type[BaseModel], role: str) -> str | None:
    """The name of the field the client fills with `role`, if the model has one."""
    return next((name for name in model.model_fields if filled_by(model, name) == role), None)


def value_with_role(body: BaseModel, role: str) -> Any:
    """The value of the field of `body` that has `role`, or None."""
    name = field_with_role(type(body), role)
    return getattr(body, name) if name else None
