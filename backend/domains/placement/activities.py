"""The change processor's activity: process a batch of the change log in the store (which lives
with the API: in process, or over the internal call)."""

from __future__ import annotations

from temporalio.exceptions import ApplicationError

from backend.domains.placement.messages import (
    PROCESS_ACTIVITY,
    PROCESS_CALL,
    ProcessRequest,
    ProcessResult,
)
from backend.providers.faults import FaultPlan
from backend.providers.status import StatusSink, StatusUnavailable
from backend.workflows.activity_steps import StepActivities, step


class PlacementActivities(StepActivities):
    """The processor's activities, over the worker's status sink."""

    def __init__(self, status: StatusSink, faults: FaultPlan) -> None:
        super().__init__(faults)
        self._status = status

    @step(PROCESS_ACTIVITY, fault="process")
    async def process_changes(self, request: ProcessRequest) -> ProcessResult:
        """Render the batch's changes into host messages and move the bookmark (idempotent:
        a retry writes each message once)."""
        try:
            answer = await self._status.call(PROCESS_CALL, request.model_dump(mode="json"))
        except StatusUnavailable as err:
            raise ApplicationError(str(err), type="StatusUnavailable") from err
        return ProcessResult.model_validate(answer)
