"""The store work the change processor asks for (`StatusSink.call`)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from backend.domains.placement.dig_placement import PlacementAnswer, place_dig_apps
from backend.domains.placement.messages import (
    PLACE_DIG_CALL,
    PROCESS_CALL,
    DigPlacement,
    ProcessRequest,
    ProcessResult,
)
from backend.services.domain_calls import CallContext, DomainCall
from backend.store.placement import PlacementError
from backend.store.placement_feed import PlacementFeed


async def _process(context: CallContext, body: dict[str, Any]) -> BaseModel:
    request = ProcessRequest.model_validate(body)
    batch = await PlacementFeed(context.database).process(request.after, limit=request.limit)
    return ProcessResult(
        bookmark=batch.bookmark,
        head=batch.head,
        changes=batch.changes,
        messages=batch.messages,
        oldest_pending_at=batch.oldest_pending_at,
    )


async def _place_dig(context: CallContext, body: dict[str, Any]) -> BaseModel:
    request = DigPlacement.model_validate(body)
    try:
        return await place_dig_apps(context.database, request)
    except PlacementError as err:
        # A refusal, not trouble: the DIG says why and does not retry.
        return PlacementAnswer(refused=str(err))


CALLS: dict[str, DomainCall] = {PROCESS_CALL: _process, PLACE_DIG_CALL: _place_dig}
