"""Hook runs' activities: ask the store which DIG runs a task queue's worker, and record a
warning in the audit log. Both go through the worker's StatusSink (in process or the API)."""

from __future__ import annotations

from temporalio import activity
from temporalio.exceptions import ApplicationError

from backend.domains.tac.calls import WARN
from backend.domains.tac.lookup import WORKER_LOOKUP, WorkerLookup, WorkerLookupRequest
from backend.domains.tac.messages import LOOKUP_ACTIVITY, WARN_ACTIVITY, HookWarning
from backend.providers.faults import FaultPlan
from backend.providers.status import EntityMissing, StatusSink, StatusUnavailable
from backend.workflows.activity_steps import StepActivities, step


class TacActivities(StepActivities):
    """The hook run's activities, over the worker's status sink."""

    def __init__(self, status: StatusSink, faults: FaultPlan) -> None:
        super().__init__(faults)
        self._status = status

    @step(LOOKUP_ACTIVITY, fault="lookup")
    async def lookup_worker(self, request: WorkerLookupRequest) -> WorkerLookup:
        """The registration for the task queue and the worker DIG it names, as stored now."""
        answer = await self._call(WORKER_LOOKUP, request.model_dump(mode="json"))
        return WorkerLookup.model_validate(answer)

    @step(WARN_ACTIVITY)
    async def warn(self, warning: HookWarning) -> None:
        """Record the warning in the audit log (once, whatever the retries)."""
        await self._call(WARN, warning.model_dump(mode="json"))
        activity.logger.warning("%s", warning.message)

    async def _call(self, name: str, body: dict[str, object]) -> dict[str, object]:
        try:
            return await self._status.call(name, body)
        except EntityMissing as err:
            raise ApplicationError(str(err), type="EntityMissing", non_retryable=True) from err
        except StatusUnavailable as err:
            raise ApplicationError(str(err), type="StatusUnavailable") from err
