"""The sample TAC hook's activity: records that the hook ran, in which worker process, as a file.

`flightdeck.hooks.record` writes `{workflow_id, run_id, task_queue, pid, params, finished_at}` as
JSON to `<data dir>/hooks/<workflow_id>.json` (atomically), so a test or an operator can see which
worker (the pid) ran which hook. It waits `seconds` first, heartbeating every second (a cancel
stops it), and fails for good when the params ask it to.
"""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationError
from temporalio import activity
from temporalio.exceptions import ApplicationError

HOOK_RECORD_ACTIVITY = "flightdeck.hooks.record"
HOOK_FAILED = "HookAskedToFail"
"""The error type of a hook that was asked to fail (not retryable)."""
BAD_HOOK_PARAMS = "BadHookParams"
"""The error type of params the sample hook cannot read (not retryable)."""
HOOKS_DIR = "hooks"
"""Where under the data dir the records go."""


class HookParams(BaseModel):
    """What the sample hook reads from its workflow params (other keys are kept, not read)."""

    model_config = ConfigDict(extra="allow")

    message: str = ""
    seconds: float = Field(default=0.0, ge=0, le=3600)
    """How long the hook works (heartbeating every second) before it records and returns."""
    fail: StrictBool = False
    """Fail for good (`hook asked to fail`) once the work is done."""

    @classmethod
    def parse(cls, params: dict[str, Any]) -> HookParams:
        """The params, or a non-retryable ApplicationError saying what is wrong with them."""
        try:
            return cls.model_validate(params)
        except ValidationError as err:
            first = err.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "params"
            raise ApplicationError(
                f"bad hook params: {where}: {first['msg']}",
                type=BAD_HOOK_PARAMS,
                non_retryable=True,
            ) from None


class HookRecord(BaseModel):
    """What the activity returns: the worker process that ran the hook and the file it wrote."""

    pid: int
    path: str


class HookActivities:
    """The sample hook's activity, writing its records under `data_dir/hooks/`."""

    def __init__(self, data_dir: Path, *, pid: Callable[[], int] = os.getpid) -> None:
        self.hooks_dir = data_dir / HOOKS_DIR
        self._pid = pid

    def all(self) -> list[Callable[..., Any]]:
        """The activities to register on a worker."""
        return [self.record]

    def record_path(self, workflow_id: str) -> Path:
        """The record of the hook workflow `workflow_id`."""
        safe = workflow_id.replace("/", "_").replace("\\", "_")
        if not safe or safe.startswith("."):
            safe = f"_{safe}"
        return self.hooks_dir / f"{safe}.json"

    @activity.defn(name=HOOK_RECORD_ACTIVITY)
    async def record(self, params: dict[str, Any]) -> HookRecord:
        """Wait `seconds` (heartbeating), write the record, then fail if asked to."""
        hook = HookParams.parse(params)
        info = activity.info()
        waited = 0.0
        while waited < hook.seconds:
            activity.heartbeat(waited)
            step = min(1.0, hook.seconds - waited)
            await asyncio.sleep(step)
            waited += step
        workflow_id = info.workflow_id or info.activity_id
        path = self.record_path(workflow_id)
        pid = self._pid()
        document = {
            "workflow_id": workflow_id,
            "run_id": info.workflow_run_id,
            "task_queue": info.task_queue,
            "pid": pid,
            "params": params,
            "finished_at": datetime.now(UTC).isoformat(),
        }
        await asyncio.to_thread(_write_record, path, document)
        if hook.fail:
            raise ApplicationError("hook asked to fail", type=HOOK_FAILED, non_retryable=True)
        return HookRecord(pid=pid, path=str(path))


def _write_record(path: Path, document: dict[str, Any]) -> None:
    """Write the record atomically (temp file, fsync, rename): keyed by workflow id, a retry or
    a new run of the same workflow id replaces it, never adds a second one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with tmp.open("w", encoding="utf-8") as handle:
            handle.write(json.dumps(document, indent=2, default=str))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
