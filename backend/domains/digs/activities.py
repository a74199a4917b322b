"""DIG activities: each lifecycle operation on the orchestrator, keyed by the DIG, safe to retry.

They never write the API's database: the apps' states travel with the workflow's status
reports. Instantiate and terminate heartbeat the apps' states as they move; waiting for
readiness polls the orchestrator's status (a worker app is ready once its task queue has a
poller) and heartbeats how many apps are up.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from typing import TypeVar

from temporalio import activity
from temporalio.exceptions import ApplicationError

from backend.domains.digs.messages import (
    APPROVE_ACTIVITY,
    CREATE_ACTIVITY,
    DELETE_ACTIVITY,
    INSTANTIATE_ACTIVITY,
    ORCHESTRATOR_REFUSED,
    PLACE_ACTIVITY,
    READY_ACTIVITY,
    TERMINATE_ACTIVITY,
    AppStates,
    DigInput,
)
from backend.domains.digs.model import AppState, OrchestratorStatus
from backend.domains.digs.orchestrator import Orchestrator, OrchestratorError, OrchestratorRefused
from backend.domains.placement.dig_placement import PlacementAnswer
from backend.domains.placement.messages import PLACE_DIG_CALL, DigPlacement
from backend.providers.faults import FaultPlan
from backend.providers.status import StatusSink, StatusUnavailable
from backend.workflows.activity_steps import StepActivities, beat, step

READY_POLL_SECONDS = 0.5
T = TypeVar("T")


class DigActivities(StepActivities):
    """The DIG workflow's activities, over one orchestrator."""

    def __init__(
        self, orchestrator: Orchestrator, faults: FaultPlan, status: StatusSink | None = None
    ) -> None:
        super().__init__(faults)
        self.orchestrator = orchestrator
        self._status = status

    @step(PLACE_ACTIVITY)
    async def place(self, request: DigPlacement) -> PlacementAnswer:
        """Place the apps that name a target on the hosts it matches (or, `remove`, take them
        off); a refusal (a missing target) is final."""
        if self._status is None:
            raise ApplicationError("placement is not available to this worker", non_retryable=True)
        try:
            answer = PlacementAnswer.model_validate(
                await self._status.call(PLACE_DIG_CALL, request.model_dump(mode="json"))
            )
        except StatusUnavailable as err:
            raise ApplicationError(str(err), type="StatusUnavailable") from err
        if answer.refused:
            raise ApplicationError(answer.refused, type=ORCHESTRATOR_REFUSED, non_retryable=True)
        return answer

    @step(CREATE_ACTIVITY, fault="create")
    async def create(self, request: DigInput) -> str:
        """Make the DIG known to the orchestrator; its name."""
        await _call(self.orchestrator.create(request.dig, request.apps, request.description))
        return self.orchestrator.name

    @step(APPROVE_ACTIVITY, fault="approve")
    async def approve(self, request: DigInput) -> None:
        """Approve the DIG at the orchestrator."""
        await _call(self.orchestrator.approve(request.dig))

    @step(INSTANTIATE_ACTIVITY, fault="instantiate")
    async def instantiate(self, request: DigInput) -> AppStates:
        """Deploy every app (a worker app's process starts); their states."""
        total = max(1, len(request.apps))

        def moved(states: list[AppState]) -> None:
            beat(sum(1 for s in states if s.state.value == "Applied"), total)

        states = await _call(self.orchestrator.instantiate(request.dig, request.apps, moved))
        return AppStates(orchestrator=self.orchestrator.name, apps=states)

    @step(READY_ACTIVITY, fault="ready")
    async def wait_ready(self, request: DigInput) -> AppStates:
        """Poll the orchestrator until every app is ready, or the timeout passes (then the
        states as they are: instantiated, not ready)."""
        deadline = time.monotonic() + request.ready_timeout_seconds
        total = max(1, len(request.apps))
        while True:
            status: OrchestratorStatus = await _call(
                self.orchestrator.status(request.dig, request.apps)
            )
            beat(sum(1 for a in status.apps if a.ready), total)
            if status.ready or time.monotonic() >= deadline:
                return AppStates(
                    orchestrator=self.orchestrator.name,
                    apps=status.apps,
                    ready=status.ready,
                    deployed=status.deployed,
                )
            await asyncio.sleep(READY_POLL_SECONDS)

    @step(TERMINATE_ACTIVITY, fault="terminate")
    async def terminate(self, request: DigInput) -> AppStates:
        """Remove every app (a worker app's process is stopped); their states."""
        total = max(1, len(request.apps))

        def moved(states: list[AppState]) -> None:
            beat(sum(1 for s in states if s.state.value == "Terminated"), total)

        states = await _call(self.orchestrator.terminate(request.dig, request.apps, moved))
        return AppStates(orchestrator=self.orchestrator.name, apps=states)

    @step(DELETE_ACTIVITY, fault="delete")
    async def delete(self, request: DigInput) -> None:
        """Forget the DIG at the orchestrator."""
        await _call(self.orchestrator.delete(request.dig))


async def _call(work: Awaitable[T]) -> T:
    """Await an orchestrator call; a refusal becomes a final ApplicationError, an outage a
    retryable one."""
    try:
        return await work
    except OrchestratorRefused as err:
        raise ApplicationError(str(err), type=ORCHESTRATOR_REFUSED, non_retryable=True) from None
    except OrchestratorError as err:
        activity.logger.warning("orchestrator: %s", err)
        raise ApplicationError(str(err), type="OrchestratorError") from None
