"""The labs registrar: LabProvisionWorkflow and its activities on the labs task queue."""

from __future__ import annotations

from backend.domains.labs.activities import LabActivities, LabDependencies
from backend.domains.labs.sandbox import (
    SandboxBlueprintService,
    SandboxLabEnvironments,
    SandboxLabStore,
)
from backend.domains.labs.workflow import LabProvisionWorkflow
from backend.workflows.registry import Registrar, WorkerContext


def lab_dependencies(context: WorkerContext) -> LabDependencies:
    """The lab activities' dependencies: sandbox providers under the data dir (the default)."""
    settings = context.settings
    store = SandboxLabStore(settings.paths.sandbox)
    return LabDependencies(
        status=context.status,
        blueprints=SandboxBlueprintService(store, settings.sandbox_step_seconds),
        environments=SandboxLabEnvironments(store, settings.sandbox_step_seconds),
        faults=context.faults,
    )


def new_registrar(context: WorkerContext) -> Registrar:
    """Build the labs registrar with its dependencies."""
    return Registrar(
        name="labs",
        task_queue=context.task_queue,
        workflows=[LabProvisionWorkflow],
        activities=LabActivities(lab_dependencies(context)).all(),
    )
