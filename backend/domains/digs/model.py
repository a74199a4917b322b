"""DIGs' contract types (specs/tac-worker-deployment.md, EMCO's deployment intent groups):
lifecycle states, apps and their resource states, TAC hook intents, request bodies and the
record the API returns."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
    model_validator,
)

from backend.domain.entities import DetailLine, DetailSection, Entity
from backend.domain.form import ACTOR
from backend.domain.names import Actor, EntityName, IdempotencyKey, PlainText, Reason, RoundId
from backend.domain.tones import Tone
from backend.domains.placement.model import PlacementName

DIG_KIND = "dig"
DIG_WORKFLOW_TYPE = "DigLifecycleWorkflow"
DEFAULT_DIG_TASK_QUEUE = "flightdeck-digs"
APPROVAL = "approval"
"""The `awaiting` kind of a created DIG: it waits for a person to approve it (Needs you)."""
MAX_APPS = 20
MAX_INTENTS = 10
MAX_HOOK_WORKFLOWS = 10


class DigStatus(StrEnum):
    """A DIG's lifecycle state (EMCO's, lower-case); the DIG workflow's phases."""

    CREATED = "created"
    APPROVED = "approved"
    INSTANTIATING = "instantiating"
    INSTANTIATED = "instantiated"
    TERMINATING = "terminating"
    TERMINATED = "terminated"
    FAILED = "failed"
    DELETED = "deleted"


class DigStep(StrEnum):
    """Steps of the DIG workflow (one run per lifecycle operation)."""

    APPROVE = "approve"
    PRE_HOOKS = "pre_hooks"
    INSTANTIATE = "instantiate"
    READY = "ready"
    POST_HOOKS = "post_hooks"
    TERMINATE = "terminate"


class AppKind(StrEnum):
    """What an app of a DIG is. A Flightdeck worker app runs a Temporal worker on its task
    queue (the sandbox orchestrator really starts one); other kinds are recorded."""

    WORKER = "flightdeck-worker"
    HELM = "helm"
    MANIFEST = "manifest"


class ResourceState(StrEnum):
    """Per-app resource state, as EMCO's status reports it."""

    PENDING = "Pending"
    APPLIED = "Applied"
    FAILED = "Failed"
    RETRYING = "Retrying"
    TERMINATED = "Terminated"


class HookType(StrEnum):
    """When a TAC intent's workflows run, relative to the DIG's lifecycle operation."""

    PRE_INSTALL = "pre-install"
    POST_INSTALL = "post-install"
    PRE_TERMINATE = "pre-terminate"
    POST_TERMINATE = "post-terminate"
    PRE_UPDATE = "pre-update"
    POST_UPDATE = "post-update"


Segment = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=63, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
    ),
    Field(description="Letters, digits, `.`, `_` and `-` (a URL path segment)"),
]
"""Project, composite app, version and app names (they appear in the v2 API's paths)."""
TaskQueue = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=200, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
    ),
    Field(description="A Temporal task queue name"),
]
WorkflowType = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=200, pattern=r"^[A-Za-z_][A-Za-z0-9._-]*$"
    ),
]


class DigApp(BaseModel):
    """One app of a DIG."""

    model_config = ConfigDict(extra="forbid")

    name: Segment
    kind: AppKind = AppKind.HELM
    task_queue: TaskQueue | None = Field(
        default=None,
        description="For a flightdeck-worker app: the task queue its worker polls"
        " (default: the app's name)",
    )
    target: PlacementName | None = Field(
        default=None,
        description="A placement target: instantiating places the app on the hosts it matches",
    )

    @model_validator(mode="after")
    def _worker_polls_a_queue(self) -> DigApp:
        if self.kind == AppKind.WORKER and not self.task_queue:
            self.task_queue = self.name
        return self

    def short(self) -> str:
        """`name:kind[:task_queue]`, the compact form the TUI's form reads back."""
        short = ":".join(p for p in (self.name, self.kind.value, self.task_queue) if p)
        return f"{short}@{self.target}" if self.target else short


def _apps_from_text(value: object) -> object:
    """Apps may be written compactly: `worker:flightdeck-worker:QUEUE, web:helm@edge` (`@target`
    places the app on the hosts a placement target matches)."""
    if not isinstance(value, str):
        return value
    apps: list[dict[str, Any]] = []
    for part in (p.strip() for p in value.split(",")):
        if not part:
            continue
        part, _, target = part.partition("@")
        name, _, rest = part.partition(":")
        kind, _, queue = rest.partition(":")
        apps.append(
            {
                "name": name,
                "kind": kind or AppKind.HELM.value,
                **({"task_queue": queue} if queue else {}),
                **({"target": target.strip()} if target.strip() else {}),
            }
        )
    return apps


def _unique_apps(apps: list[DigApp]) -> list[DigApp]:
    names = [a.name for a in apps]
    if len(set(names)) != len(names):
        raise ValueError("app names must differ")
    if len(apps) > MAX_APPS:
        raise ValueError(f"at most {MAX_APPS} apps")
    return apps


Apps = Annotated[
    list[DigApp],
    BeforeValidator(_apps_from_text),
    AfterValidator(_unique_apps),
    Field(
        min_length=1,
        description="The DIG's apps (at least one); compact form `name:kind[:task_queue], ...`"
        " (kinds: flightdeck-worker, helm, manifest)",
    ),
]


class HookWorkflow(BaseModel):
    """A workflow a TAC intent runs: type, task queue, params (EMCO's workflowStartOptions)."""

    model_config = ConfigDict(extra="forbid")

    workflow_type: WorkflowType
    task_queue: TaskQueue
    params: dict[str, Any] = Field(default_factory=dict)
    workflow_id: Segment | None = None
    """The hook workflow's id (default: derived from the hook run's)."""


class TacIntent(BaseModel):
    """A Temporal action controller intent on a DIG: when its workflows run, and whether the
    lifecycle step waits for (and fails with) them."""

    model_config = ConfigDict(extra="forbid")

    name: Segment
    hook_type: HookType
    blocking: StrictBool = True
    workflows: list[HookWorkflow] = Field(min_length=1, max_length=MAX_HOOK_WORKFLOWS)
    ready_timeout_seconds: int = Field(default=120, ge=1, le=3600)
    """How long to wait for a worker DIG this hook instantiates to be ready."""


def _unique_intents(intents: list[TacIntent]) -> list[TacIntent]:
    names = [i.name for i in intents]
    if len(set(names)) != len(names):
        raise ValueError("TAC intent names must differ")
    if len(intents) > MAX_INTENTS:
        raise ValueError(f"at most {MAX_INTENTS} TAC intents")
    return intents


TacIntents = Annotated[
    list[TacIntent], AfterValidator(_unique_intents), Field(max_length=MAX_INTENTS)
]


class AppState(BaseModel):
    """One app's resource state in the orchestrator's status."""

    app: str
    kind: AppKind = AppKind.HELM
    state: ResourceState = ResourceState.PENDING
    ready: bool = False
    detail: str = ""
    """What the orchestrator says about it (e.g. `pid 4242, 1 poller on QUEUE`)."""


class DigRef(BaseModel):
    """Which DIG, as EMCO names it."""

    project: str
    composite_app: str
    version: str
    name: str

    @property
    def path(self) -> str:
        """The v2 API path of the DIG."""
        return (
            f"/v2/projects/{self.project}/composite-apps/{self.composite_app}/{self.version}"
            f"/deployment-intent-groups/{self.name}"
        )


class OrchestratorStatus(BaseModel):
    """What the orchestrator reports about a DIG (EMCO's `/status`, condensed)."""

    state: str
    """The last lifecycle operation (EMCO's `state`: Created, Approved, Instantiated, ...)."""
    deployed: str = ""
    """The deployment's progress (EMCO's app context `status`: Instantiating, Instantiated,
    InstantiateFailed, Terminating, Terminated, TerminateFailed)."""
    ready: bool = False
    """Every app's resources are actually up (separate from the lifecycle state)."""
    resources: dict[str, int] = Field(default_factory=dict)
    """Resource counts by state (e.g. `{"Applied": 2}`)."""
    apps: list[AppState] = Field(default_factory=list)


class CreateDig(BaseModel):
    """Body of `POST /api/v1/digs` (and of the v2 create, with the path's segments)."""

    model_config = ConfigDict(extra="forbid")

    name: EntityName
    project: Segment
    composite_app: Segment
    version: Segment
    description: Annotated[str, StringConstraints(max_length=500), PlainText] = ""
    apps: Apps
    tac_intents: TacIntents = Field(default_factory=list)
    requested_by: Annotated[Actor | None, ACTOR] = None


class DigDecision(BaseModel):
    """Body of `approve`: who approves, and why."""

    model_config = ConfigDict(extra="forbid")

    reason: Reason
    actor: Annotated[Actor, ACTOR]
    request_id: RoundId = None
    idempotency_key: IdempotencyKey = None


class DigOperation(BaseModel):
    """Body of `instantiate`, `terminate` and `delete`."""

    model_config = ConfigDict(extra="forbid")

    reason: Reason
    actor: Annotated[Actor, ACTOR]
    idempotency_key: IdempotencyKey = None


class LifecycleEvent(BaseModel):
    """One lifecycle operation of the DIG (EMCO's `state.Actions`)."""

    state: str
    at: str
    by: str = ""


class Dig(Entity):
    """A DIG as the API returns it: the stored record plus live progress."""

    status: DigStatus
    project: str
    composite_app: str
    version: str
    description: str = ""
    apps: list[DigApp] = Field(default_factory=list)
    tac_intents: list[TacIntent] = Field(default_factory=list)
    ready: bool = False
    """Every app is actually up (an instantiated DIG may not be ready yet)."""
    readiness: str = ""
    """`ready`, `not ready` or `` (not instantiated): the list's column."""
    app_states: list[AppState] = Field(default_factory=list)
    deployed: str = ""
    """The deployment's progress as the orchestrator reports it."""
    orchestrator: str = ""
    """Which orchestrator runs it (`sandbox`, `emco`)."""
    history: list[LifecycleEvent] = Field(default_factory=list)
    app_names: str = ""
    """The apps in one line for the list (`worker, web`)."""
    scope: str = ""
    """`project/composite-app/version` in one line for the list."""
    placed: str = ""
    """The apps placed on hosts through a placement target (`web → target edge`)."""

    def detail_sections(self) -> list[DetailSection]:
        """Apps with their resource state, the TAC intents, the lifecycle history."""
        states = {s.app: s for s in self.app_states}
        apps = []
        for app in self.apps:
            state = states.get(app.name)
            tone = Tone.NEUTRAL
            text = f"{app.name}  {app.kind.value}"
            if app.task_queue:
                text += f"  queue {app.task_queue}"
            note = ""
            if state is not None:
                text += f"  {state.state.value}{'  ready' if state.ready else ''}"
                tone = _RESOURCE_TONES.get(state.state, Tone.NEUTRAL)
                if state.state == ResourceState.APPLIED and not state.ready:
                    tone = Tone.WORKING
                note = state.detail
            apps.append(DetailLine(text, tone, note))
        intents = [
            DetailLine(
                f"{i.name}  {i.hook_type.value}{'  blocking' if i.blocking else ''}",
                note=", ".join(f"{w.workflow_type} on {w.task_queue}" for w in i.workflows),
            )
            for i in self.tac_intents
        ]
        history = [
            DetailLine(f"{_clock(e.at)}  {e.state}", note=f"by {e.by}" if e.by else "")
            for e in self.history[-10:]
        ]
        return [
            DetailSection("Apps", apps, empty="no apps"),
            DetailSection("TAC intents", intents, empty="no hooks"),
            DetailSection("Lifecycle", history, empty="nothing yet"),
        ]


def _clock(at: str) -> str:
    """`2026-11-26T20:00:35+00:00` as `11-26 20:00:35` (UTC, as recorded)."""
    date, _, time = at.partition("T")
    return f"{date[5:]} {time[:8]}" if time else at


_RESOURCE_TONES = {
    ResourceState.PENDING: Tone.WAITING,
    ResourceState.APPLIED: Tone.GOOD,
    ResourceState.FAILED: Tone.BAD,
    ResourceState.RETRYING: Tone.WORKING,
    ResourceState.TERMINATED: Tone.ENDED,
}
