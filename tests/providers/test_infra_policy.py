"""Infra run policy: rules as data (every kind passing and failing on small plans, the shipped
default.yaml, broken files refused on one readable line), OPA through a fake `opa` binary
(verdicts, errors, timeouts and cancellation that leave no process behind), and the factory."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from backend.domains.infra.opa import INPUT_FILE, OpaDecision, OpaPolicyEngine, decision_results
from backend.domains.infra.plan import ChangeAction, Plan, PolicyResult, ResourceChange
from backend.domains.infra.policy import (
    DEFAULT_POLICY_FILE,
    DEFAULT_REGO_POLICY,
    RulesPolicyEngine,
    load_rules,
    parse_rules,
    policy_engine,
)
from backend.domains.infra.providers import InvalidConfiguration, RunnerFailed, Workspace

FAKE_OPA = Path(__file__).with_name("fake_opa.py")
DEFAULT_IDS = [
    "no-admin-principals",
    "no-deletes-in-protected-environment",
    "at-most-10-changes",
    "required-tags",
]


def change(
    address: str,
    action: ChangeAction | str = ChangeAction.CREATE,
    after: dict[str, Any] | None = None,
) -> ResourceChange:
    """A resource change of `address` (`type.name`)."""
    type_, name = address.split(".", 1)
    if after is None and action not in (ChangeAction.DELETE,):
        after = {}
    return ResourceChange(address=address, type=type_, name=name, action=action, after=after)


def user(
    name: str, access: str, action: ChangeAction | str = ChangeAction.CREATE
) -> ResourceChange:
    """A temporalcloud_user with `account_access`."""
    return change(f"temporalcloud_user.{name}", action, {"account_access": access})


def namespace(
    name: str, tags: dict[str, Any] | None, action: ChangeAction | str = ChangeAction.CREATE
) -> ResourceChange:
    """A temporalcloud_namespace with `tags`."""
    return change(f"temporalcloud_namespace.{name}", action, {"name": name, "tags": tags})


def verdict(rules: str, *changes: ResourceChange, **variables: str) -> PolicyResult:
    """The verdict of the one rule in `rules` (YAML) on a plan of `changes`."""
    [rule] = parse_rules(rules, source="test.yaml")
    return rule.evaluate(Plan(changes=list(changes)), variables)


def workspace(tmp_path: Path, **variables: str) -> Workspace:
    """A workspace whose run dir does not exist yet."""
    return Workspace(directory=tmp_path, run_dir=tmp_path / "runs" / "r1", variables=variables)


def default_results(plan: Plan, **variables: str) -> dict[str, PolicyResult]:
    """The shipped default rules' verdicts by id."""
    results = [rule.evaluate(plan, variables) for rule in load_rules(DEFAULT_POLICY_FILE)]
    return {r.id: r for r in results}


ADMIN_RULE = """
rules:
  - id: no-admin-principals
    kind: forbid_values
    resource_types: ["temporalcloud_user", "temporalcloud_service_account"]
    attribute: account_access
    values: [admin, owner]
    message: "{address} grants {value} access; admin principals need approval"
"""


def test_forbid_values_fails_on_an_admin_user_naming_it() -> None:
    result = verdict(ADMIN_RULE, user("ann", "admin"), user("bob", "developer"))
    assert not result.passed
    assert result.message == (
        "temporalcloud_user.ann grants admin access; admin principals need approval"
    )
    assert result.resources == ["temporalcloud_user.ann"]


def test_forbid_values_passes_with_a_statement_of_what_it_checks() -> None:
    result = verdict(ADMIN_RULE, user("bob", "developer"), user("cy", "read"))
    assert result.passed
    assert result.resources == []
    assert result.message == (
        "no temporalcloud_user or temporalcloud_service_account sets account_access "
        "to admin or owner"
    )


def test_forbid_values_is_case_insensitive_and_joins_every_failure() -> None:
    account = change("temporalcloud_service_account.ci", after={"account_access": "Owner"})
    result = verdict(ADMIN_RULE, user("ann", "ADMIN"), account)
    assert not result.passed
    assert result.resources == ["temporalcloud_user.ann", "temporalcloud_service_account.ci"]
    assert "temporalcloud_user.ann grants ADMIN access" in result.message
    assert "; temporalcloud_service_account.ci grants Owner access" in result.message


def test_forbid_values_searches_lists_element_wise() -> None:
    rules = """
rules:
  - id: no-namespace-admins
    kind: forbid_values
    resource_types: ["temporalcloud_*"]
    attribute: namespace_access.permission
    values: [admin]
    message: "{address}: {attribute} {value}"
"""
    access = [
        {"email": "a@example.com", "permission": "write"},
        {"email": "b@example.com", "permission": "Admin"},
    ]
    failing = change("temporalcloud_user.b", after={"namespace_access": access})
    result = verdict(rules, failing)
    assert not result.passed
    assert result.message == "temporalcloud_user.b: namespace_access.permission Admin"
    fine = change("temporalcloud_user.a", after={"namespace_access": access[:1]})
    assert verdict(rules, fine).passed


def test_forbid_values_ignores_other_types_deletes_and_no_ops() -> None:
    result = verdict(
        ADMIN_RULE,
        change("temporalcloud_namespace.ns", after={"account_access": "admin"}),
        user("ann", "admin", ChangeAction.NOOP),
        change("temporalcloud_user.old", ChangeAction.DELETE),
    )
    assert result.passed


def test_forbid_values_checks_updates_and_replacements() -> None:
    result = verdict(
        ADMIN_RULE, user("ann", "admin", ChangeAction.UPDATE), user("bo", "admin", "replace")
    )
    assert result.resources == ["temporalcloud_user.ann", "temporalcloud_user.bo"]


NO_DELETES = """
rules:
  - id: no-deletes-in-protected-environment
    kind: no_deletes
    when: {variable: environment, in: [prod, production]}
    message: "{address} would be destroyed in {environment}"
"""


def test_no_deletes_fails_on_deletes_and_replacements_in_prod() -> None:
    result = verdict(
        NO_DELETES,
        namespace("gone", None, ChangeAction.DELETE),
        namespace("again", {}, ChangeAction.REPLACE),
        namespace("new", {}),
        environment="prod",
    )
    assert not result.passed
    assert result.resources == [
        "temporalcloud_namespace.gone",
        "temporalcloud_namespace.again",
    ]
    assert result.message == (
        "temporalcloud_namespace.gone would be destroyed in prod; "
        "temporalcloud_namespace.again would be destroyed in prod"
    )


def test_no_deletes_condition_is_case_insensitive() -> None:
    result = verdict(NO_DELETES, namespace("gone", None, "delete"), environment="Production")
    assert not result.passed
    assert result.message == "temporalcloud_namespace.gone would be destroyed in Production"


def test_no_deletes_passes_when_the_condition_is_not_met() -> None:
    gone = namespace("gone", None, ChangeAction.DELETE)
    in_dev = verdict(NO_DELETES, gone, environment="dev")
    assert in_dev.passed
    assert in_dev.message == (
        "no resource is deleted or replaced when environment is prod or production "
        "(not in effect: environment is 'dev')"
    )
    unset = verdict(NO_DELETES, gone)
    assert unset.passed
    assert unset.message.endswith("(not in effect: environment is not set)")


def test_no_deletes_without_condition_and_default_message() -> None:
    rules = "rules: [{id: keep, kind: no_deletes, resource_types: [temporalcloud_namespace]}]"
    result = verdict(rules, namespace("gone", None, "delete"), user("old", "read", "delete"))
    assert result.message == "temporalcloud_namespace.gone would be destroyed (delete)"
    assert result.resources == ["temporalcloud_namespace.gone"]


MAX_CHANGES = """
rules:
  - id: at-most-3-changes
    kind: max_changes
    limit: 3
    message: "the plan changes {count} resources (at most {limit} without approval)"
"""


def test_max_changes_fails_above_the_limit_naming_every_change() -> None:
    changes = [user(f"u{i}", "read") for i in range(4)]
    result = verdict(MAX_CHANGES, *changes)
    assert not result.passed
    assert result.message == "the plan changes 4 resources (at most 3 without approval)"
    assert result.resources == [c.address for c in changes]


def test_max_changes_counts_only_effective_changes() -> None:
    changes = [user(f"u{i}", "read") for i in range(3)]
    changes += [user("same", "read", "no-op"), change("data_thing.x", ChangeAction.READ)]
    result = verdict(MAX_CHANGES, *changes)
    assert result.passed
    assert result.message == "at most 3 resources change"


REQUIRED_TAGS = """
rules:
  - id: required-tags
    kind: required_tags
    resource_types: ["temporalcloud_namespace"]
    tags: [owner, environment]
    message: "{address} lacks tags: {missing}"
"""


def test_required_tags_names_the_missing_ones() -> None:
    result = verdict(
        REQUIRED_TAGS,
        namespace("a", {"owner": "payments"}),
        namespace("b", None, ChangeAction.UPDATE),
        namespace("c", {"owner": "", "environment": "dev"}),
    )
    assert not result.passed
    assert result.message == (
        "temporalcloud_namespace.a lacks tags: environment; "
        "temporalcloud_namespace.b lacks tags: owner, environment; "
        "temporalcloud_namespace.c lacks tags: owner"
    )
    assert result.resources == [f"temporalcloud_namespace.{n}" for n in "abc"]


def test_required_tags_passes_on_tagged_created_resources_only() -> None:
    result = verdict(
        REQUIRED_TAGS,
        namespace("a", {"owner": "payments", "environment": "prod"}),
        namespace("gone", None, ChangeAction.DELETE),
        user("ann", "read"),
    )
    assert result.passed
    assert result.message == "every temporalcloud_namespace is tagged owner and environment"


def test_forbid_actions_and_description_as_passed_message() -> None:
    rules = """
rules:
  - id: no-namespace-replacement
    kind: forbid_actions
    description: namespaces are never replaced
    resource_types: [temporalcloud_namespace]
    actions: [replace]
"""
    failing = verdict(rules, namespace("a", {}, ChangeAction.REPLACE), namespace("b", {}))
    assert failing.message == "temporalcloud_namespace.a: replace is not allowed"
    assert failing.resources == ["temporalcloud_namespace.a"]
    passing = verdict(rules, namespace("b", {}, ChangeAction.UPDATE))
    assert passing.passed
    assert passing.message == "namespaces are never replaced"


def test_json_is_accepted_as_yaml() -> None:
    rules = json.dumps({"rules": [{"id": "small", "kind": "max_changes", "limit": 0}]})
    result = verdict(rules, user("ann", "read"))
    assert result.message == "the plan changes 1 resources (at most 0)"


def test_default_rules_ship_the_four_rules() -> None:
    assert [rule.id for rule in load_rules(DEFAULT_POLICY_FILE)] == DEFAULT_IDS


def test_default_rules_on_a_good_and_a_bad_plan() -> None:
    good = Plan(changes=[namespace("ns", {"owner": "me", "environment": "dev"}), user("a", "read")])
    assert all(r.passed for r in default_results(good, environment="prod").values())

    bad = Plan(
        changes=[
            user("ann", "admin"),
            namespace("ns", {"owner": "me"}),
            namespace("old", None, ChangeAction.DELETE),
            *[user(f"u{i}", "read") for i in range(8)],
        ]
    )
    results = default_results(bad, environment="prod")
    assert [id_ for id_, r in results.items() if not r.passed] == DEFAULT_IDS
    assert results["at-most-10-changes"].message == (
        "the plan changes 11 resources (at most 10 without approval)"
    )
    assert default_results(bad, environment="dev")["no-deletes-in-protected-environment"].passed


async def test_rules_engine_reports_with_plan_variables_over_the_run_s(tmp_path: Path) -> None:
    engine = RulesPolicyEngine(DEFAULT_POLICY_FILE)
    plan = Plan(changes=[namespace("old", None, "delete")], variables={"environment": "prod"})
    report = await engine.evaluate(plan, workspace(tmp_path, environment="dev"))
    assert report.engine == "rules" == engine.name
    assert [r.id for r in report.results] == DEFAULT_IDS
    assert [r.id for r in report.failures] == ["no-deletes-in-protected-environment"]


async def test_rules_engine_reads_an_edited_file_on_the_next_evaluation(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text("rules: [{id: tiny, kind: max_changes, limit: 0}]")
    engine = RulesPolicyEngine(path)
    plan = Plan(changes=[user("ann", "read")])
    assert not (await engine.evaluate(plan, workspace(tmp_path))).passed
    path.write_text("rules: [{id: roomy, kind: max_changes, limit: 5}]")
    assert (await engine.evaluate(plan, workspace(tmp_path))).passed


BAD_FILES = {
    "unknown kind": (
        "rules: [{id: odd, kind: forbid_value, attribute: a, values: [x]}]",
        "rule 'odd': unknown kind 'forbid_value' (expected one of forbid_values, ",
    ),
    "duplicate id": (
        "rules: [{id: a, kind: no_deletes}, {id: b, kind: no_deletes}, {id: a, kind: no_deletes}]",
        "rule 'a': duplicate id (rule #1 has it too)",
    ),
    "bad yaml": ("rules: [{id: a, kind: no_deletes\n", "not valid YAML: "),
    "missing field": (
        "rules: [{id: tags, kind: required_tags}]",
        "rule 'tags': missing field 'tags'",
    ),
    "missing kind": ("rules: [{id: what}]", "rule 'what': missing field 'kind'"),
    "missing id": ("rules: [{kind: no_deletes}]", "rule #1: missing field 'id'"),
    "unknown field": (
        "rules: [{id: a, kind: max_changes, limit: 3, limits: 4}]",
        "rule 'a': unknown field 'limits'",
    ),
    "unknown placeholder": (
        "rules: [{id: a, kind: max_changes, limit: 3, message: '{count} > {maximum}'}]",
        "rule 'a': message has unknown placeholder {maximum} (known: {count}, {limit})",
    ),
    "placeholder without when": (
        "rules: [{id: a, kind: no_deletes, message: '{address} in {environment}'}]",
        "rule 'a': message has unknown placeholder {environment}",
    ),
    "bad when": (
        "rules: [{id: a, kind: no_deletes, when: {variable: environment}}]",
        "rule 'a': missing field 'when.in'",
    ),
    "bad action": (
        "rules: [{id: a, kind: forbid_actions, actions: [destroy]}]",
        "rule 'a': actions.0: Input should be 'create', 'update'",
    ),
    "bad id": ("rules: [{id: 'no admins', kind: no_deletes}]", "rule 'no admins': id: use letters"),
    "no rules list": ("policies: []", "expected a mapping with a 'rules' list"),
    "rule not a mapping": ("rules: [no_deletes]", "rule #1: expected a mapping with id and kind"),
}


@pytest.mark.parametrize("case", BAD_FILES, ids=list(BAD_FILES))
def test_a_broken_rules_file_is_refused_on_one_line(tmp_path: Path, case: str) -> None:
    text, expected = BAD_FILES[case]
    path = tmp_path / "broken-policy.yaml"
    path.write_text(text)
    with pytest.raises(InvalidConfiguration) as caught:
        load_rules(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ")
    assert expected in message
    assert "\n" not in message


def test_a_missing_rules_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidConfiguration, match=r"nowhere.yaml: policy file does not exist"):
        load_rules(tmp_path / "nowhere.yaml")


async def test_rules_engine_refuses_a_broken_file_at_evaluation(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text("rules: [{id: a, kind: nope}]")
    with pytest.raises(InvalidConfiguration, match=r"policy.yaml: rule 'a': unknown kind"):
        await RulesPolicyEngine(path).evaluate(Plan(), workspace(tmp_path))


# OPA, through tests/providers/fake_opa.py


@pytest.fixture
def opa(tmp_path: Path) -> str:
    """An executable `opa` that runs the fake."""
    wrapper = tmp_path / "bin" / "opa"
    wrapper.parent.mkdir()
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{FAKE_OPA}" "$@"\n')
    wrapper.chmod(0o755)
    return str(wrapper)


def opa_engine(binary: str, timeout_seconds: float = 20.0) -> OpaPolicyEngine:
    """The OPA engine on the shipped rego (the fake only checks that it exists)."""
    return OpaPolicyEngine(binary, DEFAULT_REGO_POLICY, timeout_seconds=timeout_seconds)


def process_is_gone(pid: int) -> bool:
    """True when no process has `pid` (it was killed and reaped)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


async def pid_from(pidfile: Path) -> int:
    """The pid the fake writes once it runs."""
    for _ in range(500):
        if pidfile.exists() and pidfile.read_text():
            return int(pidfile.read_text())
        await asyncio.sleep(0.01)
    raise AssertionError("the fake opa never started")


async def test_opa_passes_every_check_without_a_deny(opa: str, tmp_path: Path) -> None:
    report = await opa_engine(opa).evaluate(
        Plan(changes=[user("bob", "read")]), workspace(tmp_path)
    )
    assert report.engine == "opa"
    assert report.passed
    assert report.results == [
        PolicyResult(id="no-admin-principals", passed=True, message="no admin principals")
    ]


async def test_opa_denies_merge_into_one_failed_result(opa: str, tmp_path: Path) -> None:
    plan = Plan(changes=[user("ann", "admin"), user("bob", "read"), user("cy", "owner", "update")])
    report = await opa_engine(opa).evaluate(plan, workspace(tmp_path))
    [result] = report.results
    assert not result.passed
    assert result.message == (
        "temporalcloud_user.ann grants admin access; temporalcloud_user.cy grants owner access"
    )
    assert result.resources == ["temporalcloud_user.ann", "temporalcloud_user.cy"]


async def test_opa_input_is_shaped_like_terraform_show_json(
    opa: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    record = tmp_path / "seen.json"
    monkeypatch.setenv("FAKE_OPA_RECORD", str(record))
    plan = Plan(
        changes=[namespace("ns", {"owner": "me"}, ChangeAction.REPLACE)],
        variables={"environment": "prod"},
    )
    space = workspace(tmp_path, region="eu", environment="dev")
    await opa_engine(opa).evaluate(plan, space)
    seen = json.loads(record.read_text())
    assert seen == {
        "resource_changes": [
            {
                "address": "temporalcloud_namespace.ns",
                "mode": "managed",
                "type": "temporalcloud_namespace",
                "name": "ns",
                "change": {
                    "actions": ["delete", "create"],
                    "before": None,
                    "after": {"name": "ns", "tags": {"owner": "me"}},
                },
            }
        ],
        "variables": {"region": {"value": "eu"}, "environment": {"value": "prod"}},
    }
    assert json.loads((space.run_dir / INPUT_FILE).read_text()) == seen


async def test_opa_broken_policy_is_invalid_configuration(
    opa: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_OPA_EXIT", "1")
    with pytest.raises(InvalidConfiguration) as caught:
        await opa_engine(opa).evaluate(Plan(), workspace(tmp_path))
    assert str(caught.value) == (
        f"{DEFAULT_REGO_POLICY}: opa eval failed (exit 1): 1 error occurred: "
        "policy.rego:3: rego_parse_error: unexpected eof token"
    )


async def test_opa_json_errors_are_read_from_its_output(
    opa: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_OPA_EXIT", "1")
    monkeypatch.setenv("FAKE_OPA_ERROR_FORMAT", "json")
    with pytest.raises(InvalidConfiguration, match=r"\(exit 1\): policy.rego:3: rego_parse_error"):
        await opa_engine(opa).evaluate(Plan(), workspace(tmp_path))


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        ("not json at all", "printed something that is not JSON"),
        ("{}", "data.flightdeck.policy is undefined"),
        (
            '{"result": [{"expressions": [{"value": {"deny": "everything"}}]}]}',
            "data.flightdeck.policy should be {deny: [...], checks: [...]}; deny:",
        ),
    ],
    ids=["garbage", "undefined", "wrong shape"],
)
async def test_opa_unusable_output_is_invalid_configuration(
    opa: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, output: str, expected: str
) -> None:
    monkeypatch.setenv("FAKE_OPA_OUTPUT", output)
    with pytest.raises(InvalidConfiguration, match=expected.replace("[", r"\[")):
        await opa_engine(opa).evaluate(Plan(), workspace(tmp_path))


async def test_opa_missing_binary_is_invalid_configuration(tmp_path: Path) -> None:
    engine = opa_engine(str(tmp_path / "no-opa-here"))
    with pytest.raises(InvalidConfiguration, match="cannot run opa binary"):
        await engine.evaluate(Plan(), workspace(tmp_path))
    with pytest.raises(InvalidConfiguration, match="not found or not executable"):
        engine.check()


async def test_opa_timeout_is_retryable_and_kills_the_process(
    opa: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pidfile = tmp_path / "opa.pid"
    monkeypatch.setenv("FAKE_OPA_PIDFILE", str(pidfile))
    monkeypatch.setenv("FAKE_OPA_SLEEP", "30")
    with pytest.raises(RunnerFailed, match="did not finish within 1s"):
        await opa_engine(opa, timeout_seconds=1).evaluate(Plan(), workspace(tmp_path))
    assert not isinstance(RunnerFailed(), InvalidConfiguration)
    assert process_is_gone(int(pidfile.read_text()))


async def test_opa_cancellation_kills_the_process(
    opa: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pidfile = tmp_path / "opa.pid"
    monkeypatch.setenv("FAKE_OPA_PIDFILE", str(pidfile))
    monkeypatch.setenv("FAKE_OPA_SLEEP", "30")
    task = asyncio.create_task(opa_engine(opa).evaluate(Plan(), workspace(tmp_path)))
    pid = await pid_from(pidfile)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert process_is_gone(pid)


def test_opa_decision_checks_then_unchecked_denies_and_plain_strings() -> None:
    decision = OpaDecision.model_validate(
        {
            "deny": [
                {"id": "b", "msg": "b1", "resources": ["x.1"]},
                "plain message",
                {"id": "b", "msg": "b2", "resources": ["x.2", "x.1"]},
                {"id": "extra", "msg": "not a check"},
            ],
            "checks": [{"id": "a", "description": "checks a"}, {"id": "b"}],
        }
    )
    assert decision_results(decision) == [
        PolicyResult(id="a", passed=True, message="checks a"),
        PolicyResult(id="b", passed=False, message="b1; b2", resources=["x.1", "x.2"]),
        PolicyResult(id="deny", passed=False, message="plain message"),
        PolicyResult(id="extra", passed=False, message="not a check"),
    ]


def test_shipped_rego_declares_the_default_rules() -> None:
    rego = DEFAULT_REGO_POLICY.read_text()
    assert "package flightdeck.policy" in rego
    for rule_id in DEFAULT_IDS:
        assert f'"id": "{rule_id}"' in rego


# The factory


def test_factory_defaults_to_the_shipped_rules() -> None:
    engine = policy_engine(None, None)
    assert isinstance(engine, RulesPolicyEngine)
    assert engine.path == DEFAULT_POLICY_FILE


def test_factory_uses_a_given_rules_file(tmp_path: Path) -> None:
    path = tmp_path / "mine.yml"
    path.write_text("rules: []")
    engine = policy_engine(path, None)
    assert isinstance(engine, RulesPolicyEngine)
    assert engine.path == path


def test_factory_picks_opa_when_a_binary_is_given(opa: str, tmp_path: Path) -> None:
    engine = policy_engine(None, opa)
    assert isinstance(engine, OpaPolicyEngine)
    assert engine.policy_path == DEFAULT_REGO_POLICY
    assert engine.binary == opa
    assert isinstance(policy_engine(tmp_path, opa), OpaPolicyEngine)


def test_factory_refuses_what_cannot_work(opa: str, tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("rules: [{id: a}]")
    with pytest.raises(InvalidConfiguration, match=r"broken.yaml: rule 'a': missing field"):
        policy_engine(broken, None)
    with pytest.raises(InvalidConfiguration, match="a rego policy needs the opa binary"):
        policy_engine(DEFAULT_REGO_POLICY, None)
    with pytest.raises(InvalidConfiguration, match=r"OPA needs a .rego file or a directory"):
        policy_engine(DEFAULT_POLICY_FILE, opa)
    with pytest.raises(InvalidConfiguration, match=r"'no-such-opa' not found"):
        policy_engine(None, "no-such-opa")
    with pytest.raises(InvalidConfiguration, match=r"missing.rego: rego policy does not exist"):
        policy_engine(tmp_path / "missing.rego", opa)
