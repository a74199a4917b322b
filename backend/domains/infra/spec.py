"""Infra runs (specs/infra-provisioning-demo.md), declared once: statuses, columns, actions.

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
from backend.domains.infra.messages import (
    APPROVE_SIGNAL,
    CANCEL_SIGNAL,
    DENY_SIGNAL,
    CancelSignal,
    DecisionSignal,
    InfraProvisionParams,
)
from backend.domains.infra.model import (
    APPROVAL,
    DEFAULT_INFRA_TASK_QUEUE,
    INFRA_KIND,
    INFRA_WORKFLOW_TYPE,
    CancelInfraRun,
    CreateInfraRun,
    InfraDecision,
    InfraRun,
    InfraStatus,
)

PROVISION_STATUS = "provisionStatus"
TF_DIRECTORY = "tfDirectory"


def _provision_params(run_id: str, fields: Mapping[str, Any]) -> InfraProvisionParams:
    return InfraProvisionParams(
        run_id=run_id,
        directory=fields["directory"],
        variables=fields.get("variables") or {},
        require_approval=fields.get("require_approval", False),
        approval_timeout_minutes=fields.get("approval_timeout_minutes"),
        requested_by=fields["requested_by"],
    )


_WORKING = Tone.WORKING
SPEC = EntitySpec(
    kind=INFRA_KIND,
    plural="infra-runs",
    title="Infra runs",
    description="Terraform runs: init, plan, policy check, human approval when policy fails"
    " (or is required), apply, outputs.",
    record=InfraRun,
    create=CreateInfraRun,
    statuses=(
        StatusSpec(InfraStatus.UNINITIALIZED),
        StatusSpec(InfraStatus.INITIALIZING, _WORKING),
        StatusSpec(InfraStatus.PLANNING, _WORKING),
        StatusSpec(InfraStatus.POLICY_CHECKING, _WORKING),
        StatusSpec(InfraStatus.AWAITING_APPROVAL, Tone.WAITING),
        StatusSpec(InfraStatus.APPLYING, _WORKING),
        StatusSpec(InfraStatus.APPLIED, Tone.GOOD, final=True),
        StatusSpec(InfraStatus.REJECTED, Tone.ENDED, final=True),
        StatusSpec(InfraStatus.EXPIRED, Tone.ENDED, final=True),
        StatusSpec(InfraStatus.CANCELLED, Tone.ENDED, final=True),
        StatusSpec(InfraStatus.FAILED, Tone.BAD, final=True),
    ),
    initial_status=InfraStatus.UNINITIALIZED,
    columns=(
        Column("name", "name"),
        Column("directory", "directory", compact_width=12),
        Column("changes", "plan", compact_width=9),
        Column(
            "policy_verdict",
            "policy",
            compact_width=8,
            tones={"passed": Tone.GOOD},
        ),
        Column("status", "status", compact_width=17),
        Column("progress", "progress", compact_width=11),
        Column("age", "age", compact_width=3),
        Column("note", "awaiting / error", compact_width=12),
    ),
    actions=(
        ActionSpec(
            name="approve",
            label="Approve",
            key="a",
            request=InfraDecision,
            signal=APPROVE_SIGNAL,
            payload=DecisionSignal,
            answers=APPROVAL,
            accepted_message="infra run {name} approved: applying",
            description="Approve the apply despite the policy result (approve_apply signal,"
            " with a reason)",
        ),
        ActionSpec(
            name="deny",
            label="Deny",
            key="d",
            request=InfraDecision,
            signal=DENY_SIGNAL,
            payload=DecisionSignal,
            answers=APPROVAL,
            accepted_message="infra run {name} denied: nothing is applied",
            description="Deny the apply: the run ends rejected (deny_apply signal, with a reason)",
        ),
        ActionSpec(
            name="cancel",
            label="Cancel",
            key="c",
            request=CancelInfraRun,
            signal=CANCEL_SIGNAL,
            payload=CancelSignal,
            destructive=True,
            confirm="Cancel infra run {name}? A running terraform step is interrupted;"
            " what it applied stays applied.",
            when_missing=InfraStatus.CANCELLED,
            send_unconfirmed=True,
            accepted_message="infra run {name} is being cancelled",
            description="Cancel the run (cancel_run signal); an apply in progress is interrupted",
        ),
    ),
    workflow=WorkflowStart(INFRA_WORKFLOW_TYPE, _provision_params),
    task_queue=DEFAULT_INFRA_TASK_QUEUE,
    task_queue_env="TEMPORAL_INFRA_PROVISION_TASK_QUEUE",
    start_failed_status=InfraStatus.FAILED,
    fault_steps=("init", "plan", "policy", "apply", "show"),
    created_message="infra run {name} requested for {directory}",
    detail_fields=(
        ("directory", "directory"),
        ("variables", "variables"),
        ("runner", "runner"),
        ("approval required", "require_approval"),
        ("decision", "decision_reason"),
    ),
    search_attributes={PROVISION_STATUS: "Text", TF_DIRECTORY: "Text"},
)
