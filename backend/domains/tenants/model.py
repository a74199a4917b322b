"""Tenants' contract types: statuses, steps, request bodies and the record the API returns."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from backend.domain.entities import Entity
from backend.domain.form import ACTOR
from backend.domain.names import (
    Actor,
    Comment,
    Email,
    EntityName,
    IdempotencyKey,
    Reason,
    RoundId,
    WholeNumber,
)

TENANT_KIND = "tenant"
PROVISION_WORKFLOW = "TenantProvisionWorkflow"
DEPROVISION_WORKFLOW = "TenantDeprovisionWorkflow"
DEFAULT_TENANTS_TASK_QUEUE = "tenant-provisioning"
INTERVENTION = "intervention"
"""The `awaiting` kind of a step that keeps failing and waits for a person (retry / resolve)."""


class TenantPlan(StrEnum):
    """What the tenant pays for (sizes its infrastructure)."""

    FREE = "free"
    STANDARD = "standard"
    PREMIUM = "premium"
    ENTERPRISE = "enterprise"


class TenantRegion(StrEnum):
    """Where the tenant's infrastructure runs."""

    US_EAST_1 = "us-east-1"
    US_WEST_2 = "us-west-2"
    EU_WEST_1 = "eu-west-1"
    EU_CENTRAL_1 = "eu-central-1"
    AP_SOUTHEAST_1 = "ap-southeast-1"


class TenantStatus(StrEnum):
    """A tenant's status (the spec's values); the running workflow's phase is one of these."""

    PENDING = "PENDING"
    PROVISIONING = "PROVISIONING"
    ROLLING_BACK = "ROLLING_BACK"
    ACTIVE = "ACTIVE"
    PROVISION_FAILED = "PROVISION_FAILED"
    DEPROVISIONING = "DEPROVISIONING"
    DEPROVISIONED = "DEPROVISIONED"


class TenantStep(StrEnum):
    """Step names of both tenant workflows: the spec's activity names."""

    MARK_PROVISIONING = "updateTenantStatus(PROVISIONING)"
    CREATE_IDP_ORG = "createIdPOrganization"
    PROVISION_INFRA = "provisionInfrastructure"
    DEPLOY = "deployApplication"
    CONFIGURE_DNS = "configureDns"
    CREATE_RESOURCES = "createResources"
    MARK_ACTIVE = "updateTenantStatus(ACTIVE)"
    WELCOME = "sendWelcomeEmail"
    # Compensations (saga rollback), in the order they undo the steps above.
    DELETE_RESOURCES = "deleteResources"
    REMOVE_DNS = "removeDnsRecords"
    ROLLBACK_DEPLOYMENT = "rollbackDeployment"
    DESTROY_INFRA = "destroyInfrastructure"
    DELETE_IDP_ORG = "deleteIdPOrganization"
    MARK_FAILED = "updateTenantStatus(PROVISION_FAILED)"
    FAILURE_EMAIL = "sendProvisioningFailedEmail"
    # Deprovisioning.
    MARK_DEPROVISIONING = "updateTenantStatus(DEPROVISIONING)"
    NOTIFY_USERS = "sendDeprovisioningNotification"
    GRACE_PERIOD = "waitGracePeriod"
    BACKUP = "backupTenantData"
    REMOVE_DEPLOYMENT = "removeDeployment"
    MARK_DEPROVISIONED = "updateTenantStatus(DEPROVISIONED)"


class CreateTenant(BaseModel):
    """Body of `POST /api/v1/tenants`."""

    model_config = ConfigDict(extra="forbid")

    name: EntityName
    plan: TenantPlan = TenantPlan.STANDARD
    admin_email: Email
    region: TenantRegion = TenantRegion.US_EAST_1
    requested_by: Annotated[Actor | None, ACTOR] = None


class DeprovisionTenant(BaseModel):
    """Body of `POST /api/v1/tenants/{id}/deprovision`."""

    model_config = ConfigDict(extra="forbid")

    grace_period_hours: WholeNumber = Field(
        default=0, ge=0, le=24 * 30, description="Hours to wait before anything is removed"
    )
    backup: StrictBool = Field(default=True, description="Back up the tenant's data first")
    notify_users: StrictBool = Field(default=True, description="Tell the tenant's users first")
    actor: Annotated[Actor, ACTOR]
    idempotency_key: IdempotencyKey = None


class TenantReason(BaseModel):
    """Body of the actions that need only who and why (cancel, skip grace, abort)."""

    model_config = ConfigDict(extra="forbid")

    reason: Reason
    actor: Annotated[Actor, ACTOR]
    idempotency_key: IdempotencyKey = None


class StepIntervention(BaseModel):
    """Body of `retry` and `resolve`: a person answers a step that keeps failing."""

    model_config = ConfigDict(extra="forbid")

    comment: Comment = ""
    actor: Annotated[Actor, ACTOR]
    request_id: RoundId = None
    idempotency_key: IdempotencyKey = None


class Tenant(Entity):
    """A tenant as the API returns it: the stored record plus live progress."""

    status: TenantStatus
    plan: TenantPlan
    admin_email: str
    region: TenantRegion
    domain: str | None = None
    """The tenant's DNS name, once configured."""
    idp_organization: str | None = None
    """The IdP organization (Auth0 org id / Keycloak realm), once created."""
    grace_until: datetime | None = None
    """When a deprovision's grace period ends."""
