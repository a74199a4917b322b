"""The placement registrar: the change processor and its activity on the placement queue."""

from __future__ import annotations

from backend.domains.placement.activities import PlacementActivities
from backend.domains.placement.workflow import PlacementProcessorWorkflow
from backend.workflows.registry import Registrar, WorkerContext


def new_registrar(context: WorkerContext) -> Registrar:
    """Build the placement registrar."""
    return Registrar(
        name="placement",
        task_queue=context.task_queue,
        workflows=[PlacementProcessorWorkflow],
        activities=PlacementActivities(context.status, context.faults).all(),
    )
