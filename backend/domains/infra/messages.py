"""Names and payloads of the infra workflow's input, signals, queries and activities."""

from __future__ import annotations

from pydantic import BaseModel, Field

from backend.domains.infra.plan import Outputs, Plan, PolicyReport

# Signals and queries, by the names of the spec (any Temporal client can use them).
APPROVE_SIGNAL = "approve_apply"
"""The spec's "Human Approval of Policy Failure" (also answers `require_approval`)."""
DENY_SIGNAL = "deny_apply"
"""The spec's "Human Denial of Policy Failure"."""
CANCEL_SIGNAL = "cancel_run"
CURRENT_STATE_QUERY = "query_current_state"
SIGNAL_REASON_QUERY = "query_signal_reason"

# Activities (the spec's provision activities).
INIT_ACTIVITY = "terraform_init"
PLAN_ACTIVITY = "terraform_plan"
POLICY_ACTIVITY = "evaluate_policy"
APPLY_ACTIVITY = "terraform_apply"
SHOW_ACTIVITY = "terraform_show"

# Failure types the workflow does not retry.
INVALID_CONFIGURATION = "InvalidConfiguration"
PLAN_CHANGED = "PlanChanged"
RUNNER_FAILED = "RunnerFailed"


class InfraProvisionParams(BaseModel):
    """Input of InfraProvisionWorkflow(directory, variables, require_approval=False)."""

    directory: str
    variables: dict[str, str] = Field(default_factory=dict)
    require_approval: bool = False
    approval_timeout_minutes: int | None = None
    run_id: str | None = None
    """The infra run (entity) whose status the workflow reports; None when another workflow
    runs it as a child: it then registers an infra run of its own (listed, in Needs you)."""
    name: str | None = None
    """A child run's name (default: the directory's name and a short id)."""
    requested_by: str = "flightdeck"
    custom_search_attributes: bool = True
    """Upsert the spec's `provisionStatus` / `tfDirectory` (the namespace must have them)."""


class InfraResult(BaseModel):
    """How an infra run ended, with the outputs when it applied."""

    status: str
    reason: str | None = None
    outputs: dict[str, object] = Field(default_factory=dict)


class DecisionSignal(BaseModel):
    """Payload of approve_apply and deny_apply: who decides and why."""

    reason: str
    actor: str
    request_id: str | None = None
    """The approval round answered; None answers the current one."""
    signal_id: str | None = None


class CancelSignal(BaseModel):
    """Payload of cancel_run."""

    reason: str
    actor: str
    signal_id: str | None = None


class RunInput(BaseModel):
    """What every infra activity works on: the directory, the variables, the run's key."""

    run_key: str
    """The run's id (entity id, or the workflow id of a child run): keys its scratch files."""
    directory: str
    variables: dict[str, str] = Field(default_factory=dict)


class InitResult(BaseModel):
    """terraform_init's answer."""

    runner: str
    summary: str


class PolicyInput(BaseModel):
    """evaluate_policy's input."""

    run: RunInput
    plan: Plan


class PolicyOutcome(BaseModel):
    """evaluate_policy's answer."""

    report: PolicyReport


class ApplyInput(BaseModel):
    """terraform_apply's input: the plan that was checked (and approved)."""

    run: RunInput
    plan: Plan


class ShowResult(BaseModel):
    """terraform_show's answer: the outputs."""

    outputs: Outputs
