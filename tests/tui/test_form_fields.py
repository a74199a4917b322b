"""Forms from request models: which fields a person fills, what the client fills, choice keys,
and validation errors as one line about one field."""

from __future__ import annotations

from backend.domains.infra.model import CreateInfraRun
from backend.domains.labs.model import CancelLab, CreateLab, ReviewDecision, ReviewLab
from backend.domains.tenants.model import CreateTenant, DeprovisionTenant, TenantPlan
from tui.form_fields import (
    FormProblem,
    build,
    choice_keys,
    choice_label,
    client_filled,
    form_fields,
)


def test_client_filled_fields_are_not_asked_for() -> None:
    assert [f.name for f in form_fields(ReviewLab)] == ["decision", "comment"]
    assert [f.name for f in form_fields(CancelLab)] == ["reason"]
    assert [f.name for f in form_fields(CreateTenant)] == ["name", "plan", "admin_email", "region"]


def test_field_kinds_defaults_and_descriptions_come_from_the_model() -> None:
    fields = {f.name: f for f in form_fields(CreateLab)}
    assert (fields["severity"].kind, fields["severity"].default) == ("choice", "medium")
    assert fields["severity"].choices == ("low", "medium", "high", "critical")
    assert (fields["ttl_hours"].kind, fields["ttl_hours"].default) == ("int", 8)
    assert fields["ttl_hours"].description == "Hours the lab runs before expiry"
    assert fields["name"].required and fields["name"].kind == "text"
    deprovision = {f.name: f for f in form_fields(DeprovisionTenant)}
    assert (deprovision["backup"].kind, deprovision["backup"].default) == ("bool", True)
    review = {f.name: f for f in form_fields(ReviewLab)}
    assert review["decision"].required and review["decision"].default is None


def test_client_fills_actor_key_and_round_by_role() -> None:
    values = {"actor": "carol", "idempotency_key": "k1", "round": "r-7"}
    assert client_filled(ReviewLab, values) == {
        "reviewer": "carol",
        "request_id": "r-7",
        "idempotency_key": "k1",
    }
    assert client_filled(CreateTenant, {"actor": "carol"}) == {"requested_by": "carol"}
    assert client_filled(ReviewLab, {"actor": "carol", "round": None}) == {"reviewer": "carol"}


def test_choice_keys_prefer_word_initials_and_avoid_taken_keys() -> None:
    labels = [choice_label(d.value) for d in ReviewDecision]
    assert labels == ["Approve", "Request changes"]
    assert choice_keys(labels) == ["a", "r"]
    assert choice_keys(labels, taken=["r"]) == ["a", "c"]
    regions = ["us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-1"]
    assert choice_keys(regions) == ["u", "w", "e", "c", "a"]
    assert [choice_label(p.value) for p in TenantPlan] == [
        "Free",
        "Standard",
        "Premium",
        "Enterprise",
    ]


def test_build_validates_with_the_model() -> None:
    fields = form_fields(CreateLab)
    built = build(
        CreateLab,
        fields,
        {"name": "demo", "severity": "high", "ttl_hours": "12"},
        {"requested_by": "carol"},
    )
    assert built == CreateLab(name="demo", requested_by="carol", severity="high", ttl_hours=12)


def test_build_says_what_is_wrong_about_which_field() -> None:
    fields = form_fields(CreateLab)
    filled = {"requested_by": "carol"}
    bad_name = build(CreateLab, fields, {"name": "Bad Name", "ttl_hours": "8"}, filled)
    assert bad_name == FormProblem(
        "name", "name: lower-case letters, digits and dashes; starts with a letter or digit"
    )
    empty = build(CreateLab, fields, {"name": "", "ttl_hours": "8"}, filled)
    assert empty == FormProblem("name", "name: required")
    not_int = build(CreateLab, fields, {"name": "ok", "ttl_hours": "soon"}, filled)
    assert not_int == FormProblem("ttl_hours", "ttl hours: 'soon' is not a whole number")
    too_big = build(CreateLab, fields, {"name": "ok", "ttl_hours": "9999"}, filled)
    assert isinstance(too_big, FormProblem) and too_big.field == "ttl_hours"
    review = build(ReviewLab, form_fields(ReviewLab), {"decision": None}, {"reviewer": "c"})
    assert review == FormProblem("decision", "decision: choose one")


def test_a_mapping_field_is_typed_as_name_value_pairs() -> None:
    fields = form_fields(CreateInfraRun)
    kinds = {f.name: f.kind for f in fields}
    assert kinds["variables"] == "mapping" and kinds["approval_timeout_minutes"] == "int"
    entered = {"name": "ns", "directory": "namespace", "require_approval": False}
    built = build(
        CreateInfraRun, fields, {**entered, "variables": "environment=prod, region = eu"}, {}
    )
    assert isinstance(built, CreateInfraRun)
    assert built.variables == {"environment": "prod", "region": "eu"}
    empty = build(CreateInfraRun, fields, {**entered, "variables": ""}, {})
    assert isinstance(empty, CreateInfraRun) and empty.variables == {}
    problem = build(CreateInfraRun, fields, {**entered, "variables": "environment"}, {})
    assert problem == FormProblem(
        "variables", "variables: 'environment' is not name=value (write name=value, name=value)"
    )
    twice = build(CreateInfraRun, fields, {**entered, "variables": "a=1, a=2"}, {})
    assert isinstance(twice, FormProblem) and "a is given twice" in twice.message
