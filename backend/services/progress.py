"""Live progress from Temporal, read sparingly and shared by every caller.

- `VisibilityIndex`: one visibility list per kind (search attributes: phase, percent, awaiting) for
  every row of a list; cached briefly so any number of TUIs cost one call.
- `ProgressReader`: the exact `progress` query for the rows on screen and the selected one, at most
  `concurrency` in flight, cached for `ttl` seconds (forever once the workflow is done), with the
  running step's heartbeat (`{done, total}`) folded into the percent.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from temporalio.client import Client, WorkflowQueryFailedError
from temporalio.service import RPCError, RPCStatusCode

from backend.domain import search_attributes as names
from backend.domain.progress import PROGRESS_QUERY, Progress, ProgressSummary, StepState
from backend.workflows import search_attributes as sa

log = logging.getLogger(__name__)

QUERY_TIMEOUT = timedelta(seconds=3)
FAILURE_BACKOFF_SECONDS = 5.0
"""After a failed query, lists use the last value for this long instead of asking again."""


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
        self._failed_at: dict[str, float] = {}

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
                    PROGRESS_QUERY,
                    result_type=Progress,
                    rpc_timeout=QUERY_TIMEOUT,
                )
                progress = await self._with_heartbeat(workflow_id, progress)
            except (WorkflowQueryFailedError, RPCError) as err:
                if isinstance(err, RPCError) and err.status == RPCStatusCode.NOT_FOUND:
                    return None
                log.info("progress query of %s failed: %s", workflow_id, err)
                self._failed_at[workflow_id] = time.monotonic()
                if strict:
                    raise ProgressUnavailable(
                        f"Temporal did not answer for {workflow_id}: {err}"
                    ) from None
                cached = self._cache.get(workflow_id)
                return cached.progress if cached else None
        self._failed_at.pop(workflow_id, None)
        self._cache[workflow_id] = _Cached(time.monotonic(), progress)
        return progress

    async def _with_heartbeat(self, workflow_id: str, progress: Progress) -> Progress:
        """Fold the running step's heartbeat details into the percent (percent moves in a step)."""
        running = next(
            (s for s in progress.steps if s.state == StepState.RUNNING and s.heartbeats), None
        )
        if running is None or progress.done:
            return progress
        description = await self._client.get_workflow_handle(workflow_id).describe(
            rpc_timeout=QUERY_TIMEOUT
        )
        for pending in description.raw_description.pending_activities:
            if pending.activity_type.name != running.name or not pending.heartbeat_details.payloads:
                continue
            details = self._client.data_converter.payload_converter.from_payloads(
                pending.heartbeat_details.payloads
            )
            beat = details[0] if details else None
            if isinstance(beat, dict) and beat.get("total"):
                done, total = int(beat.get("done", 0)), int(beat["total"])
                running.detail = f"{done}/{total}"
                fraction = max(0.0, min(1.0, done / total))
                progress.percent = min(100, progress.percent + round(running.weight * fraction))
            if pending.attempt > 1:
                running.attempt = pending.attempt
                if pending.HasField("last_failure") and pending.last_failure.message:
                    running.detail = (
                        f"{running.detail or ''} retrying: {pending.last_failure.message}"
                    )
        return progress


class VisibilityIndex:
    """Phase / percent / awaiting of every workflow of a kind, from one visibility list."""

    def __init__(self, client: Client, *, ttl: float = 1.0, limit: int = 10_000) -> None:
        self._client = client
        self._ttl = ttl
        self._limit = limit
        self._cache: dict[str, tuple[float, dict[str, ProgressSummary]]] = {}
        self._lock = asyncio.Lock()

    async def summaries(self, kind: str) -> dict[str, ProgressSummary]:
        """Workflow id → summary for every workflow of `kind` (empty when Temporal is away)."""
        cached = self._cache.get(kind)
        if cached and time.monotonic() - cached[0] < self._ttl:
            return cached[1]
        async with self._lock:
            cached = self._cache.get(kind)
            if cached and time.monotonic() - cached[0] < self._ttl:
                return cached[1]
            found: dict[str, ProgressSummary] = {}
            try:
                # Running ones only: ended workflows' state is final in the store and their
                # last progress stays cached, so the list stays as small as what is live.
                query = f"{names.KIND} = '{kind}' AND ExecutionStatus = 'Running'"
                async for execution in self._client.list_workflows(
                    query, limit=self._limit, rpc_timeout=QUERY_TIMEOUT
                ):
                    attrs = execution.typed_search_attributes
                    found.setdefault(
                        execution.id,
                        ProgressSummary(
                            phase=attrs.get(sa.PHASE),
                            percent=attrs.get(sa.PERCENT),
                            awaiting=attrs.get(sa.AWAITING) or None,
                        ),
                    )
            except RPCError as err:
                log.info("visibility list of %s failed: %s", kind, err)
                return cached[1] if cached else {}
            self._cache[kind] = (time.monotonic(), found)
            return found
