"""DIGs (specs/tac-worker-deployment.md, EMCO's deployment intent groups), declared once:
lifecycle states, columns, the lifecycle operations as actions.

Pure data (no Temporal, no I/O): the API, the store and the TUI all read this declaration.
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
from backend.domains.digs.messages import (
    APPROVE_SIGNAL,
    DELETE_SIGNAL,
    INSTANTIATE_SIGNAL,
    TERMINATE_SIGNAL,
    DigParams,
    OperationSignal,
)
from backend.domains.digs.model import (
    APPROVAL,
    DEFAULT_DIG_TASK_QUEUE,
    DIG_KIND,
    DIG_WORKFLOW_TYPE,
    CreateDig,
    Dig,
    DigDecision,
    DigOperation,
    DigStatus,
)


def _dig_params(dig_id: str, fields: Mapping[str, Any]) -> DigParams:
    return DigParams(
        dig_id=dig_id,
        name=fields["name"],
        project=fields["project"],
        composite_app=fields["composite_app"],
        version=fields["version"],
        description=fields.get("description") or "",
        apps=fields["apps"],
        tac_intents=fields.get("tac_intents") or [],
        requested_by=fields["requested_by"],
    )


_WORKING = Tone.WORKING
SPEC = EntitySpec(
    kind=DIG_KIND,
    plural="digs",
    title="DIGs",
    description="Deployment intent groups: apps deployed together (a worker app runs a Temporal"
    " worker), approved by a person, instantiated and terminated, with TAC hooks around them.",
    record=Dig,
    create=CreateDig,
    statuses=(
        StatusSpec(DigStatus.CREATED, Tone.WAITING, description="waiting for approval"),
        StatusSpec(DigStatus.APPROVED, description="frozen; can be instantiated"),
        StatusSpec(DigStatus.INSTANTIATING, _WORKING),
        StatusSpec(DigStatus.INSTANTIATED, Tone.GOOD),
        StatusSpec(DigStatus.TERMINATING, _WORKING),
        StatusSpec(DigStatus.TERMINATED, Tone.ENDED, description="can be instantiated again"),
        StatusSpec(DigStatus.FAILED, Tone.BAD),
        StatusSpec(DigStatus.DELETED, Tone.ENDED, final=True),
    ),
    initial_status=DigStatus.CREATED,
    columns=(
        Column("name", "name"),
        Column("scope", "project/app/version", compact_width=14),
        Column("app_names", "apps", compact_width=10),
        Column("status", "state", compact_width=13),
        Column(
            "readiness",
            "ready",
            compact_width=9,
            tones={"ready": Tone.GOOD, "not ready": Tone.WAITING},
        ),
        Column("progress", "progress", compact_width=11),
        Column("age", "age", compact_width=3),
        Column("note", "awaiting / error", compact_width=12),
    ),
    actions=(
        ActionSpec(
            name="approve",
            label="Approve",
            key="a",
            request=DigDecision,
            signal=APPROVE_SIGNAL,
            payload=OperationSignal,
            answers=APPROVAL,
            accepted_message="DIG {name} approved: it can be instantiated",
            description="Approve the DIG (EMCO approve: it is frozen and can be instantiated)",
        ),
        ActionSpec(
            name="instantiate",
            label="Instantiate",
            key="i",
            request=DigOperation,
            signal=INSTANTIATE_SIGNAL,
            payload=OperationSignal,
            accepted_message="DIG {name} is being instantiated",
            description="Deploy the DIG's apps (a worker app's worker starts), pre/post-install"
            " hooks around it",
        ),
        ActionSpec(
            name="terminate",
            label="Terminate",
            key="t",
            request=DigOperation,
            signal=TERMINATE_SIGNAL,
            payload=OperationSignal,
            destructive=True,
            confirm="Terminate DIG {name}? Its apps are removed (a worker app's worker stops).",
            accepted_message="DIG {name} is being terminated",
            description="Remove the DIG's apps, pre/post-terminate hooks around it",
        ),
        ActionSpec(
            name="delete",
            label="Delete",
            key="x",
            request=DigOperation,
            signal=DELETE_SIGNAL,
            payload=OperationSignal,
            destructive=True,
            confirm="Delete DIG {name}? It is forgotten (its name is free again).",
            when_missing=DigStatus.DELETED,
            when_missing_from=frozenset(
                {DigStatus.CREATED, DigStatus.APPROVED, DigStatus.TERMINATED}
            ),
            accepted_message="DIG {name} deleted",
            description="Delete the DIG (not while it is instantiated: terminate it first)",
        ),
    ),
    workflow=WorkflowStart(DIG_WORKFLOW_TYPE, _dig_params),
    task_queue=DEFAULT_DIG_TASK_QUEUE,
    task_queue_env="TEMPORAL_DIGS_TASK_QUEUE",
    start_failed_status=DigStatus.FAILED,
    fault_steps=("create", "approve", "instantiate", "ready", "terminate", "delete"),
    created_message="DIG {name} created in {project}/{composite_app}/{version}",
    detail_fields=(
        ("project", "project"),
        ("composite app", "composite_app"),
        ("version", "version"),
        ("orchestrator", "orchestrator"),
        ("deployment", "deployed"),
        ("placed", "placed"),
        ("description", "description"),
    ),
)
