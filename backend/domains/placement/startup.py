"""When the API serves: make sure the change processor runs (and catches up on what was
committed while it was away)."""

from __future__ import annotations

from backend.api.context import ApiContext
from backend.domains.placement.processor import nudge_processor


async def on_api_start(context: ApiContext) -> None:
    """Start (or wake) the change processor, in the background."""
    nudge_processor(context)
