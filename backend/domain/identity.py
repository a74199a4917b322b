"""Who is acting: a principal (from a personal API token, an OIDC bearer token, or the shared
data-dir token) with roles, and which role each kind of request needs.

Pure data and rules, shared with the TUI (which hides what the role may not do).
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field

from backend.domain.entity import ActionSpec
from backend.domain.names import Actor


class Role(StrEnum):
    """What a principal may do. Each role includes the ones before it, except `worker`."""

    VIEWER = "viewer"
    """Read everything."""
    OPERATOR = "operator"
    """Create entities and take the actions that are not approvals (cancel, retry, ...)."""
    APPROVER = "approver"
    """Also answer what a workflow waits for (review, approve, deny)."""
    ADMIN = "admin"
    """Everything, including the internal status endpoints."""
    WORKER = "worker"
    """Only the internal status endpoints (a `flightdeck worker` elsewhere)."""


_LADDER = (Role.VIEWER, Role.OPERATOR, Role.APPROVER, Role.ADMIN)


class Principal(BaseModel):
    """Who the request comes from, as authentication says."""

    name: Actor
    roles: list[Role] = Field(default_factory=list)
    via: str
    """`token` (a personal API token), `oidc`, or `shared` (the data dir's token)."""

    @property
    def personal(self) -> bool:
        """True when the identity is a person's own (not the shared token): the actor of what it
        does is its name, whatever a request body says."""
        return self.via != "shared"

    def may(self, needed: Role) -> bool:
        """Whether the principal holds `needed` (or a role above it)."""
        if needed in self.roles:
            return True
        if needed == Role.WORKER:
            return Role.ADMIN in self.roles
        rank = _LADDER.index(needed)
        return any(role in _LADDER and _LADDER.index(role) >= rank for role in self.roles)


def role_for_action(action: ActionSpec) -> Role:
    """Answering what a workflow waits for is an approval; every other action is operating."""
    return Role.APPROVER if action.answers else Role.OPERATOR


def four_eyes_applies(action: ActionSpec) -> bool:
    """Whether the entity's requester is barred from this action (approvals, by default)."""
    return action.four_eyes if action.four_eyes is not None else action.answers is not None


class Me(BaseModel):
    """Response of `GET /api/v1/me`: who the caller is and what it may do."""

    name: str
    roles: list[Role]
    via: str
    four_eyes: bool
    """Whether approvals of one's own requests are refused (personal identities)."""

    @property
    def personal(self) -> bool:
        """True for a person's own identity (not the shared token)."""
        return self.via != "shared"
