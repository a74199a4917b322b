"""Infra runs' contract types: statuses, steps, request bodies and the record the API returns."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
)

from backend.domain.entities import DetailLine, DetailSection, Entity
from backend.domain.form import ACTOR
from backend.domain.names import (
    Actor,
    EntityName,
    IdempotencyKey,
    PlainText,
    Reason,
    RoundId,
)
from backend.domain.tones import Tone
from backend.domains.infra.plan import ChangeAction, PlanSummary, PolicyResult

INFRA_KIND = "infra-run"
INFRA_WORKFLOW_TYPE = "InfraProvisionWorkflow"
DEFAULT_INFRA_TASK_QUEUE = "infra-provisioning"
APPROVAL = "approval"
"""The `awaiting` kind of a run that waits for a person to approve or deny its apply."""
MAX_VARIABLES = 50


class InfraStatus(StrEnum):
    """An infra run's status: the spec's `provisionStatus` values (the workflow's phases)."""

    UNINITIALIZED = "uninitialized"
    INITIALIZING = "initializing"
    PLANNING = "planning"
    POLICY_CHECKING = "policy_checking"
    AWAITING_APPROVAL = "awaiting_approval"
    APPLYING = "applying"
    APPLIED = "applied"
    REJECTED = "rejected"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    FAILED = "failed"


class InfraStep(StrEnum):
    """The workflow's steps: the spec's provision activities, plus the human approval."""

    INIT = "terraform_init"
    PLAN = "terraform_plan"
    POLICY = "evaluate_policy"
    APPROVAL = "human_approval"
    APPLY = "terraform_apply"
    SHOW = "terraform_show"


def _safe_directory(value: str) -> str:
    parts = value.replace("\\", "/").split("/")
    if ".." in parts:
        raise ValueError("must not contain `..`")
    return value


Directory = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=255),
    PlainText,
    AfterValidator(_safe_directory),
    Field(description="Configuration directory, under the infra root (e.g. namespace) or absolute"),
]
VariableName = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z_][A-Za-z0-9_-]*$")
]
VariableValue = Annotated[str, StringConstraints(max_length=1000), PlainText]


def _few(value: dict[str, str]) -> dict[str, str]:
    if len(value) > MAX_VARIABLES:
        raise ValueError(f"at most {MAX_VARIABLES} variables")
    return value


Variables = Annotated[
    dict[VariableName, VariableValue],
    AfterValidator(_few),
    Field(description="Terraform variables: name=value, name=value"),
]


class CreateInfraRun(BaseModel):
    """Body of `POST /api/v1/infra-runs`."""

    model_config = ConfigDict(extra="forbid")

    name: EntityName
    directory: Directory
    variables: Variables = Field(default_factory=dict)
    require_approval: StrictBool = Field(
        default=False, description="Wait for a person's approval even when policy passes"
    )
    approval_timeout_minutes: int | None = Field(
        default=None,
        ge=1,
        le=60 * 24 * 30,
        description="Minutes to wait for a decision before the run expires",
    )
    requested_by: Annotated[Actor | None, ACTOR] = None


class InfraDecision(BaseModel):
    """Body of `approve` and `deny`: who decides, and why (the reason is required)."""

    model_config = ConfigDict(extra="forbid")

    reason: Reason
    actor: Annotated[Actor, ACTOR]
    request_id: RoundId = None
    idempotency_key: IdempotencyKey = None


class CancelInfraRun(BaseModel):
    """Body of `cancel`."""

    model_config = ConfigDict(extra="forbid")

    reason: Reason
    actor: Annotated[Actor, ACTOR]
    idempotency_key: IdempotencyKey = None


class PlanLine(BaseModel):
    """One resource change of a plan as the detail shows it: `+ address`, with what changes."""

    address: str
    action: ChangeAction
    changed: dict[str, list[Any]] = Field(default_factory=dict)
    """For updates: attribute → [before, after] (only the attributes that change)."""

    @property
    def symbol(self) -> str:
        """`+`, `~`, `-`, `-/+`."""
        return self.action.symbol


class PlanView(BaseModel):
    """The plan as the record carries it: summary counts, its digest and every change."""

    summary: PlanSummary
    digest: str
    changes: list[PlanLine] = Field(default_factory=list)


class InfraRun(Entity):
    """An infra run as the API returns it: the stored record plus live progress."""

    status: InfraStatus
    directory: str
    variables: dict[str, str] = Field(default_factory=dict)
    require_approval: bool = False
    approval_timeout_minutes: int | None = None
    runner: str | None = None
    """Which runner planned it (`sandbox`, `terraform`, `tofu`)."""
    plan: PlanView | None = None
    changes: str | None = None
    """The plan in one word for the list: `+2 ~1 -0`."""
    policy_verdict: str | None = None
    """`passed`, or how many rules failed (`2 failed`)."""
    policy_engine: str | None = None
    policy: list[PolicyResult] = Field(default_factory=list)
    """Every policy rule's verdict on the plan."""
    decision_reason: str | None = None
    """The reason given with the approval or denial (query_signal_reason)."""
    outputs: dict[str, Any] = Field(default_factory=dict)
    """The outputs after apply (sensitive values masked)."""

    def detail_sections(self) -> list[DetailSection]:
        """The plan diff, the policy verdicts and the outputs, for the detail view."""
        plan = DetailSection("Plan", empty="not planned yet")
        if self.plan is not None:
            plan = DetailSection(
                f"Plan: {self.plan.summary}",
                [_plan_line(line) for line in self.plan.changes],
                empty="no changes",
            )
        engine = f" ({self.policy_engine})" if self.policy_engine else ""
        policy = DetailSection(
            f"Policy{engine}",
            [
                DetailLine(
                    f"{'✓' if r.passed else '✗'} {r.id}",
                    Tone.GOOD if r.passed else Tone.BAD,
                    r.message,
                )
                for r in sorted(self.policy, key=lambda r: r.passed)
            ],
            empty="not evaluated yet",
        )
        outputs = DetailSection(
            "Outputs",
            [DetailLine(f"{name} = {value}") for name, value in self.outputs.items()],
            empty="none yet",
        )
        return [plan, policy, outputs]


_ACTION_TONES = {
    ChangeAction.CREATE: Tone.GOOD,
    ChangeAction.UPDATE: Tone.NOTABLE,
    ChangeAction.DELETE: Tone.BAD,
    ChangeAction.REPLACE: Tone.BAD,
}


def _plan_line(line: PlanLine) -> DetailLine:
    changed = ", ".join(f"{key}: {old} → {new}" for key, (old, new) in line.changed.items())
    return DetailLine(
        f"{line.symbol} {line.address}", _ACTION_TONES.get(line.action, Tone.ENDED), changed
    )
