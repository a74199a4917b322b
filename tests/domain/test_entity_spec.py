"""Domain declarations are checked when they are made: a broken one fails at import, not in use."""

from __future__ import annotations

from dataclasses import replace

import pytest
from pydantic import BaseModel

from backend.domain.catalog import all_specs, fault_steps, spec_for_kind, spec_for_plural
from backend.domain.entity import VIEW_KEYS, ActionSpec
from backend.domains.labs.spec import SPEC as LABS


def test_every_declared_domain_loads_with_distinct_kinds_views_and_keys() -> None:
    specs = all_specs()
    assert [s.plural for s in specs] == [
        "labs",
        "tenants",
        "infra-runs",
        "digs",
        "hook-runs",
        "processors",
    ]
    assert spec_for_kind("tenant") is spec_for_plural("tenants")
    for spec in specs:
        keys = [a.key for a in spec.actions]
        assert len(set(keys)) == len(keys) and not set(keys) & VIEW_KEYS
    assert {"validation", "dns", "delete_idp"} <= set(fault_steps())


def test_an_action_key_taken_twice_or_by_a_view_is_refused() -> None:
    review = LABS.actions[0]
    with pytest.raises(ValueError, match="action keys"):
        replace(LABS, actions=(review, replace(LABS.actions[1], key=review.key)))
    with pytest.raises(ValueError, match="action keys"):
        replace(LABS, actions=(replace(review, key="q"),))


def test_a_status_or_name_that_is_not_declared_is_refused() -> None:
    with pytest.raises(ValueError, match="not declared"):
        replace(LABS, initial_status="limbo")

    class Nameless(BaseModel):
        title: str

    with pytest.raises(ValueError, match="`name` field"):
        replace(LABS, create=Nameless)


def test_an_action_sends_a_signal_or_starts_a_workflow_never_both() -> None:
    start = spec_for_kind("tenant").action("deprovision").start  # type: ignore[union-attr]
    broken = ActionSpec(
        name="odd", label="Odd", key="x", request=BaseModel, signal="Odd", start=start
    )
    with pytest.raises(ValueError, match="exactly one of signal / start"):
        replace(LABS, actions=(broken,))


def test_the_audit_verb_is_filled_from_the_request() -> None:
    review = LABS.action("review")
    assert review is not None
    body = review.request.model_validate({"decision": "request_changes", "reviewer": "bob"})
    assert review.verb(body) == "review.request_changes"
