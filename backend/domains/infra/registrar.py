"""The infra registrar: InfraProvisionWorkflow and its activities on the infra task queue."""

from __future__ import annotations

import logging

from backend.config import ConfigError
from backend.domains.infra.activities import InfraActivities, InfraDependencies
from backend.domains.infra.config import InfraSettings, load_infra_settings
from backend.domains.infra.policy import policy_engine
from backend.domains.infra.providers import InvalidConfiguration, TerraformRunner
from backend.domains.infra.sandbox_runner import SandboxTerraformRunner
from backend.domains.infra.terraform_cli import TerraformCli
from backend.domains.infra.workflow import InfraProvisionWorkflow
from backend.workflows.registry import Registrar, WorkerContext

log = logging.getLogger(__name__)


def infra_dependencies(
    context: WorkerContext, infra: InfraSettings | None = None
) -> InfraDependencies:
    """The infra activities' providers, built in this one place: the sandbox runner and the
    shipped rules unless FLIGHTDECK_INFRA_* choose terraform / tofu or opa (a bad setting
    stops the worker at start with one readable line)."""
    settings = context.settings
    infra = infra or load_infra_settings()
    runner: TerraformRunner
    if infra.terraform_bin:
        runner = TerraformCli(infra.terraform_bin, stop_grace_seconds=infra.stop_grace_seconds)
    else:
        runner = SandboxTerraformRunner(
            settings.paths.sandbox / "infra-state", settings.sandbox_step_seconds
        )
    try:
        policy = policy_engine(infra.policy_file, infra.opa_bin)
    except InvalidConfiguration as err:
        raise ConfigError(f"infra policy: {err}") from None
    log.info(
        "infra: runner %s, policy %s, directories under %s", runner.name, policy.name, infra.root
    )
    return InfraDependencies(
        runner=runner,
        policy=policy,
        root=infra.root,
        runs_dir=settings.paths.root / "infra-runs",
        faults=context.faults,
    )


def new_registrar(context: WorkerContext) -> Registrar:
    """Build the infra registrar with its dependencies."""
    return Registrar(
        name="infra",
        task_queue=context.task_queue,
        workflows=[InfraProvisionWorkflow],
        activities=InfraActivities(infra_dependencies(context)).all(),
    )
