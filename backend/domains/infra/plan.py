"""What a terraform run produces and what policy says about it: the plan, its resource changes,
policy results, apply results. Pure data shared by the runners, the policy engines, the workflow
and the API (the plan summary and policy results are part of an infra run's record).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field


class ChangeAction(StrEnum):
    """What a plan does to one resource (terraform's `change.actions`, folded to one word)."""

    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    REPLACE = "replace"
    """Delete then create (or create then delete): terraform's `["delete", "create"]`."""
    NOOP = "no-op"
    READ = "read"

    @property
    def symbol(self) -> str:
        """The sign terraform prints for it: `+`, `~`, `-`, `-/+`, ` `, `<=`."""
        return _SYMBOLS[self]


_SYMBOLS = {
    ChangeAction.CREATE: "+",
    ChangeAction.UPDATE: "~",
    ChangeAction.DELETE: "-",
    ChangeAction.REPLACE: "-/+",
    ChangeAction.NOOP: " ",
    ChangeAction.READ: "<=",
}


class ResourceChange(BaseModel):
    """One resource of a plan: its address, type, what happens to it, before and after."""

    address: str
    """`type.name` (terraform's address, e.g. `temporalcloud_namespace.payments`)."""
    type: str
    name: str
    action: ChangeAction
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None


class PlanSummary(BaseModel):
    """Counts of a plan, as terraform's last plan line says them."""

    add: int = 0
    change: int = 0
    destroy: int = 0

    def __str__(self) -> str:
        return f"{self.add} to add, {self.change} to change, {self.destroy} to destroy"


class Plan(BaseModel):
    """A plan of one directory with its variables: every resource change, and the digest that
    names it (apply refuses a plan whose digest no longer matches what is planned now)."""

    changes: list[ResourceChange] = Field(default_factory=list)
    variables: dict[str, str] = Field(default_factory=dict)
    """The variables it was planned with (after defaults)."""
    digest: str = ""
    """Stable hash of `changes`: the same desired change set gives the same digest."""

    @property
    def summary(self) -> PlanSummary:
        """How many resources it adds, changes and destroys (a replace counts as add + destroy)."""
        summary = PlanSummary()
        for change in self.changes:
            if change.action in (ChangeAction.CREATE, ChangeAction.REPLACE):
                summary.add += 1
            if change.action in (ChangeAction.DELETE, ChangeAction.REPLACE):
                summary.destroy += 1
            if change.action == ChangeAction.UPDATE:
                summary.change += 1
        return summary

    @property
    def effective(self) -> list[ResourceChange]:
        """The changes that do something (no no-op, no read)."""
        return [c for c in self.changes if c.action not in (ChangeAction.NOOP, ChangeAction.READ)]


class PolicyResult(BaseModel):
    """One policy rule's verdict on a plan."""

    id: str
    """The rule's id, e.g. `no-admin-principals`."""
    passed: bool
    message: str
    """What the rule checks (passed) or what is wrong (failed), for the approver."""
    resources: list[str] = Field(default_factory=list)
    """Addresses of the resources that broke the rule."""


class PolicyReport(BaseModel):
    """Every rule's verdict on one plan, and which engine gave it."""

    engine: str
    """`rules` (Flightdeck's data rules) or `opa` (rego through the opa binary)."""
    results: list[PolicyResult] = Field(default_factory=list)

    @property
    def passed(self) -> bool:
        """True when every rule passed."""
        return all(r.passed for r in self.results)

    @property
    def failures(self) -> list[PolicyResult]:
        """The rules that failed."""
        return [r for r in self.results if not r.passed]


class ApplyResult(BaseModel):
    """What an apply did."""

    applied: int
    """Resource changes carried out (by this attempt and earlier ones)."""
    total: int
    resumed_from: int = 0
    """Changes an earlier, interrupted attempt had already carried out."""


class Outputs(BaseModel):
    """`terraform output -json` (or the sandbox's equivalent): name → value."""

    values: dict[str, Any] = Field(default_factory=dict)
    sensitive: list[str] = Field(default_factory=list)
    """Names whose values are sensitive (shown masked)."""


def plan_digest(changes: Iterable[ResourceChange]) -> str:
    """sha256 of the effective changes (address, action, after) as canonical JSON, in address
    order: what `Plan.digest` holds, the same for every runner and for the same change set."""
    effective = sorted((c for c in changes if c.action not in _NO_EFFECT), key=lambda c: c.address)
    canonical = "[" + ",".join(_canonical(c) for c in effective) + "]"
    return hashlib.sha256(canonical.encode()).hexdigest()


def unapproved_changes(
    current: Iterable[ResourceChange], approved: Plan, *, absent_is_unknown: bool = False
) -> list[ResourceChange]:
    """The effective changes of `current` that do not continue the approved plan: empty when
    applying `current` carries out (what is left of) `approved`.

    A change continues an approved one of the same address when the actions agree (or it is
    a create left of an approved replace whose delete is done) and its `after` agrees with the
    approved `after`. No-ops and reads are always fine (done already, or nothing to do).

    `absent_is_unknown`: terraform's plan JSON leaves out of `after` what is not known until
    apply (ids, values from resources not created yet), so an attribute absent from the
    approved `after` may be anything now; only the attributes it holds are compared. Without
    it (runners whose `after` names every attribute) the whole `after` must be equal.
    """
    allowed: dict[str, list[ResourceChange]] = {}
    for change in approved.effective:
        allowed.setdefault(change.address, []).append(change)
    return [
        change
        for change in current
        if change.action not in _NO_EFFECT
        and not any(
            _continues(change, approved_change, absent_is_unknown)
            for approved_change in allowed.get(change.address, [])
        )
    ]


def _continues(current: ResourceChange, approved: ResourceChange, absent_is_unknown: bool) -> bool:
    """Whether `current` is (the rest of) the `approved` change of the same address."""
    if current.action != approved.action and not (
        approved.action == ChangeAction.REPLACE and current.action == ChangeAction.CREATE
    ):
        return False
    if not absent_is_unknown or approved.after is None or current.after is None:
        return _canonical_value(current.after) == _canonical_value(approved.after)
    return all(
        key in current.after and _canonical_value(current.after[key]) == _canonical_value(value)
        for key, value in approved.after.items()
    )


_NO_EFFECT = (ChangeAction.NOOP, ChangeAction.READ)


def _canonical(change: ResourceChange) -> str:
    """A change's address, action and after as canonical JSON (sorted keys, no spaces)."""
    fields = {"address": change.address, "action": change.action.value, "after": change.after}
    return _canonical_value(fields)


def _canonical_value(value: Any) -> str:
    """Any JSON-like value as canonical JSON (sorted keys, no spaces)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
