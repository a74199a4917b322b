"""Hook runs (specs/tac-worker-deployment.md: the TAC hook flow), declared once.

A DIG's lifecycle operation runs its TAC intents as hook runs (child workflows that register
themselves here); one can also be started by hand. Pure data: no Temporal, no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from backend.domain.entity import (
    ActionSpec,
    Column,
    EntitySpec,
    StatusSpec,
    Tone,
    WorkflowStart,
)
from backend.domains.digs.model import DEFAULT_DIG_TASK_QUEUE, DigRef, HookWorkflow, TacIntent
from backend.domains.tac.messages import (
    CANCEL_SIGNAL,
    TAC_HOOK_WORKFLOW_TYPE,
    CancelHookSignal,
    HookRunParams,
)
from backend.domains.tac.model import (
    TAC_KIND,
    CancelHookRun,
    CreateHookRun,
    HookRun,
    HookRunStatus,
)


def _hook_params(run_id: str, fields: Mapping[str, Any]) -> HookRunParams:
    return HookRunParams(
        hook_run_id=run_id,
        name=fields["name"],
        dig=DigRef(
            project=fields["project"],
            composite_app=fields["composite_app"],
            version=fields["version"],
            name=fields["dig"],
        ),
        intent=TacIntent(
            name=fields["tac_intent"],
            hook_type=fields.get("hook_type") or "pre-install",
            blocking=fields.get("blocking", True),
            ready_timeout_seconds=fields.get("ready_timeout_seconds") or 120,
            workflows=[
                HookWorkflow(
                    workflow_type=fields["workflow_type"],
                    task_queue=fields["task_queue"],
                    params=fields.get("params") or {},
                )
            ],
        ),
        lifecycle="manual",
        requested_by=fields["requested_by"],
    )


_WORKING = Tone.WORKING
SPEC = EntitySpec(
    kind=TAC_KIND,
    plural="hook-runs",
    title="Hook runs",
    description="TAC hook runs: the workers a DIG's hook needs are checked (and started when"
    " registered and approved), the hook workflows run, the started workers are cleaned up.",
    record=HookRun,
    create=CreateHookRun,
    statuses=(
        StatusSpec(HookRunStatus.CHECKING_WORKERS, _WORKING),
        StatusSpec(HookRunStatus.RUNNING_HOOKS, _WORKING),
        StatusSpec(HookRunStatus.CLEANING_UP, _WORKING),
        StatusSpec(HookRunStatus.SUCCEEDED, Tone.GOOD, final=True),
        StatusSpec(HookRunStatus.FAILED, Tone.BAD, final=True),
        StatusSpec(HookRunStatus.CANCELLED, Tone.ENDED, final=True),
    ),
    initial_status=HookRunStatus.CHECKING_WORKERS,
    columns=(
        Column("name", "name"),
        Column("dig", "dig", compact_width=10),
        Column("hook_type", "hook", compact_width=11),
        Column("workers", "workers", compact_width=14),
        Column("status", "status", compact_width=16),
        Column("progress", "progress", compact_width=11),
        Column("age", "age", compact_width=3),
        Column("note", "error", compact_width=12),
    ),
    actions=(
        ActionSpec(
            name="cancel",
            label="Cancel",
            key="c",
            request=CancelHookRun,
            signal=CANCEL_SIGNAL,
            payload=CancelHookSignal,
            destructive=True,
            confirm="Cancel hook run {name}? Running hook workflows are cancelled; the worker"
            " DIGs it started are terminated.",
            when_missing=HookRunStatus.CANCELLED,
            send_unconfirmed=True,
            accepted_message="hook run {name} is being cancelled",
            description="Cancel the hook run (cancel_hook signal); cleanup still runs",
        ),
    ),
    workflow=WorkflowStart(TAC_HOOK_WORKFLOW_TYPE, _hook_params),
    # Hook runs share the DIGs' queue: a DIG starts them as children on its own queue.
    task_queue=DEFAULT_DIG_TASK_QUEUE,
    task_queue_env="TEMPORAL_DIGS_TASK_QUEUE",
    start_failed_status=HookRunStatus.FAILED,
    fault_steps=("lookup",),
    created_message="hook run {name} requested for DIG {dig} ({workflow_type} on {task_queue})",
    detail_fields=(
        ("DIG", "dig"),
        ("project", "project"),
        ("TAC intent", "tac_intent"),
        ("hook type", "hook_type"),
        ("fired by", "lifecycle"),
    ),
)
