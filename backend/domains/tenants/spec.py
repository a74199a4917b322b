"""Tenants (specs/tenant-provisioning-worker.md), declared once: statuses, columns, actions.

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
from backend.domains.tenants.messages import (
    ABORT_DEPROVISION_SIGNAL,
    CANCEL_PROVISIONING_SIGNAL,
    RESOLVE_STEP_SIGNAL,
    RETRY_STEP_SIGNAL,
    SKIP_GRACE_SIGNAL,
    InterventionSignal,
    ReasonSignal,
    TenantDeprovisionParams,
    TenantProvisionParams,
)
from backend.domains.tenants.model import (
    DEFAULT_TENANTS_TASK_QUEUE,
    DEPROVISION_WORKFLOW,
    INTERVENTION,
    PROVISION_WORKFLOW,
    TENANT_KIND,
    CreateTenant,
    DeprovisionTenant,
    StepIntervention,
    Tenant,
    TenantReason,
    TenantStatus,
)


def _provision_params(tenant_id: str, fields: Mapping[str, Any]) -> TenantProvisionParams:
    return TenantProvisionParams.model_validate({**fields, "tenant_id": tenant_id})


def _deprovision_params(tenant_id: str, fields: Mapping[str, Any]) -> TenantDeprovisionParams:
    return TenantDeprovisionParams.model_validate({**fields, "tenant_id": tenant_id})


SPEC = EntitySpec(
    kind=TENANT_KIND,
    plural="tenants",
    title="Tenants",
    description="SaaS tenants: IdP organization, infrastructure, deployment, DNS and resource "
    "records, rolled back as a saga on failure; deprovisioning with grace period and backup.",
    record=Tenant,
    create=CreateTenant,
    statuses=(
        StatusSpec(TenantStatus.PENDING),
        StatusSpec(TenantStatus.PROVISIONING, Tone.WORKING),
        StatusSpec(TenantStatus.ROLLING_BACK, Tone.BAD),
        StatusSpec(TenantStatus.ACTIVE, Tone.GOOD),
        StatusSpec(TenantStatus.PROVISION_FAILED, Tone.BAD, final=True),
        StatusSpec(TenantStatus.DEPROVISIONING, Tone.WORKING),
        StatusSpec(TenantStatus.DEPROVISIONED, Tone.ENDED, final=True),
    ),
    initial_status=TenantStatus.PENDING,
    start_failed_status=TenantStatus.PROVISION_FAILED,
    columns=(
        Column("name", "name"),
        Column(
            "plan",
            "plan",
            compact_width=5,
            tones={"enterprise": Tone.NOTABLE, "free": Tone.ENDED},
            short={"standard": "std", "premium": "prem", "enterprise": "ent"},
        ),
        Column("region", "region", compact_width=9),
        Column("status", "status", compact_width=14),
        Column("progress", "progress", compact_width=11),
        Column("age", "age", compact_width=3),
        Column("note", "awaiting / error", compact_width=12),
    ),
    actions=(
        ActionSpec(
            name="cancel",
            label="Cancel",
            key="c",
            request=TenantReason,
            signal=CANCEL_PROVISIONING_SIGNAL,
            payload=ReasonSignal,
            destructive=True,
            confirm="Cancel provisioning of tenant {name}? What was made so far is rolled back.",
            when_missing=TenantStatus.PROVISION_FAILED,
            when_missing_from=frozenset(
                {TenantStatus.PENDING, TenantStatus.PROVISIONING, TenantStatus.ROLLING_BACK}
            ),
            send_unconfirmed=True,
            accepted_message="tenant {name} is being cancelled; what was made is rolled back",
            description="Cancel provisioning (CancelProvisioning signal): completed steps are "
            "compensated in reverse order",
        ),
        ActionSpec(
            name="deprovision",
            label="Deprovision",
            key="d",
            request=DeprovisionTenant,
            start=WorkflowStart(DEPROVISION_WORKFLOW, _deprovision_params),
            allowed_statuses=frozenset({TenantStatus.ACTIVE}),
            destructive=True,
            confirm="Deprovision tenant {name}? Its application, infrastructure, DNS and IdP "
            "organization are removed.",
            accepted_message="tenant {name}: deprovisioning started"
            " (grace period {grace_period_hours} h)",
            description="Remove the tenant (starts TenantDeprovisionWorkflow)",
        ),
        ActionSpec(
            name="skip-grace",
            label="Skip grace",
            key="e",
            request=TenantReason,
            signal=SKIP_GRACE_SIGNAL,
            payload=ReasonSignal,
            destructive=True,
            confirm="End the grace period of tenant {name} now? Removal starts at once.",
            accepted_message="tenant {name}: grace period skipped; removal starts",
            description="End a deprovision's grace period now (SkipGracePeriod signal)",
        ),
        ActionSpec(
            name="abort-deprovision",
            label="Abort deprovision",
            key="a",
            request=TenantReason,
            signal=ABORT_DEPROVISION_SIGNAL,
            payload=ReasonSignal,
            accepted_message="tenant {name}: deprovisioning aborted; it stays active",
            description="Stop a deprovision during its grace period (AbortDeprovision signal)",
        ),
        ActionSpec(
            name="retry",
            label="Retry step",
            key="t",
            request=StepIntervention,
            signal=RETRY_STEP_SIGNAL,
            payload=InterventionSignal,
            answers=INTERVENTION,
            accepted_message="tenant {name}: the stuck step runs again",
            description="Run a step that kept failing once more (RetryStep signal)",
        ),
        ActionSpec(
            name="resolve",
            label="Mark resolved",
            key="m",
            request=StepIntervention,
            signal=RESOLVE_STEP_SIGNAL,
            payload=InterventionSignal,
            answers=INTERVENTION,
            destructive=True,
            confirm="Mark the stuck step of tenant {name} as resolved by hand? The workflow "
            "goes on as if it had succeeded.",
            accepted_message="tenant {name}: the stuck step is marked resolved",
            description="Say a person fixed what the stuck step does (ResolveStep signal)",
        ),
    ),
    workflow=WorkflowStart(PROVISION_WORKFLOW, _provision_params),
    task_queue=DEFAULT_TENANTS_TASK_QUEUE,
    task_queue_env="TEMPORAL_TENANTS_TASK_QUEUE",
    fault_steps=(
        "idp",
        "infrastructure",
        "deploy",
        "dns",
        "resources",
        "welcome",
        "delete_resources",
        "remove_dns",
        "rollback_deployment",
        "destroy_infrastructure",
        "delete_idp",
        "failure_email",
        "notify_users",
        "backup",
        "remove_deployment",
    ),
    created_message="tenant {name} requested ({plan}, {region})",
    detail_fields=(
        ("plan", "plan"),
        ("region", "region"),
        ("admin", "admin_email"),
        ("domain", "domain"),
        ("IdP org", "idp_organization"),
        ("grace until", "grace_until"),
    ),
)
