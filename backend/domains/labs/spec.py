"""Labs (specs/lab-workflow-service.md), declared once: statuses, columns, actions, workflow.

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
from backend.domains.labs.messages import CancelLabSignal, HumanReviewSignal, LabProvisionParams
from backend.domains.labs.model import (
    DEFAULT_LABS_TASK_QUEUE,
    LAB_KIND,
    LAB_WORKFLOW_TYPE,
    CancelLab,
    CreateLab,
    Lab,
    LabStatus,
    ReviewLab,
)


def _provision_params(lab_id: str, fields: Mapping[str, Any]) -> LabProvisionParams:
    return LabProvisionParams(
        lab_id=lab_id,
        name=fields["name"],
        requested_by=fields["requested_by"],
        severity=fields["severity"],
        ttl_hours=fields["ttl_hours"],
    )


_WORKING = Tone.WORKING
SPEC = EntitySpec(
    kind=LAB_KIND,
    plural="labs",
    title="Labs",
    description="Lab environments: lock, blueprint, provision, validate, human review, run "
    "until the TTL, tear down.",
    record=Lab,
    create=CreateLab,
    statuses=(
        StatusSpec(LabStatus.QUEUED),
        StatusSpec(LabStatus.GENERATING_BLUEPRINT, _WORKING),
        StatusSpec(LabStatus.PROVISIONING, _WORKING),
        StatusSpec(LabStatus.VALIDATING, _WORKING),
        StatusSpec(LabStatus.AWAITING_REVIEW, Tone.WAITING),
        StatusSpec(LabStatus.FINALIZING, _WORKING),
        StatusSpec(LabStatus.RUNNING, Tone.GOOD),
        StatusSpec(LabStatus.TEARING_DOWN, _WORKING),
        StatusSpec(LabStatus.EXPIRED, Tone.ENDED, final=True),
        StatusSpec(LabStatus.CANCELLED, Tone.ENDED, final=True),
        StatusSpec(LabStatus.FAILED, Tone.BAD, final=True),
    ),
    initial_status=LabStatus.QUEUED,
    columns=(
        Column("name", "name"),
        Column(
            "severity",
            "severity",
            compact_width=4,
            tones={"low": Tone.ENDED, "high": Tone.NOTABLE, "critical": Tone.BAD},
            short={"medium": "med", "critical": "crit"},
        ),
        Column("status", "status", compact_width=15),
        Column("progress", "progress", compact_width=11),
        Column("age", "age", compact_width=3),
        Column("note", "awaiting / error", compact_width=14),
    ),
    actions=(
        ActionSpec(
            name="review",
            label="Review",
            key="r",
            request=ReviewLab,
            signal="HumanReview",
            payload=HumanReviewSignal,
            answers="review",
            audit_verb="review.{decision}",
            accepted_message="lab {name} reviewed: {decision} ({request_id})",
            description="Approve the lab, or request changes (HumanReview signal)",
        ),
        ActionSpec(
            name="cancel",
            label="Cancel",
            key="c",
            request=CancelLab,
            signal="CancelLab",
            payload=CancelLabSignal,
            destructive=True,
            confirm="Cancel lab {name}? Its environment will be torn down.",
            when_missing=LabStatus.CANCELLED,
            send_unconfirmed=True,
            accepted_message="lab {name} is being cancelled; its environment will be torn down",
            description="Cancel the lab (CancelLab signal): what exists is torn down",
        ),
    ),
    workflow=WorkflowStart(LAB_WORKFLOW_TYPE, _provision_params),
    task_queue=DEFAULT_LABS_TASK_QUEUE,
    task_queue_env="TEMPORAL_LABS_TASK_QUEUE",
    fault_steps=("lock", "blueprint", "provision", "validation", "review", "finalize", "teardown"),
    created_message="lab {name} requested ({severity}, {ttl_hours} h)",
    detail_fields=(("severity", "severity"), ("ttl", "ttl_hours"), ("expires", "expires_at")),
)
