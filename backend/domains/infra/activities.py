"""Infra activities (the spec's provision activities): each keyed by the run, safe to retry.

They call the runner and the policy engine (sandbox or real adapters) and never write the API's
database: the run's plan, policy verdicts and outputs travel with the workflow's status reports.
Long terraform steps heartbeat with how far they got, so percent moves inside them and a worker
killed mid-apply is replaced within the heartbeat timeout; the apply then resumes (the runner
applies only what is left of the approved plan).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from temporalio import activity
from temporalio.exceptions import ApplicationError

from backend.domains.infra.messages import (
    APPLY_ACTIVITY,
    INIT_ACTIVITY,
    INVALID_CONFIGURATION,
    PLAN_ACTIVITY,
    PLAN_CHANGED,
    POLICY_ACTIVITY,
    RUNNER_FAILED,
    SHOW_ACTIVITY,
    ApplyInput,
    InitResult,
    PolicyInput,
    PolicyOutcome,
    RunInput,
    ShowResult,
)
from backend.domains.infra.plan import ApplyResult, Outputs, Plan
from backend.domains.infra.providers import (
    InvalidConfiguration,
    PlanChanged,
    PolicyEngine,
    RunnerFailed,
    TerraformRunner,
    Workspace,
)
from backend.providers.faults import FaultPlan
from backend.workflows.activity_steps import StepActivities, beat, raise_if_injected, step

SENSITIVE = "(sensitive)"
"""What a sensitive output shows instead of its value."""


@dataclass
class InfraDependencies:
    """What the infra activities are built with (no globals)."""

    runner: TerraformRunner
    policy: PolicyEngine
    root: Path
    """Relative directories resolve against this (the shipped examples by default)."""
    runs_dir: Path
    """Each run's scratch directory (plan files) lives under this, named by the run."""
    faults: FaultPlan


class InfraActivities(StepActivities):
    """The infra workflow's activities, bound to a runner and a policy engine."""

    def __init__(self, deps: InfraDependencies) -> None:
        super().__init__(deps.faults)
        self._deps = deps

    def workspace(self, run: RunInput) -> Workspace:
        """Where `run` works: its configuration directory and its own scratch directory."""
        directory = Path(run.directory).expanduser()
        if not directory.is_absolute():
            directory = self._deps.root / directory
        key = re.sub(r"[^A-Za-z0-9._-]", "_", run.run_key)
        return Workspace(
            directory=directory, run_dir=self._deps.runs_dir / key, variables=dict(run.variables)
        )

    @step(INIT_ACTIVITY, fault="init")
    async def terraform_init(self, run: RunInput) -> InitResult:
        """terraform init: the directory must exist and its configuration be usable."""
        workspace = self.workspace(run)
        with _runner_errors():
            if not await asyncio.to_thread(workspace.directory.is_dir):
                raise InvalidConfiguration(
                    f"directory {run.directory} not found (looked in {workspace.directory})"
                )
            summary = await self._deps.runner.init(workspace)
        return InitResult(runner=self._deps.runner.name, summary=summary)

    @step(PLAN_ACTIVITY, fault="plan")
    async def terraform_plan(self, run: RunInput) -> Plan:
        """terraform plan: every resource change, kept in the run's scratch dir for apply."""
        with _runner_errors():
            return await self._deps.runner.plan(self.workspace(run), beat)

    @activity.defn(name=POLICY_ACTIVITY)
    async def evaluate_policy(self, request: PolicyInput) -> PolicyOutcome:
        """Policy on the plan: a local activity (a quick check, no heartbeat, within 30 s)."""
        raise_if_injected(self.faults, "policy", activity.info().attempt)
        with _runner_errors():
            report = await self._deps.policy.evaluate(request.plan, self.workspace(request.run))
        return PolicyOutcome(report=report)

    @step(APPLY_ACTIVITY, fault="apply")
    async def terraform_apply(self, request: ApplyInput) -> ApplyResult:
        """terraform apply of the checked plan: what an earlier attempt applied is kept."""
        with _runner_errors():
            return await self._deps.runner.apply(self.workspace(request.run), request.plan, beat)

    @step(SHOW_ACTIVITY, fault="show")
    async def terraform_show(self, run: RunInput) -> ShowResult:
        """terraform output: what the apply produced; sensitive values are masked here, so
        they never reach Temporal's history."""
        with _runner_errors():
            outputs = await self._deps.runner.outputs(self.workspace(run))
        masked = {
            name: SENSITIVE if name in outputs.sensitive else value
            for name, value in outputs.values.items()
        }
        return ShowResult(outputs=Outputs(values=masked, sensitive=outputs.sensitive))


@contextmanager
def _runner_errors() -> Iterator[None]:
    """Provider errors as activity failures: a broken configuration or a stale plan is final,
    a runner failure is retried."""
    try:
        yield
    except InvalidConfiguration as err:
        raise ApplicationError(str(err), type=INVALID_CONFIGURATION, non_retryable=True) from err
    except PlanChanged as err:
        raise ApplicationError(str(err), type=PLAN_CHANGED, non_retryable=True) from err
    except RunnerFailed as err:
        raise ApplicationError(str(err), type=RUNNER_FAILED) from err
