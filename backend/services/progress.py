"""Exact live progress from Temporal, read sparingly and shared by every caller.

Lists come from the store (workflows report their status there); the `progress` query is spent
only on the rows on screen and the selected one, at most `concurrency` in flight, cached for
`ttl` seconds (forever once the workflow is done). A step that has run for a while also gets
what Temporal knows about its activity: heartbeat details (`{done, total}`, so percent moves
inside the step), the attempt and the last failure (so a retrying step is visible at once).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from temporalio.api.failure.v1 import Failure
from temporalio.client import Client, WorkflowQueryFailedError
from temporalio.service import RPCError, RPCStatusCode

from backend.domain.progress import PROGRESS_QUERY, Progress, Step, StepState
from backend.runtime.codec import CodecError

log = logging.getLogger(__name__)

QUERY_TIMEOUT = timedelta(seconds=3)
DESCRIBE_AFTER = timedelta(seconds=2)
"""A step running at least this long gets its activity described (attempt, error, heartbeat);
shorter steps are not worth the extra call."""


@dataclass
class _Cached:
    at: float
    progress: Progress


class ProgressUnavailable(Exception):
    """Temporal did not answer the progress query."""


class ProgressReader:
    """Query `progress` with a short-lived shared cache and bounded concurrency."""

    def __init__(self, client: Client, *, ttl: float = 0.75, concurrency: int = 16) -> None:
        self._client = client
        self._ttl = ttl
        self._limit = asyncio.Semaphore(concurrency)
        self._cache: dict[str, _Cached] = {}
        self._inflight: dict[str, asyncio.Task[Progress | None]] = {}

    def forget(self, workflow_id: str) -> None:
        """Drop the cached value (after a signal, so the next read is fresh)."""
        self._cache.pop(workflow_id, None)

    async def read(
        self, workflow_id: str, *, fresh: bool = False, strict: bool = False
    ) -> Progress | None:
        """The workflow's progress; None when it cannot be read now (not started, unreachable).

        With `strict`, an unreachable Temporal raises ProgressUnavailable instead (for actions,
        which must not guess).
        """
        cached = self._cache.get(workflow_id)
        if (
            cached
            and not fresh
            and (cached.progress.done or time.monotonic() - cached.at < self._ttl)
        ):
            return cached.progress
        task = self._inflight.get(workflow_id)
        if task is None or fresh or strict:
            task = asyncio.ensure_future(self._query(workflow_id, strict=strict))
            self._inflight[workflow_id] = task
            task.add_done_callback(lambda done: self._forget_inflight(workflow_id, done))
        return await asyncio.shield(task)

    def _forget_inflight(self, workflow_id: str, task: asyncio.Task[Progress | None]) -> None:
        if self._inflight.get(workflow_id) is task:
            del self._inflight[workflow_id]

    async def read_many(self, workflow_ids: Iterable[str]) -> dict[str, Progress]:
        """Progress of several workflows at once (concurrency-bounded)."""
        ids = list(dict.fromkeys(workflow_ids))
        results = await asyncio.gather(*(self.read(wid) for wid in ids))
        return {wid: p for wid, p in zip(ids, results, strict=True) if p is not None}

    async def _query(self, workflow_id: str, *, strict: bool = False) -> Progress | None:
        async with self._limit:
            handle = self._client.get_workflow_handle(workflow_id)
            try:
                progress = await handle.query(
                    PROGRESS_QUERY, result_type=Progress, rpc_timeout=QUERY_TIMEOUT
                )
                progress = await self._with_activity(workflow_id, progress)
            except (WorkflowQueryFailedError, RPCError, CodecError) as err:
                if isinstance(err, RPCError) and err.status == RPCStatusCode.NOT_FOUND:
                    return None
                log.info("progress query of %s failed: %s", workflow_id, err)
                if strict:
                    raise ProgressUnavailable(
                        f"Temporal did not answer for {workflow_id}: {err}"
                    ) from None
                cached = self._cache.get(workflow_id)
                return cached.progress if cached else None
        self._cache[workflow_id] = _Cached(time.monotonic(), progress)
        return progress

    async def _with_activity(self, workflow_id: str, progress: Progress) -> Progress:
        """Fold in what Temporal knows of the running step's activity: heartbeat progress,
        attempt, last failure."""
        running = _running_step(progress)
        if running is None or progress.done:
            return progress
        description = await self._client.get_workflow_handle(workflow_id).describe(
            rpc_timeout=QUERY_TIMEOUT
        )
        for pending in description.raw_description.pending_activities:
            if pending.activity_type.name != running.name:
                continue
            if pending.heartbeat_details.payloads and running.heartbeats:
                # Through the whole data converter: heartbeat details may be encrypted.
                try:
                    details = await self._client.data_converter.decode(
                        list(pending.heartbeat_details.payloads)
                    )
                except CodecError as err:  # e.g. a worker already on a key this API lacks
                    log.warning("heartbeat of %s not readable: %s", workflow_id, err)
                    details = []
                beat = details[0] if details else None
                if isinstance(beat, dict) and beat.get("total"):
                    done, total = int(beat.get("done", 0)), int(beat["total"])
                    running.detail = f"{done}/{total}"
                    fraction = max(0.0, min(1.0, done / total))
                    progress.percent = min(100, progress.percent + round(running.weight * fraction))
            if pending.attempt > 1:
                running.attempt = pending.attempt
                if pending.HasField("last_failure") and pending.last_failure.message:
                    error = await self._failure_message(pending.last_failure)
                    running.detail = f"{running.detail or ''} retrying: {error}".strip()
                    progress.last_error = f"{running.name} attempt {pending.attempt - 1}: {error}"
        return progress

    async def _failure_message(self, failure: Failure) -> str:
        """A failure's message, decrypted when payload encryption encoded it."""
        if not failure.HasField("encoded_attributes"):
            return failure.message
        try:
            decoded = await self._client.data_converter.decode_failure(failure)
        except CodecError as err:
            return f"(encrypted failure: {err})"
        return getattr(decoded, "message", None) or str(decoded)


def _running_step(progress: Progress) -> Step | None:
    """The running step worth describing: one that heartbeats, or that has run a while."""
    now = datetime.now(UTC)
    for step in progress.steps:
        if step.state != StepState.RUNNING:
            continue
        if step.heartbeats:
            return step
        started = step.started_at
        if started is not None:
            started = started if started.tzinfo else started.replace(tzinfo=UTC)
            if now - started >= DESCRIBE_AFTER:
                return step
    return None
