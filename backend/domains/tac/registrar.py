"""The TAC registrar: TacHookWorkflow and its activities (on the DIGs' task queue, where DIG
workflows start it as a child)."""

from __future__ import annotations

from backend.domains.tac.activities import TacActivities
from backend.domains.tac.workflow import TacHookWorkflow
from backend.workflows.registry import Registrar, WorkerContext


def new_registrar(context: WorkerContext) -> Registrar:
    """Build the TAC registrar."""
    return Registrar(
        name="tac",
        task_queue=context.task_queue,
        workflows=[TacHookWorkflow],
        activities=TacActivities(context.status, context.faults).all(),
    )
