"""Lab activities: each idempotent, keyed by lab id, writing the lab's status as the workflow moves.

Activity names are the spec's step names, so history, logs and `progress` steps read the same.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from temporalio import activity
from temporalio.exceptions import ApplicationError

from backend.domain.labs import LabStatus, LabStepName
from backend.providers.faults import FaultPlan
from backend.providers.labs.protocol import (
    Blueprint,
    BlueprintService,
    EnvironmentUnavailable,
    InvalidBlueprint,
    LabEnvironments,
)
from backend.store.labs import LabRepository
from backend.workflows.labs.messages import (
    BlueprintInput,
    EnvironmentInput,
    FinalizeInput,
    HeartbeatProgress,
    LockLabInput,
    ProvisionResult,
    RecordOutcomeInput,
    ReviewRequestInput,
    TeardownInput,
    TeardownResult,
    ValidationResult,
)

log = logging.getLogger(__name__)

INVALID_BLUEPRINT = "InvalidBlueprint"
VALIDATION_FAILED = "ValidationFailed"
LAB_LOCKED = "LabLockedByAnotherWorkflow"
LAB_MISSING = "LabNotFound"


@dataclass
class LabDependencies:
    """What the lab activities are built with (no globals)."""

    labs: LabRepository
    blueprints: BlueprintService
    environments: LabEnvironments
    faults: FaultPlan


class LabActivities:
    """The activities of LabProvisionWorkflow, bound to their dependencies."""

    def __init__(self, deps: LabDependencies) -> None:
        self._deps = deps

    def all(self) -> list[object]:
        """Every activity, for the registrar."""
        return [
            self.lock_lab,
            self.generate_blueprint,
            self.provision_environment,
            self.run_validation,
            self.request_human_review,
            self.finalize_lab,
            self.teardown_lab,
            self.record_outcome,
        ]

    async def _set_status(self, lab_id: str, status: LabStatus, reason: str | None = None) -> None:
        if await self._deps.labs.get(lab_id) is None:
            raise ApplicationError(
                f"lab {lab_id} does not exist", type=LAB_MISSING, non_retryable=True
            )
        await self._deps.labs.set_status(lab_id, status, reason=reason)

    @activity.defn(name=LabStepName.LOCK.value)
    async def lock_lab(self, data: LockLabInput) -> None:
        """Mark the lab as queued and owned by this workflow (spec step 1)."""
        if await self._deps.labs.get(data.lab_id) is None:
            raise ApplicationError(
                f"lab {data.lab_id} does not exist", type=LAB_MISSING, non_retryable=True
            )
        if await self._deps.labs.lock(data.lab_id, data.workflow_id) is None:
            raise ApplicationError(
                f"lab {data.lab_id} is owned by another workflow",
                type=LAB_LOCKED,
                non_retryable=True,
            )
        await self._deps.labs.set_status(data.lab_id, LabStatus.QUEUED)

    @activity.defn(name=LabStepName.BLUEPRINT.value)
    async def generate_blueprint(self, data: BlueprintInput) -> Blueprint:
        """Ask the blueprint service for the lab's blueprint (spec step 2)."""
        await self._set_status(data.lab_id, LabStatus.PROVISIONING)
        blueprint = await self._deps.blueprints.generate(data.lab_id, data.name, data.severity)
        if self._deps.faults.is_invalid("blueprint"):
            blueprint = blueprint.model_copy(update={"checksum": "tampered"})
        return blueprint

    @activity.defn(name=LabStepName.PROVISION.value)
    async def provision_environment(self, data: EnvironmentInput) -> ProvisionResult:
        """Create the blueprint's resources one by one, heartbeating how far it got (spec step 3).

        A retry (e.g. after a worker restart) resumes after the last heartbeat; resources that
        exist are skipped anyway, so nothing is created twice.
        """
        info = activity.info()
        resumed_from = 0
        if info.heartbeat_details:
            resumed_from = HeartbeatProgress.model_validate(info.heartbeat_details[0]).done
        await self._set_status(data.lab_id, LabStatus.PROVISIONING)
        total = len(data.blueprint.resources)
        created = 0
        activity.heartbeat(HeartbeatProgress(done=resumed_from, total=total).model_dump())
        for index, spec in enumerate(data.blueprint.resources[resumed_from:], start=resumed_from):
            try:
                if await self._deps.environments.ensure_resource(data.lab_id, spec):
                    created += 1
            except EnvironmentUnavailable as err:
                raise ApplicationError(str(err), type="EnvironmentUnavailable") from err
            activity.heartbeat(HeartbeatProgress(done=index + 1, total=total).model_dump())
        return ProvisionResult(created=created, total=total, resumed_from=resumed_from)

    @activity.defn(name=LabStepName.VALIDATION.value)
    async def run_validation(self, data: EnvironmentInput) -> ValidationResult:
        """Check the environment against the blueprint (spec step 4); retried with backoff."""
        attempt = activity.info().attempt
        await self._set_status(data.lab_id, LabStatus.VALIDATING)
        if self._deps.faults.is_invalid("validation"):
            raise ApplicationError(
                "blueprint rejected (FLIGHTDECK_FAIL=validation:invalid)",
                type=INVALID_BLUEPRINT,
                non_retryable=True,
            )
        if self._deps.faults.should_fail("validation", attempt):
            raise ApplicationError(
                f"validation check failed on attempt {attempt} (FLIGHTDECK_FAIL)",
                type=VALIDATION_FAILED,
            )
        try:
            report = await self._deps.environments.validate(data.lab_id, data.blueprint)
        except InvalidBlueprint as err:
            raise ApplicationError(str(err), type=INVALID_BLUEPRINT, non_retryable=True) from err
        if not report.passed:
            raise ApplicationError("; ".join(report.problems), type=VALIDATION_FAILED)
        return ValidationResult(checks=report.checks, attempt=attempt)

    @activity.defn(name=LabStepName.REVIEW.value)
    async def request_human_review(self, data: ReviewRequestInput) -> None:
        """Put the lab in the review queue (spec step 5); the workflow then waits for HumanReview."""
        await self._set_status(data.lab_id, LabStatus.AWAITING_REVIEW)

    @activity.defn(name=LabStepName.FINALIZE.value)
    async def finalize_lab(self, data: FinalizeInput) -> None:
        """Mark the lab running until it expires (spec step 6)."""
        if await self._deps.labs.get(data.lab_id) is None:
            raise ApplicationError(f"lab {data.lab_id} does not exist", type=LAB_MISSING)
        await self._deps.labs.set_status(data.lab_id, LabStatus.RUNNING, expires_at=data.expires_at)

    @activity.defn(name=LabStepName.TEARDOWN.value)
    async def teardown_lab(self, data: TeardownInput) -> TeardownResult:
        """Remove whatever exists of the lab's environment (idempotent; resumable by heartbeat)."""
        environments = self._deps.environments
        # Newest first: what was created last depends on what came before it.
        resources = sorted(
            await environments.list_resources(data.lab_id), key=lambda r: r.created_at
        )
        total = len(resources)
        removed = 0
        activity.heartbeat(HeartbeatProgress(done=0, total=total).model_dump())
        for index, resource in enumerate(reversed(resources)):
            if await environments.remove_resource(data.lab_id, resource.name):
                removed += 1
            activity.heartbeat(HeartbeatProgress(done=index + 1, total=total).model_dump())
        await environments.forget(data.lab_id)
        return TeardownResult(removed=removed)

    @activity.defn(name="RecordLabOutcome")
    async def record_outcome(self, data: RecordOutcomeInput) -> None:
        """Write the lab's final status (expired, cancelled or failed) and why."""
        await self._deps.labs.set_status(data.lab_id, data.status, reason=data.reason)
