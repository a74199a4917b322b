"""The labs registrar: LabProvisionWorkflow and its activities on the labs task queue."""

from __future__ import annotations

from backend.workflows.labs.activities import LabActivities, LabDependencies
from backend.workflows.labs.workflow import LabProvisionWorkflow
from backend.workflows.registry import Registrar


def new_registrar(deps: LabDependencies, task_queue: str) -> Registrar:
    """Build the labs registrar with its dependencies."""
    return Registrar(
        name="labs",
        task_queue=task_queue,
        workflows=[LabProvisionWorkflow],
        activities=LabActivities(deps).all(),  # type: ignore[arg-type]
    )
