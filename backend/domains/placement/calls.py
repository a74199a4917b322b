"""The store work the change processor asks for (`StatusSink.call`)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from backend.domains.placement.messages import PROCESS_CALL, ProcessRequest, ProcessResult
from backend.services.domain_calls import CallContext, DomainCall
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


CALLS: dict[str, DomainCall] = {PROCESS_CALL: _process}
