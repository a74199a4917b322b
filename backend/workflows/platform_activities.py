"""Activities every worker runs for every domain: report an entity's status, claim an entity.

They call the worker's `StatusSink` (in process, or the API over HTTP), so workers never write
the API's database themselves.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from temporalio import activity
from temporalio.exceptions import ApplicationError

from backend.domain.status import ClaimRequest, ClaimResult, RegisterRequest, StatusReport
from backend.providers.status import EntityMissing, StatusSink, StatusUnavailable

REPORT_STATUS = "flightdeck.ReportStatus"
CLAIM_ENTITY = "flightdeck.ClaimEntity"
REGISTER_ENTITY = "flightdeck.RegisterEntity"
ENTITY_MISSING = "EntityMissing"
ENTITY_OWNED = "EntityOwnedByAnotherWorkflow"


class PlatformActivities:
    """The status path's activities, bound to a sink."""

    def __init__(self, sink: StatusSink) -> None:
        self._sink = sink

    def all(self) -> list[object]:
        """Every platform activity, for the registry."""
        return [self.report_status, self.claim_entity, self.register_entity]

    @activity.defn(name=REPORT_STATUS)
    async def report_status(self, report: StatusReport) -> None:
        """Apply a status report (idempotent: an older version changes nothing)."""
        with _sink_errors():
            await self._sink.report(report)

    @activity.defn(name=CLAIM_ENTITY)
    async def claim_entity(self, request: ClaimRequest) -> ClaimResult:
        """Claim the entity for this workflow; fails (not retryable) when another owns it."""
        return await claim(self._sink, request)

    @activity.defn(name=REGISTER_ENTITY)
    async def register_entity(self, request: RegisterRequest) -> ClaimResult:
        """Create the entity of a workflow another workflow started (idempotent); fails (not
        retryable) when its id or name belongs to another workflow."""
        with _sink_errors():
            result = await self._sink.register(request)
        if not result.granted:
            raise ApplicationError(result.reason, type=ENTITY_OWNED, non_retryable=True)
        return result


async def claim(sink: StatusSink, request: ClaimRequest) -> ClaimResult:
    """Claim an entity through `sink` from inside an activity; an ApplicationError (not
    retryable) when the entity is missing or another workflow owns it."""
    with _sink_errors():
        result = await sink.claim(request)
    if not result.granted:
        raise ApplicationError(result.reason, type=ENTITY_OWNED, non_retryable=True)
    return result


@contextmanager
def _sink_errors() -> Iterator[None]:
    """Sink errors as activity failures: a missing entity is final, an unreachable store not."""
    try:
        yield
    except EntityMissing as err:
        raise ApplicationError(str(err), type=ENTITY_MISSING, non_retryable=True) from err
    except StatusUnavailable as err:
        raise ApplicationError(str(err), type="StatusUnavailable") from err
