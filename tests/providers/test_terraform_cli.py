"""TerraformCli drives a terraform binary through its JSON interfaces: here a fake terraform
(tests/providers/fake_terraform.py) with real processes, exit codes, plan files and signals."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from backend.domains.infra.plan import ChangeAction, Plan, plan_digest
from backend.domains.infra.providers import (
    InvalidConfiguration,
    PlanChanged,
    RunnerFailed,
    Workspace,
)
from backend.domains.infra.terraform_cli import (
    SENSITIVE,
    CommandResult,
    TerraformCli,
    change_action,
    is_configuration_error,
    parse_plan_json,
    parse_plan_variables,
)

FAKE = Path(__file__).with_name("fake_terraform.py")
CONFIG: dict[str, Any] = {
    "variables": {"region": "aws-us-east-1", "environment": "dev"},
    "resources": [
        {
            "type": "temporalcloud_namespace",
            "name": "payments",
            "attributes": {
                "region": "${var.region}",
                "tags": {"environment": "${var.environment}"},
            },
        },
        {
            "type": "temporalcloud_user",
            "name": "oncall",
            "attributes": {"email": "oncall@example.com", "account_access": "developer"},
        },
        {
            "type": "temporalcloud_apikey",
            "name": "ci",
            "attributes": {"display_name": "ci", "token": "s3cret"},
            "sensitive": ["token"],
        },
    ],
    "outputs": {
        "namespace_id": {"value": "${temporalcloud_namespace.payments.id}"},
        "ci_token": {"value": "${temporalcloud_apikey.ci.token}", "sensitive": True},
    },
}


class Progress:
    """Records every (done, total) a runner reports; `started` is set on the first one."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, int]] = []
        self.started = asyncio.Event()

    def __call__(self, done: int, total: int) -> None:
        self.calls.append((done, total))
        self.started.set()


@pytest.fixture
def binary(tmp_path: Path) -> str:
    """An executable `terraform` that runs the fake with this interpreter."""
    path = tmp_path / "bin" / "terraform"
    path.parent.mkdir()
    path.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{FAKE}" "$@"\n')
    path.chmod(0o755)
    return str(path)


@pytest.fixture
def directory(tmp_path: Path) -> Path:
    """A configuration directory the fake understands."""
    path = tmp_path / "payments"
    path.mkdir()
    (path / "main.tf").write_text("# the fake reads fake-config.json\n")
    write_config(path, CONFIG)
    return path


@pytest.fixture
def ws(directory: Path) -> Workspace:
    return Workspace(directory=directory, run_dir=directory.parent / "runs" / "r1", variables={})


def write_config(directory: Path, config: dict[str, Any]) -> None:
    (directory / "fake-config.json").write_text(json.dumps(config))


def fake_state(directory: Path) -> dict[str, Any]:
    state: dict[str, Any] = json.loads((directory / "terraform.tfstate").read_text())
    return state


def cli(binary: str, **env: str) -> TerraformCli:
    return TerraformCli(binary, env=env, stop_grace_seconds=5)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def running(pid: int) -> bool:
    """Alive and not a zombie waiting to be reaped."""
    stat = Path(f"/proc/{pid}/stat")
    if not Path("/proc").is_dir():
        return alive(pid)
    try:
        return stat.read_text().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (FileNotFoundError, ProcessLookupError):
        return False


def pid_files(ws: Workspace) -> list[Path]:
    return sorted(ws.run_dir.glob("terraform-*.pid"))


async def test_init_summarises_the_installed_providers(binary: str, ws: Workspace) -> None:
    summary = await cli(binary).init(ws)
    assert summary == f"terraform: initialized {ws.directory} (temporalio/temporalcloud 0.0.6)"


async def test_init_configuration_error_is_invalid_configuration(
    binary: str, ws: Workspace
) -> None:
    with pytest.raises(InvalidConfiguration) as caught:
        await cli(binary, FAKE_TF_FAIL="init-config").init(ws)
    assert str(caught.value) == (
        "terraform init failed: Unsupported block type: "
        'Blocks of type "resourcee" are not expected here. Did you mean "resource"?'
    )


async def test_init_network_error_is_retryable(binary: str, ws: Workspace) -> None:
    with pytest.raises(RunnerFailed, match="Failed to query available provider packages: Could"):
        await cli(binary, FAKE_TF_FAIL="init-network").init(ws)


async def test_init_without_terraform_files_is_invalid(binary: str, tmp_path: Path) -> None:
    empty = Workspace(directory=tmp_path, run_dir=tmp_path / "run", variables={})
    with pytest.raises(InvalidConfiguration, match=r"no terraform files \(\*\.tf\)"):
        await cli(binary).init(empty)


async def test_missing_binary_is_invalid_configuration(tmp_path: Path, ws: Workspace) -> None:
    missing = tmp_path / "nowhere" / "terraform"
    with pytest.raises(InvalidConfiguration, match=f"terraform binary not found at {missing}"):
        await TerraformCli(str(missing)).init(ws)
    with pytest.raises(InvalidConfiguration, match="terraform binary not found at no-such-tf"):
        await TerraformCli("no-such-tf").plan(ws, Progress())
    not_executable = tmp_path / "tofu"
    not_executable.write_text("#!/bin/sh\n")
    with pytest.raises(InvalidConfiguration, match="is not executable"):
        await TerraformCli(str(not_executable)).init(ws)


async def test_plan_parses_changes_digest_and_summary(binary: str, ws: Workspace) -> None:
    runner = cli(binary)
    await runner.init(ws)
    progress = Progress()
    plan = await runner.plan(ws, progress)
    assert [(c.address, c.action) for c in plan.changes] == [
        ("temporalcloud_namespace.payments", ChangeAction.CREATE),
        ("temporalcloud_user.oncall", ChangeAction.CREATE),
        ("temporalcloud_apikey.ci", ChangeAction.CREATE),
    ]
    assert str(plan.summary) == "3 to add, 0 to change, 0 to destroy"
    assert plan.changes[0].after == {"region": "aws-us-east-1", "tags": {"environment": "dev"}}
    assert plan.changes[2].after == {"display_name": "ci", "token": SENSITIVE}
    assert plan.digest == plan_digest(plan.changes)
    assert (ws.run_dir / "plan.tfplan").is_file()
    assert progress.calls == [(1, 2), (2, 3), (3, 4), (3, 3)]
    assert plan.variables == {"region": "aws-us-east-1", "environment": "dev"}
    assert pid_files(ws) == []


async def test_plan_variables_are_the_effective_ones(binary: str, ws: Workspace) -> None:
    variables = {
        "region": "aws-us-east-1",
        "environment": "prod",
        "retention_days": 30,
        "regions": ["aws-us-east-1", "aws-eu-west-1"],
        "token": "s3cret",
    }
    write_config(ws.directory, {**CONFIG, "variables": variables, "sensitive_variables": ["token"]})
    runner = cli(binary)
    await runner.init(ws)
    given = Workspace(ws.directory, ws.run_dir, {"retention_days": "90"})
    plan = await runner.plan(given, Progress())
    assert plan.variables == {
        "region": "aws-us-east-1",
        "environment": "prod",
        "retention_days": "90",
        "regions": '["aws-us-east-1", "aws-eu-west-1"]',
        "token": SENSITIVE,
    }


def test_plan_variables_fall_back_to_the_requested_ones() -> None:
    assert parse_plan_variables({}, {"region": "x"}) == {"region": "x"}
    document = {"variables": {"size": {"value": 3}, "region": {"value": "y"}, "odd": {}}}
    assert parse_plan_variables(document, {"region": "x", "extra": "z"}) == {
        "region": "y",
        "extra": "z",
        "size": "3",
    }


async def test_plan_passes_variables_and_reports_their_errors(binary: str, ws: Workspace) -> None:
    runner = cli(binary)
    await runner.init(ws)
    eu = Workspace(ws.directory, ws.run_dir, {"region": "aws-eu-west-1"})
    plan = await runner.plan(eu, Progress())
    assert plan.variables == {"region": "aws-eu-west-1", "environment": "dev"}
    assert plan.changes[0].after is not None
    assert plan.changes[0].after["region"] == "aws-eu-west-1"
    unknown = Workspace(ws.directory, ws.run_dir, {"colour": "blue"})
    with pytest.raises(InvalidConfiguration, match="terraform plan failed: Value for undeclared"):
        await runner.plan(unknown, Progress())
    with pytest.raises(InvalidConfiguration, match="Reference to undeclared resource"):
        await cli(binary, FAKE_TF_FAIL="plan").plan(ws, Progress())


async def test_apply_streams_progress_and_changes_state(binary: str, ws: Workspace) -> None:
    runner = cli(binary)
    await runner.init(ws)
    plan = await runner.plan(ws, Progress())
    progress = Progress()
    result = await runner.apply(ws, plan, progress)
    assert (result.applied, result.total, result.resumed_from) == (3, 3, 0)
    assert progress.calls == [(0, 3), (1, 3), (1, 3), (2, 3), (2, 3), (3, 3), (3, 3)]
    assert sorted(fake_state(ws.directory)["resources"]) == [
        "temporalcloud_apikey.ci",
        "temporalcloud_namespace.payments",
        "temporalcloud_user.oncall",
    ]
    again = await runner.plan(ws, Progress())
    assert again.effective == []


async def test_outputs_include_sensitive_names(binary: str, ws: Workspace) -> None:
    runner = cli(binary)
    await runner.init(ws)
    await runner.apply(ws, await runner.plan(ws, Progress()), Progress())
    outputs = await runner.outputs(ws)
    assert outputs.values["namespace_id"].startswith("payments-")
    assert outputs.values["ci_token"] == "s3cret"
    assert outputs.sensitive == ["ci_token"]


async def test_apply_without_the_plan_file_plans_again(binary: str, ws: Workspace) -> None:
    runner = cli(binary)
    await runner.init(ws)
    plan = await runner.plan(ws, Progress())
    (ws.run_dir / "plan.tfplan").unlink()
    result = await runner.apply(ws, plan, Progress())
    assert (result.applied, result.resumed_from) == (3, 0)
    assert len(fake_state(ws.directory)["resources"]) == 3


async def test_apply_with_the_saved_plan_applies_what_was_approved(
    binary: str, ws: Workspace
) -> None:
    runner = cli(binary)
    await runner.init(ws)
    plan = await runner.plan(ws, Progress())
    write_config(ws.directory, {**CONFIG, "resources": CONFIG["resources"][:1]})
    await runner.apply(ws, plan, Progress())
    assert len(fake_state(ws.directory)["resources"]) == 3


async def test_apply_refuses_when_the_configuration_changed_since_approval(
    binary: str, ws: Workspace
) -> None:
    runner = cli(binary)
    await runner.init(ws)
    plan = await runner.plan(ws, Progress())
    admin = json.loads(json.dumps(CONFIG).replace('"developer"', '"admin"'))
    write_config(ws.directory, admin)
    (ws.run_dir / "plan.tfplan").unlink()
    with pytest.raises(
        PlanChanged, match=r"plan is stale: temporalcloud_user\.oncall changed since it was"
    ):
        await runner.apply(ws, plan, Progress())
    assert not (ws.run_dir / "plan.tfplan").exists()
    assert not (ws.directory / "terraform.tfstate").exists()


async def test_apply_after_a_partial_failure_resumes_from_a_new_plan(
    binary: str, ws: Workspace
) -> None:
    runner = cli(binary)
    await runner.init(ws)
    plan = await runner.plan(ws, Progress())
    with pytest.raises(RunnerFailed, match="terraform apply failed: Error creating user: rpc"):
        await cli(binary, FAKE_TF_FAIL="apply-midway").apply(ws, plan, Progress())
    assert len(fake_state(ws.directory)["resources"]) == 1
    result = await runner.apply(ws, plan, Progress())
    assert (result.applied, result.total, result.resumed_from) == (3, 3, 1)
    assert len(fake_state(ws.directory)["resources"]) == 3


async def test_apply_of_a_saved_re_plan_counts_what_was_done_before(
    binary: str, ws: Workspace
) -> None:
    runner = cli(binary)
    await runner.init(ws)
    approved = await runner.plan(ws, Progress())
    with pytest.raises(RunnerFailed):
        await cli(binary, FAKE_TF_FAIL="apply-midway").apply(ws, approved, Progress())
    rest = await runner.plan(ws, Progress())
    assert len(rest.effective) == 2
    result = await runner.apply(ws, approved, Progress())
    assert (result.applied, result.total, result.resumed_from) == (3, 3, 1)


async def test_apply_provider_error_is_retryable(binary: str, ws: Workspace) -> None:
    runner = cli(binary)
    await runner.init(ws)
    plan = await runner.plan(ws, Progress())
    with pytest.raises(RunnerFailed, match="Error creating namespace: rpc error"):
        await cli(binary, FAKE_TF_FAIL="apply").apply(ws, plan, Progress())


async def test_apply_permission_error_is_invalid_configuration(binary: str, ws: Workspace) -> None:
    runner = cli(binary)
    await runner.init(ws)
    plan = await runner.plan(ws, Progress())
    with pytest.raises(
        InvalidConfiguration,
        match="terraform apply failed: Error creating namespace: rpc error: code = Permission",
    ):
        await cli(binary, FAKE_TF_FAIL="apply-permission").apply(ws, plan, Progress())


async def test_resume_accepts_values_unknown_when_approved(binary: str, ws: Workspace) -> None:
    config = json.loads(json.dumps(CONFIG))
    config["resources"][1]["attributes"]["namespace_id"] = "${temporalcloud_namespace.payments.id}"
    write_config(ws.directory, config)
    runner = cli(binary)
    await runner.init(ws)
    plan = await runner.plan(ws, Progress())
    assert plan.changes[1].after == {"email": "oncall@example.com", "account_access": "developer"}
    with pytest.raises(RunnerFailed, match="Error creating user"):
        await cli(binary, FAKE_TF_FAIL="apply-midway").apply(ws, plan, Progress())
    result = await runner.apply(ws, plan, Progress())
    assert (result.applied, result.total, result.resumed_from) == (3, 3, 1)
    resources = fake_state(ws.directory)["resources"]
    namespace_id = resources["temporalcloud_namespace.payments"]["attributes"]["id"]
    assert resources["temporalcloud_user.oncall"]["attributes"]["namespace_id"] == namespace_id


async def test_resume_of_a_half_done_replace_creates_what_it_deleted(
    binary: str, ws: Workspace
) -> None:
    config = json.loads(json.dumps(CONFIG))
    config["resources"][0]["force_new"] = ["region"]
    write_config(ws.directory, config)
    runner = cli(binary)
    await runner.init(ws)
    await runner.apply(ws, await runner.plan(ws, Progress()), Progress())
    eu = Workspace(ws.directory, ws.run_dir, {"region": "aws-eu-west-1"})
    plan = await runner.plan(eu, Progress())
    assert [(c.address, c.action) for c in plan.effective] == [
        ("temporalcloud_namespace.payments", ChangeAction.REPLACE)
    ]
    with pytest.raises(RunnerFailed, match="Error creating namespace"):
        await cli(binary, FAKE_TF_FAIL="replace-midway").apply(eu, plan, Progress())
    assert "temporalcloud_namespace.payments" not in fake_state(ws.directory)["resources"]
    result = await runner.apply(eu, plan, Progress())
    assert (result.applied, result.total, result.resumed_from) == (1, 1, 0)
    namespace = fake_state(ws.directory)["resources"]["temporalcloud_namespace.payments"]
    assert namespace["attributes"]["region"] == "aws-eu-west-1"
    assert (await runner.plan(eu, Progress())).effective == []


async def test_terraform_gets_no_worker_secrets(
    binary: str, ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLIGHTDECK_CODEC_KEY", "secret")
    monkeypatch.setenv("TEMPORAL_API_KEY", "secret")
    monkeypatch.setenv("TF_PLUGIN_CACHE_DIR", str(tmp_path / "plugins"))
    dump = tmp_path / "dump.json"
    runner = TerraformCli(binary, env={"FAKE_TF_DUMP": str(dump), "PROVIDER_TOKEN": "t"})
    await runner.init(ws)
    names = json.loads(dump.read_text())["env"]
    assert "FLIGHTDECK_CODEC_KEY" not in names
    assert "TEMPORAL_API_KEY" not in names
    for kept in ("TF_PLUGIN_CACHE_DIR", "PROVIDER_TOKEN", "TF_IN_AUTOMATION", "TF_INPUT", "PATH"):
        assert kept in names


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl is Linux's")
async def test_terraform_gets_sigterm_when_its_worker_dies(
    binary: str, ws: Workspace, tmp_path: Path
) -> None:
    dump = tmp_path / "dump.json"
    await TerraformCli(binary, env={"FAKE_TF_DUMP": str(dump)}).init(ws)
    assert json.loads(dump.read_text())["pdeathsig"] == signal.SIGTERM


def test_the_default_stop_grace_lets_terraform_save_its_state() -> None:
    assert TerraformCli("terraform").stop_grace_seconds == 60.0


async def start_slow_apply(
    runner: TerraformCli, ws: Workspace, plan: Plan | None = None
) -> tuple[asyncio.Task[Any], int]:
    """An apply stuck on its first resource, and the terraform process's pid."""
    if plan is None:
        await runner.init(ws)
        plan = await runner.plan(ws, Progress())
    progress = Progress()
    task = asyncio.create_task(runner.apply(ws, plan, progress))
    await asyncio.wait_for(progress.started.wait(), 10)
    pid = int((ws.directory / "fake-terraform.pid").read_text())
    assert alive(pid)
    assert pid_files(ws) == [ws.run_dir / f"terraform-{pid}.pid"]
    return task, pid


@pytest.mark.parametrize("ignores_sigint", [False, True])
async def test_a_retry_stops_the_terraform_its_dead_worker_left_running(
    binary: str, ws: Workspace, monkeypatch: pytest.MonkeyPatch, ignores_sigint: bool
) -> None:
    runner = cli(binary)
    await runner.init(ws)
    plan = await runner.plan(ws, Progress())
    env = {"FAKE_TF_APPLY_SECONDS": "60", "FAKE_TF_IGNORE_SIGINT": "1" if ignores_sigint else ""}
    dying = TerraformCli(binary, env=env)

    async def worker_killed(process: object) -> None:
        """kill -9 of the worker: nothing stops terraform, nothing removes its pid file."""

    monkeypatch.setattr(dying, "_stop", worker_killed)
    task, pid = await start_slow_apply(dying, ws, plan)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert running(pid)
    assert pid_files(ws) == [ws.run_dir / f"terraform-{pid}.pid"]

    retry = TerraformCli(binary, stop_grace_seconds=0.2 if ignores_sigint else 5)
    result = await retry.apply(ws, plan, Progress())
    assert not running(pid)
    assert (ws.directory / "fake-terraform.interrupted").exists() is not ignores_sigint
    assert (result.applied, result.total) == (3, 3)
    assert len(fake_state(ws.directory)["resources"]) == 3
    assert pid_files(ws) == []


async def test_a_pid_file_of_a_reused_pid_kills_nothing(binary: str, ws: Workspace) -> None:
    other = await asyncio.create_subprocess_exec(
        sys.executable, "-c", "import time; time.sleep(60)"
    )
    try:
        ws.run_dir.mkdir(parents=True)
        stale = ws.run_dir / f"terraform-{other.pid}.pid"
        stale.write_text(json.dumps({"pid": other.pid, "start": "not when it started"}))
        (ws.run_dir / "terraform-1.pid").write_text("garbage")
        await cli(binary).init(ws)
        assert other.returncode is None and running(other.pid)
        assert pid_files(ws) == []
    finally:
        other.kill()
        await other.wait()


async def test_cancelling_a_slow_apply_interrupts_terraform(binary: str, ws: Workspace) -> None:
    runner = TerraformCli(binary, env={"FAKE_TF_APPLY_SECONDS": "60"}, stop_grace_seconds=10)
    task, pid = await start_slow_apply(runner, ws)
    started = time.monotonic()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert time.monotonic() - started < 5
    assert not alive(pid)
    assert (ws.directory / "fake-terraform.interrupted").exists()


async def test_terraform_ignoring_sigint_is_killed_after_the_grace(
    binary: str, ws: Workspace
) -> None:
    env = {"FAKE_TF_APPLY_SECONDS": "60", "FAKE_TF_IGNORE_SIGINT": "1"}
    runner = TerraformCli(binary, env=env, stop_grace_seconds=0.3)
    task, pid = await start_slow_apply(runner, ws)
    started = time.monotonic()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert 0.3 <= time.monotonic() - started < 5
    assert not alive(pid)
    assert not (ws.directory / "fake-terraform.interrupted").exists()


@pytest.mark.parametrize(
    ("output", "configuration"),
    [
        ("Error: Unsupported block type\n\nBlocks of type x are not expected here.", True),
        ("Error: Unsupported argument", True),
        ("Error: Invalid reference", True),
        ("Error: No configuration files", True),
        ('Error: No value for required variable\n\nThe root module input variable "x"', True),
        ("Error: Failed to query available provider packages: could not connect to", False),
        ("Error: Invalid provider registry host: dial tcp: i/o timeout", False),
        ("Error: Error acquiring the state lock", False),
        ("Error: error creating namespace: rpc error: code = Unavailable", False),
        ("Error: creating namespace: rpc error: code = PermissionDenied desc = no", True),
        ("Error: AccessDenied: User arn:x is not authorized to perform: iam:CreateRole", True),
        ("Error: open terraform.tfstate: permission denied", True),
        ("Error: 403 Forbidden", True),
        ("Error: creating namespace: rpc error: code = InvalidArgument desc = bad name", True),
        ('Error: expected "retention_days" to be in the range (1 - 90), invalid value 0', True),
        ("Error: creating bucket: Quota exceeded: 100 buckets per project", True),
        ("Error: Quota exceeded for quota metric 'Write requests' per minute per user", False),
        ("Error: ThrottlingException: Rate exceeded", False),
        ("Error: creating namespace: rpc error: code = DeadlineExceeded", False),
        ("", False),
    ],
)
def test_failures_are_classified(output: str, configuration: bool) -> None:
    assert is_configuration_error(output) is configuration


def test_actions_fold_like_terraform() -> None:
    assert change_action(["delete", "create"]) == ChangeAction.REPLACE
    assert change_action(["create", "delete"]) == ChangeAction.REPLACE
    assert change_action(["no-op"]) == ChangeAction.NOOP
    assert change_action(["read"]) == ChangeAction.READ
    with pytest.raises(InvalidConfiguration, match=r"x\.y: unsupported plan action"):
        change_action(["explode"], "x.y")


def test_show_json_masks_sensitive_values_and_replaces() -> None:
    document = {
        "resource_changes": [
            {
                "address": "temporalcloud_namespace.a",
                "type": "temporalcloud_namespace",
                "name": "a",
                "change": {
                    "actions": ["delete", "create"],
                    "before": {"region": "x", "certs": ["c1", "c2"]},
                    "after": {"region": "y", "certs": ["c1", "c3"]},
                    "before_sensitive": {"certs": [False, True]},
                    "after_sensitive": {"certs": True},
                },
            }
        ]
    }
    [change] = parse_plan_json(document)
    assert change.action == ChangeAction.REPLACE
    assert change.before == {"region": "x", "certs": ["c1", SENSITIVE]}
    assert change.after == {"region": "y", "certs": SENSITIVE}
    assert Plan(changes=[change]).summary.add == 1


def test_error_message_is_one_line_from_diagnostics_or_text() -> None:
    diagnostic = {
        "type": "diagnostic",
        "diagnostic": {"severity": "error", "summary": "Bad", "detail": "really\nbad"},
    }
    warning = {"type": "diagnostic", "diagnostic": {"severity": "warning", "summary": "Meh"}}
    assert CommandResult(1, "", "", [warning, diagnostic]).error_message() == "Bad: really bad"
    boxed = "╷\n│ Error: Oops\n│ \n│   on main.tf line 1:\n│ \n│ It broke.\n╵\n"
    assert CommandResult(1, "", boxed).error_message() == "Oops: It broke."
    assert CommandResult(1, "", "panic: boom\n").error_message() == "panic: boom"
    assert CommandResult(3, "", "").error_message() == "exit status 3"
