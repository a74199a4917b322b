"""The infra run's providers: a terraform runner and a policy engine, as small protocols.

Runners: `SandboxTerraformRunner` (default; a declarative resource file planned and applied
against a local state file) and `TerraformCli` (the `terraform` / `tofu` binary). Policy
engines: `RulesPolicyEngine` (rules as data in a file) and `OpaPolicyEngine` (rego through the
`opa` binary). The activities call only these protocols.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from backend.domains.infra.plan import ApplyResult, Outputs, Plan, PolicyReport

ProgressCallback = Callable[[int, int], None]
"""Called as work advances: (done, total). The activity turns it into heartbeats."""


class InvalidConfiguration(Exception):
    """The directory, its files or the variables cannot work; retrying will not help."""


class PlanChanged(Exception):
    """What would be applied now differs from the plan that was checked and approved."""


class RunnerFailed(Exception):
    """The runner failed in a way a retry may fix (a provider API error, a lock)."""


@dataclass(frozen=True)
class Workspace:
    """Where one run works: the configuration directory, and the run's own scratch directory
    (plan files, logs) under the data dir, keyed by the run id so retries find their files."""

    directory: Path
    """The terraform configuration (or sandbox resource file) directory, resolved."""
    run_dir: Path
    """Scratch space of this run (created by the runner when needed)."""
    variables: dict[str, str]


class TerraformRunner(Protocol):
    """Runs terraform's steps in a workspace. Every method is safe to call again (a retry)."""

    name: str
    """`sandbox`, `terraform` or `tofu` (shown in the run's detail)."""

    async def init(self, workspace: Workspace) -> str:
        """Prepare the directory; a one-line summary. InvalidConfiguration when it cannot."""
        ...

    async def plan(self, workspace: Workspace, progress: ProgressCallback) -> Plan:
        """Plan the changes (kept in the run dir for apply)."""
        ...

    async def apply(
        self, workspace: Workspace, plan: Plan, progress: ProgressCallback
    ) -> ApplyResult:
        """Carry out `plan` (and nothing else: PlanChanged when what is planned now differs).
        Safe after an interrupted attempt: what was applied stays applied and is counted."""
        ...

    async def outputs(self, workspace: Workspace) -> Outputs:
        """The directory's outputs after apply."""
        ...


class PolicyEngine(Protocol):
    """Evaluates policy on a plan."""

    name: str

    async def evaluate(self, plan: Plan, workspace: Workspace) -> PolicyReport:
        """Every rule's verdict; InvalidConfiguration when the policy itself is broken."""
        ...
