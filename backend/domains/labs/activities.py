"""Lab activities: each idempotent, keyed by lab id; none writes the API's database.

Activity names are the spec's step names, so history, logs and `progress` steps read the same.
The lab's status travels with the workflow's status reports; `LockLab` claims the lab for its
workflow through the same status path.
"""

from __future__ import annotations

from dataclasses import dataclass

from temporalio import activity
from temporalio.exceptions import ApplicationError

from backend.domain.status import ClaimRequest
from backend.domains.labs.messages import (
    BlueprintInput,
    EnvironmentInput,
    FinalizeInput,
    LabInput,
    LockLabInput,
    ProvisionResult,
    TeardownResult,
    ValidationResult,
)
from backend.domains.labs.model import LAB_KIND, LabStepName
from backend.domains.labs.providers import (
    Blueprint,
    BlueprintService,
    EnvironmentUnavailable,
    InvalidBlueprint,
    LabEnvironments,
)
from backend.providers.faults import FaultPlan
from backend.providers.status import StatusSink
from backend.workflows.activity_steps import StepActivities, beat, resumed_from, step
from backend.workflows.platform_activities import claim

INVALID_BLUEPRINT = "InvalidBlueprint"
VALIDATION_FAILED = "ValidationFailed"


@dataclass
class LabDependencies:
    """What the lab activities are built with (no globals)."""

    status: StatusSink
    blueprints: BlueprintService
    environments: LabEnvironments
    faults: FaultPlan


class LabActivities(StepActivities):
    """The activities of LabProvisionWorkflow, bound to their dependencies."""

    def __init__(self, deps: LabDependencies) -> None:
        super().__init__(deps.faults)
        self._deps = deps

    @step(LabStepName.LOCK, fault="lock")
    async def lock_lab(self, data: LockLabInput) -> None:
        """Claim the lab for this workflow (spec step 1); refused when another workflow owns it."""
        await claim(
            self._deps.status,
            ClaimRequest(kind=LAB_KIND, entity_id=data.lab_id, workflow_id=data.workflow_id),
        )

    @step(LabStepName.BLUEPRINT, fault="blueprint")
    async def generate_blueprint(self, data: BlueprintInput) -> Blueprint:
        """Ask the blueprint service for the lab's blueprint (spec step 2)."""
        return await self._deps.blueprints.generate(data.lab_id, data.name, data.severity)

    @step(LabStepName.PROVISION, fault="provision")
    async def provision_environment(self, data: EnvironmentInput) -> ProvisionResult:
        """Create the blueprint's resources one by one, heartbeating how far it got (spec step 3).

        A retry (e.g. after a worker was killed) resumes after the last heartbeat; resources that
        exist are skipped anyway, so nothing is created twice.
        """
        start = resumed_from()
        total = len(data.blueprint.resources)
        created = 0
        beat(start, total)
        for index, spec in enumerate(data.blueprint.resources[start:], start=start):
            try:
                if await self._deps.environments.ensure_resource(data.lab_id, spec):
                    created += 1
            except EnvironmentUnavailable as err:
                raise ApplicationError(str(err), type="EnvironmentUnavailable") from err
            beat(index + 1, total)
        return ProvisionResult(created=created, total=total, resumed_from=start)

    @step(LabStepName.VALIDATION, fault="validation")
    async def run_validation(self, data: EnvironmentInput) -> ValidationResult:
        """Check the environment against the blueprint (spec step 4); retried with backoff."""
        try:
            report = await self._deps.environments.validate(data.lab_id, data.blueprint)
        except InvalidBlueprint as err:
            raise ApplicationError(str(err), type=INVALID_BLUEPRINT, non_retryable=True) from err
        if not report.passed:
            raise ApplicationError("; ".join(report.problems), type=VALIDATION_FAILED)
        return ValidationResult(checks=report.checks, attempt=activity.info().attempt)

    @step(LabStepName.REVIEW, fault="review")
    async def request_human_review(self, data: LabInput) -> None:
        """Put the lab in the review queue (spec step 5); the workflow then waits for HumanReview.

        The queue is Flightdeck's Needs-you view, fed by the workflow's status report."""
        activity.logger.info("lab %s is waiting for review", data.lab_id)

    @step(LabStepName.FINALIZE, fault="finalize")
    async def finalize_lab(self, data: FinalizeInput) -> None:
        """Mark the lab running until it expires (spec step 6); the status report carries it."""
        activity.logger.info("lab %s runs until %s", data.lab_id, data.expires_at.isoformat())

    @step(LabStepName.TEARDOWN, fault="teardown")
    async def teardown_lab(self, data: LabInput) -> TeardownResult:
        """Remove whatever exists of the lab's environment (idempotent; resumable)."""
        environments = self._deps.environments
        # Newest first: what was created last depends on what came before it.
        resources = sorted(
            await environments.list_resources(data.lab_id), key=lambda r: r.created_at
        )
        total = len(resources)
        removed = 0
        beat(0, total)
        for index, resource in enumerate(reversed(resources)):
            if await environments.remove_resource(data.lab_id, resource.name):
                removed += 1
            beat(index + 1, total)
        await environments.forget(data.lab_id)
        return TeardownResult(removed=removed)
