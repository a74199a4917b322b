"""The API's side of the change processor: make sure it runs, and wake it after each change.

The processor is one long-lived workflow (an entity of the platform, kind `change-processor`).
A committed change signals it (`changes_committed`); when that signal is lost, or no processor
runs, it catches up at its next poll, or when the next change (re)starts it.
"""

from __future__ import annotations

import asyncio
import logging

from backend.api.context import ApiContext
from backend.domains.placement.messages import CHANGES_COMMITTED_SIGNAL, PROCESSOR_NAME
from backend.domains.placement.model import PROCESSOR_KIND, CreateProcessor
from backend.services.errors import Conflict, NotFound, ServiceError

log = logging.getLogger(__name__)

NUDGE_TIMEOUT = 5.0
_pending: set[asyncio.Task[None]] = set()


async def ensure_processor(context: ApiContext) -> str | None:
    """The running processor's workflow id, starting it when there is none; None when
    Temporal does not answer (the next change tries again)."""
    service = context.entities.get(PROCESSOR_KIND)
    if service is None:
        return None
    lock: asyncio.Lock | None = getattr(context, "_processor_lock", None)
    if lock is None:
        lock = asyncio.Lock()
        context._processor_lock = lock  # type: ignore[attr-defined]
    async with lock:
        try:
            return (await service.named(PROCESSOR_NAME)).workflow_id
        except NotFound:
            pass
        try:
            entity = await service.create(CreateProcessor(requested_by="flightdeck"))
        except Conflict:
            return (await service.named(PROCESSOR_NAME)).workflow_id
        except ServiceError as err:
            log.warning("change processor not started: %s", err)
            return None
        return entity.workflow_id


async def _nudge(context: ApiContext) -> None:
    workflow_id = await ensure_processor(context)
    if workflow_id is None:
        return
    await context.client.get_workflow_handle(workflow_id).signal(CHANGES_COMMITTED_SIGNAL)


async def _nudge_quietly(context: ApiContext) -> None:
    try:
        await asyncio.wait_for(_nudge(context), NUDGE_TIMEOUT)
    except Exception as err:  # best effort: the processor also polls
        log.info("change processor not woken: %s", err)


def nudge_processor(context: ApiContext) -> None:
    """Wake the processor (start it if needed) without holding up the request."""
    task = asyncio.get_running_loop().create_task(_nudge_quietly(context))
    _pending.add(task)
    task.add_done_callback(_pending.discard)
