"""The sandbox terraform runner plans and applies a resource file against real local state:
terraform's semantics (create, update, delete, no-op), resumable applies, stale-plan refusal."""

from __future__ import annotations

import asyncio
import fcntl
import json
from pathlib import Path

import pytest

import backend.domains.infra
from backend.domains.infra.plan import ChangeAction, Plan, ResourceChange, unapproved_changes
from backend.domains.infra.providers import (
    InvalidConfiguration,
    PlanChanged,
    RunnerFailed,
    Workspace,
)
from backend.domains.infra.sandbox_runner import SandboxTerraformRunner

RESOURCES = """
description: payments namespace
variables:
  environment: {default: dev, description: "dev, staging or prod"}
  region: {default: aws-us-east-1}
  retention_days: {default: "30"}
resources:
  - type: temporalcloud_namespace
    name: payments
    attributes: {name: "payments-${var.environment}", region: "${var.region}",
                 retention_days: "${var.retention_days}"}
    tags: {owner: payments-team, environment: "${var.environment}"}
  - type: temporalcloud_user
    name: oncall
    attributes: {email: oncall@example.com, account_access: developer}
  - type: temporalcloud_apikey
    name: ci
    attributes: {display_name: "ci-${var.environment}"}
outputs:
  namespace_id: "${temporalcloud_namespace.payments.id}"
  endpoint: {value: "${temporalcloud_namespace.payments.endpoint}", sensitive: false}
  summary: "${temporalcloud_namespace.payments.name} in ${var.region}"
  ci_key: {value: "${temporalcloud_apikey.ci.token}", sensitive: true}
"""

EXAMPLES_DIR = Path(backend.domains.infra.__file__).parent / "examples"
ADDRESSES = [
    "temporalcloud_namespace.payments",
    "temporalcloud_user.oncall",
    "temporalcloud_apikey.ci",
]


class Progress:
    """Records every (done, total) a runner reports."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, int]] = []

    def __call__(self, done: int, total: int) -> None:
        self.calls.append((done, total))


@pytest.fixture
def runner(tmp_path: Path) -> SandboxTerraformRunner:
    return SandboxTerraformRunner(tmp_path / "state")


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "payments"
    directory.mkdir()
    (directory / "resources.yaml").write_text(RESOURCES)
    return directory


def workspace(directory: Path, run: str = "run-1", **variables: str) -> Workspace:
    return Workspace(
        directory=directory, run_dir=directory.parent / "runs" / run, variables=variables
    )


def state_addresses(runner: SandboxTerraformRunner, directory: Path) -> list[str]:
    state = json.loads(runner.state_path(directory).read_text())
    return [f"{r['type']}.{r['name']}" for r in state["resources"]]


async def plan_and_apply(runner: SandboxTerraformRunner, ws: Workspace) -> Plan:
    plan = await runner.plan(ws, Progress())
    await runner.apply(ws, plan, Progress())
    return plan


async def test_init_summarises_the_resource_file(
    runner: SandboxTerraformRunner, config_dir: Path
) -> None:
    summary = await runner.init(workspace(config_dir))
    assert summary == f"sandbox: 3 resources, 4 outputs in {config_dir}"


async def test_plan_on_empty_state_creates_everything(
    runner: SandboxTerraformRunner, config_dir: Path
) -> None:
    progress = Progress()
    ws = workspace(config_dir)
    plan = await runner.plan(ws, progress)
    assert [c.address for c in plan.changes] == ADDRESSES
    assert {c.action for c in plan.changes} == {ChangeAction.CREATE}
    assert str(plan.summary) == "3 to add, 0 to change, 0 to destroy"
    namespace = plan.changes[0]
    assert namespace.before is None
    assert namespace.after == {
        "name": "payments-dev",
        "region": "aws-us-east-1",
        "retention_days": "30",
        "tags": {"owner": "payments-team", "environment": "dev"},
    }
    assert plan.variables == {
        "environment": "dev",
        "region": "aws-us-east-1",
        "retention_days": "30",
    }
    assert progress.calls[-1] == (3, 3)
    assert Plan.model_validate_json((ws.run_dir / "plan.json").read_text()) == plan
    assert (await runner.plan(workspace(config_dir, "run-2"), Progress())).digest == plan.digest


async def test_apply_creates_state_and_outputs_resolve_against_it(
    runner: SandboxTerraformRunner, config_dir: Path
) -> None:
    ws = workspace(config_dir)
    plan = await runner.plan(ws, Progress())
    progress = Progress()
    result = await runner.apply(ws, plan, progress)
    assert (result.applied, result.total, result.resumed_from) == (3, 3, 0)
    assert progress.calls == [(0, 3), (1, 3), (2, 3), (3, 3)]
    assert state_addresses(runner, config_dir) == ADDRESSES
    outputs = await runner.outputs(ws)
    assert outputs.values["namespace_id"].startswith("temporalcloud_namespace-payments-")
    assert outputs.values["endpoint"] == "payments-dev.sandbox.tmprl.cloud:7233"
    assert outputs.values["summary"] == "payments-dev in aws-us-east-1"
    assert outputs.values["ci_key"].startswith("tcsk-")
    assert outputs.sensitive == ["ci_key"]


async def test_plan_after_apply_is_all_no_op(
    runner: SandboxTerraformRunner, config_dir: Path
) -> None:
    ws = workspace(config_dir)
    first = await plan_and_apply(runner, ws)
    again = await runner.plan(ws, Progress())
    assert {c.action for c in again.changes} == {ChangeAction.NOOP}
    assert again.effective == []
    assert again.digest != first.digest
    assert again.changes[0].before == again.changes[0].after
    assert again.changes[0].after is not None and "id" in again.changes[0].after


async def test_changed_variable_plans_an_update(
    runner: SandboxTerraformRunner, config_dir: Path
) -> None:
    await plan_and_apply(runner, workspace(config_dir))
    plan = await runner.plan(workspace(config_dir, retention_days="90"), Progress())
    assert [(c.address, c.action) for c in plan.effective] == [
        ("temporalcloud_namespace.payments", ChangeAction.UPDATE)
    ]
    change = plan.effective[0]
    assert change.before is not None and change.after is not None
    assert (change.before["retention_days"], change.after["retention_days"]) == ("30", "90")
    assert change.after["id"] == change.before["id"]
    assert plan.variables["retention_days"] == "90"


async def test_removed_resource_plans_a_delete_and_apply_removes_it(
    runner: SandboxTerraformRunner, config_dir: Path
) -> None:
    ws = workspace(config_dir)
    await plan_and_apply(runner, ws)
    text = RESOURCES.replace(
        "  - type: temporalcloud_user\n    name: oncall\n"
        "    attributes: {email: oncall@example.com, account_access: developer}\n",
        "",
    )
    (config_dir / "resources.yaml").write_text(text)
    plan = await runner.plan(ws, Progress())
    assert [(c.address, c.action) for c in plan.effective] == [
        ("temporalcloud_user.oncall", ChangeAction.DELETE)
    ]
    assert plan.effective[0].after is None
    assert plan.summary.destroy == 1
    await runner.apply(ws, plan, Progress())
    assert state_addresses(runner, config_dir) == [ADDRESSES[0], ADDRESSES[2]]


async def test_applying_an_applied_plan_again_is_a_no_op(
    runner: SandboxTerraformRunner, config_dir: Path
) -> None:
    ws = workspace(config_dir)
    plan = await plan_and_apply(runner, ws)
    before = runner.state_path(config_dir).read_text()
    result = await runner.apply(ws, plan, Progress())
    assert (result.applied, result.total, result.resumed_from) == (3, 3, 3)
    assert runner.state_path(config_dir).read_text() == before


async def test_interrupted_apply_keeps_partial_state_and_resumes(
    runner: SandboxTerraformRunner, config_dir: Path
) -> None:
    ws = workspace(config_dir)
    plan = await runner.plan(ws, Progress())
    applying: asyncio.Task[object] | None = None

    def cancel_after_first(done: int, total: int) -> None:
        if done == 1 and applying is not None:
            applying.cancel()

    applying = asyncio.create_task(runner.apply(ws, plan, cancel_after_first))
    with pytest.raises(asyncio.CancelledError):
        await applying
    assert state_addresses(runner, config_dir) == ADDRESSES[:1]

    progress = Progress()
    result = await runner.apply(ws, plan, progress)
    assert (result.applied, result.total, result.resumed_from) == (3, 3, 1)
    assert progress.calls == [(1, 3), (2, 3), (3, 3)]
    assert state_addresses(runner, config_dir) == ADDRESSES


async def test_apply_refuses_a_plan_the_file_no_longer_matches(
    runner: SandboxTerraformRunner, config_dir: Path
) -> None:
    ws = workspace(config_dir)
    plan = await runner.plan(ws, Progress())
    (config_dir / "resources.yaml").write_text(RESOURCES.replace("developer", "admin"))
    with pytest.raises(PlanChanged, match=r"plan is stale: temporalcloud_user\.oncall changed"):
        await runner.apply(ws, plan, Progress())
    assert not runner.state_path(config_dir).exists()


async def test_apply_refuses_other_variables_than_planned(
    runner: SandboxTerraformRunner, config_dir: Path
) -> None:
    plan = await runner.plan(workspace(config_dir), Progress())
    with pytest.raises(PlanChanged, match=r"temporalcloud_namespace\.payments"):
        await runner.apply(workspace(config_dir, region="aws-eu-west-1"), plan, Progress())


async def test_apply_continues_an_approved_replace_whose_delete_is_done(
    runner: SandboxTerraformRunner, config_dir: Path
) -> None:
    ws = workspace(config_dir)
    plan = await runner.plan(ws, Progress())
    namespace = plan.changes[0].model_copy(update={"action": ChangeAction.REPLACE})
    replaced = plan.model_copy(update={"changes": [namespace, *plan.changes[1:]]})
    result = await runner.apply(ws, replaced, Progress())
    assert (result.applied, result.total, result.resumed_from) == (3, 3, 0)
    assert state_addresses(runner, config_dir) == ADDRESSES


async def test_apply_refuses_an_attribute_declared_after_approval(
    runner: SandboxTerraformRunner, config_dir: Path
) -> None:
    ws = workspace(config_dir)
    plan = await runner.plan(ws, Progress())
    (config_dir / "resources.yaml").write_text(
        RESOURCES.replace("account_access: developer}", "account_access: developer, role: x}")
    )
    with pytest.raises(PlanChanged, match=r"plan is stale: temporalcloud_user\.oncall changed"):
        await runner.apply(ws, plan, Progress())


def change(action: ChangeAction, after: dict[str, str] | None) -> ResourceChange:
    return ResourceChange(address="t.a", type="t", name="a", action=action, after=after)


def test_what_continues_an_approved_plan() -> None:
    create = change(ChangeAction.CREATE, {"name": "a"})
    approved = Plan(changes=[create, change(ChangeAction.NOOP, None)])
    assert unapproved_changes([create], approved) == []
    assert unapproved_changes([change(ChangeAction.NOOP, {"name": "b"})], approved) == []
    assert unapproved_changes([change(ChangeAction.READ, {"name": "b"})], approved) == []
    for other in (
        change(ChangeAction.UPDATE, {"name": "a"}),
        change(ChangeAction.CREATE, {"name": "b"}),
        create.model_copy(update={"address": "t.b"}),
    ):
        assert unapproved_changes([other], approved) == [other]
    replace = Plan(changes=[change(ChangeAction.REPLACE, {"name": "a"})])
    assert unapproved_changes([create], replace) == []
    assert unapproved_changes([change(ChangeAction.DELETE, None)], replace) != []
    later = change(ChangeAction.CREATE, {"name": "a", "id": "a-1"})
    # Whole `after` by default (the sandbox names every attribute): a new key is a change...
    assert unapproved_changes([later], approved) == [later]
    # ...where terraform leaves out what is unknown at approval: then it may be anything.
    assert unapproved_changes([later], approved, absent_is_unknown=True) == []
    moved = change(ChangeAction.CREATE, {"name": "b", "id": "a-1"})
    assert unapproved_changes([moved], approved, absent_is_unknown=True) == [moved]
    lost = change(ChangeAction.CREATE, {"id": "a-1"})
    assert unapproved_changes([lost], approved, absent_is_unknown=True) == [lost]


@pytest.mark.parametrize(
    ("text", "variables", "message"),
    [
        ("resources: [", {}, r"resources\.yaml: not valid YAML: .*\(line 1\)"),
        ("- just a list", {}, "expected a mapping"),
        (RESOURCES, {"colour": "blue"}, r"unknown variable 'colour' \(declared: environment,"),
        (
            RESOURCES.replace('{default: "30"}', "{description: days}"),
            {},
            "variable 'retention_days' has no default and was not given",
        ),
        (
            RESOURCES.replace("name: oncall", "name: payments").replace(
                "temporalcloud_user", "temporalcloud_namespace"
            ),
            {},
            "resource temporalcloud_namespace.payments is declared twice",
        ),
        (
            RESOURCES.replace("${var.region}", "${var.zone}"),
            {},
            "resource temporalcloud_namespace.payments refers to undeclared variable 'zone'",
        ),
        (
            RESOURCES.replace("payments.id}", "missing.id}"),
            {},
            "output namespace_id refers to undeclared resource temporalcloud_namespace.missing",
        ),
        (
            RESOURCES.replace("payments.id}", "payments.colour}"),
            {},
            "refers to temporalcloud_namespace.payments.colour, which it does not have",
        ),
        (
            RESOURCES.replace("${var.region}", "${region}"),
            {},
            r"bad reference \$\{region\}",
        ),
        (
            RESOURCES.replace("attributes: {email", "atributes: {email"),
            {},
            "unknown key 'atributes'",
        ),
    ],
)
async def test_invalid_configuration_is_one_readable_line(
    runner: SandboxTerraformRunner,
    config_dir: Path,
    text: str,
    variables: dict[str, str],
    message: str,
) -> None:
    (config_dir / "resources.yaml").write_text(text)
    with pytest.raises(InvalidConfiguration, match=message) as caught:
        await runner.init(workspace(config_dir, **variables))
    assert "\n" not in str(caught.value)


async def test_missing_directory_or_file_is_invalid(
    runner: SandboxTerraformRunner, tmp_path: Path
) -> None:
    with pytest.raises(InvalidConfiguration, match="does not exist"):
        await runner.init(workspace(tmp_path / "nowhere"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(InvalidConfiguration, match="no resource file"):
        await runner.plan(workspace(tmp_path / "empty"), Progress())


async def test_json_resource_file_works_too(runner: SandboxTerraformRunner, tmp_path: Path) -> None:
    directory = tmp_path / "json"
    directory.mkdir()
    document = {"resources": [{"type": "temporalcloud_user", "name": "u", "attributes": {}}]}
    (directory / "resources.json").write_text(json.dumps(document))
    assert (
        await runner.init(workspace(directory)) == f"sandbox: 1 resource, 0 outputs in {directory}"
    )


async def test_apply_while_the_state_is_locked_fails_retryably(
    runner: SandboxTerraformRunner, config_dir: Path
) -> None:
    ws = workspace(config_dir)
    plan = await runner.plan(ws, Progress())
    lock_path = runner.lock_path(config_dir)
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("w") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(RunnerFailed, match=f"state of {config_dir} is locked by another run"):
            await runner.apply(ws, plan, Progress())
    result = await runner.apply(ws, plan, Progress())
    assert result.applied == 3


async def test_directories_keep_separate_state(
    runner: SandboxTerraformRunner, tmp_path: Path
) -> None:
    first, second = tmp_path / "a" / "payments", tmp_path / "b" / "payments"
    for directory in (first, second):
        directory.mkdir(parents=True)
        (directory / "resources.yaml").write_text(RESOURCES)
    await plan_and_apply(runner, workspace(first))
    assert runner.state_path(first) != runner.state_path(second)
    assert runner.state_path(first).name.startswith("payments-")
    assert len((await runner.plan(workspace(second), Progress())).effective) == 3


@pytest.mark.parametrize("example", ["namespace", "admin-user", "team-namespaces"])
async def test_shipped_examples_plan_and_apply(
    runner: SandboxTerraformRunner, tmp_path: Path, example: str
) -> None:
    ws = Workspace(directory=EXAMPLES_DIR / example, run_dir=tmp_path / "run", variables={})
    await runner.init(ws)
    plan = await runner.plan(ws, Progress())
    assert 2 <= len(plan.effective) <= 6
    assert all(c.action == ChangeAction.CREATE for c in plan.changes)
    result = await runner.apply(ws, plan, Progress())
    assert result.applied == len(plan.effective)
    outputs = await runner.outputs(ws)
    assert all(value is not None for value in outputs.values.values())
