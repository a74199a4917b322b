"""Sample TAC hook workflows: what a worker DIG's app runs (`flightdeck hook-worker`).

`flightdeck.hooks.Record` takes EMCO-style workflow params, a dict `{"message": str,
"seconds": float = 0, "fail": bool = False}`, and runs the `flightdeck.hooks.record` activity,
which waits `seconds`, writes which worker process ran it to `<data dir>/hooks/<workflow id>.json`
and fails for good when `fail` is true. The workflow returns `{"pid": ..., "path": ...}`.

Deterministic workflow code only; the activity module's imports are passed through.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from backend.domains.digs.hook_activities import (
        BAD_HOOK_PARAMS,
        HOOK_FAILED,
        HookActivities,
        HookParams,
        HookRecord,
    )

HOOK_RECORD_WORKFLOW = "flightdeck.hooks.Record"
HOOK_HEARTBEAT_TIMEOUT = timedelta(seconds=10)
HOOK_MIN_START_TO_CLOSE = timedelta(seconds=30)
HOOK_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    maximum_interval=timedelta(seconds=10),
    maximum_attempts=3,
    non_retryable_error_types=[HOOK_FAILED, BAD_HOOK_PARAMS],
)


def hook_timeout(seconds: float) -> timedelta:
    """The record activity's start-to-close timeout: 30 s, or `seconds` + 30 s when longer."""
    if seconds <= HOOK_MIN_START_TO_CLOSE.total_seconds():
        return HOOK_MIN_START_TO_CLOSE
    return timedelta(seconds=seconds) + HOOK_MIN_START_TO_CLOSE


@workflow.defn(name=HOOK_RECORD_WORKFLOW)
class HookRecordWorkflow:
    """Records that the hook ran (and in which worker process), after `seconds` of work."""

    @workflow.run
    async def run(self, params: dict[str, Any]) -> HookRecord:
        """Run the record activity; its failure (e.g. `hook asked to fail`) fails the hook."""
        hook = HookParams.parse(params)
        try:
            return await workflow.execute_activity_method(
                HookActivities.record,
                params,
                start_to_close_timeout=hook_timeout(hook.seconds),
                heartbeat_timeout=HOOK_HEARTBEAT_TIMEOUT,
                retry_policy=HOOK_RETRY,
            )
        except ActivityError as err:
            cause = err.cause
            if isinstance(cause, ApplicationError):
                raise ApplicationError(cause.message, type=cause.type, non_retryable=True) from err
            raise


HOOK_WORKFLOWS: list[type] = [HookRecordWorkflow]
"""Every sample hook workflow, for the hook worker to register."""
