"""Hosts and placement (specs/titan-placement-architecture.md): the nouns, the change log and
the per-host change feed, as the API, the CLI, the host agent and the TUI read them.

Pure pydantic: no I/O. Every noun is addressed by its name (unique among the live ones) and
carries `updated_seq`, the change-log sequence number of its last change: the feed's clock.
"""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

import annotated_types
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, WithJsonSchema

from backend.domain.entities import Entity
from backend.domain.form import ACTOR
from backend.domain.names import Actor, PlainText, WholeNumber
from backend.domains.placement.render import placeholders

NOUNS = ("host", "workload", "template", "target", "deployment")
"""Every placement noun, in the order the CLI and the change log name them."""
Noun = Literal["host", "workload", "template", "target", "deployment"]

NAME_PATTERN = r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$"
MAX_LABELS = 32
MAX_VALUES = 64
MAX_TEMPLATE = 32_000
"""Characters of a template's text (the API's request limit is 64 KiB)."""

PlacementName = Annotated[
    str,
    StringConstraints(min_length=1, max_length=63, pattern=NAME_PATTERN),
    Field(description="Lower-case letters, digits and dashes (a DNS label)"),
]
LABEL_KEY_PATTERN = r"^[A-Za-z0-9]([A-Za-z0-9._/-]*[A-Za-z0-9])?$"
VALUE_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
LabelKey = Annotated[str, StringConstraints(min_length=1, max_length=63, pattern=LABEL_KEY_PATTERN)]
LabelValue = Annotated[
    str, StringConstraints(max_length=63, pattern=r"^([A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?)?$")
]
ValueName = Annotated[
    str, StringConstraints(min_length=1, max_length=63, pattern=VALUE_NAME_PATTERN)
]
ValueText = Annotated[str, StringConstraints(max_length=1000), PlainText]


def keys_only(pattern: str) -> dict[str, Any]:
    """JSON schema for a map whose keys must match `pattern` (others are refused, so the
    schema says so too)."""
    return {
        "additionalProperties": False,
        "propertyNames": {"pattern": pattern, "minLength": 1, "maxLength": 63},
    }


Labels = Annotated[
    dict[LabelKey, LabelValue],
    Field(
        max_length=MAX_LABELS,
        description="Labels, `key: value`",
        json_schema_extra=keys_only(LABEL_KEY_PATTERN),
    ),
]
Values = Annotated[
    dict[ValueName, ValueText],
    Field(
        max_length=MAX_VALUES,
        description="Values the template's `${name}`s are filled with",
        json_schema_extra=keys_only(VALUE_NAME_PATTERN),
    ),
]


Replicas = Annotated[
    WholeNumber,
    annotated_types.Interval(ge=1, le=10_000),
    WithJsonSchema({"type": "integer", "minimum": 1, "maximum": 10_000}),
]
SeqNumber = Annotated[
    WholeNumber,
    annotated_types.Interval(ge=0, le=2**62),
    WithJsonSchema({"type": "integer", "minimum": 0, "maximum": 2**62}),
]
"""A change-log sequence number (a bookmark, a revision)."""

_TEMPLATE_CHARACTER = r"[^$\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]"
TEMPLATE_PATTERN = (
    rf"^({_TEMPLATE_CHARACTER}|\$\$|\$[A-Za-z_][A-Za-z0-9_]*|\$\{{[A-Za-z_][A-Za-z0-9_]*\}})*$"
)
"""Template text: lines and tabs but no other control characters or bidirectional overrides;
every `$` starts a placeholder (`$name`, `${name}`) or is doubled (`$$`)."""
_TEMPLATE_UNSAFE = re.compile(
    r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]"
)


def template_text(value: str) -> str:
    """Template text as TEMPLATE_PATTERN says, with a message that points at the trouble."""
    found = _TEMPLATE_UNSAFE.search(value)
    if found is not None:
        raise ValueError(
            "must not contain control characters other than newline and tab, or bidirectional"
            f" overrides (found U+{ord(found.group()):04X})"
        )
    placeholders(value)
    return value


TemplateText = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_TEMPLATE),
    AfterValidator(template_text),
    WithJsonSchema(
        {"type": "string", "minLength": 1, "maxLength": MAX_TEMPLATE, "pattern": TEMPLATE_PATTERN}
    ),
    Field(description="Declarative text with `${name}` placeholders (`$$` for a dollar sign)"),
]
RepoUrl = Annotated[
    str,
    StringConstraints(min_length=1, max_length=500, pattern=r"^[^\s]+$"),
    PlainText,
    Field(description="Where the workload's source is (a repository URL)"),
]


def labels_text(labels: dict[str, str]) -> str:
    """`k=v,k2=v2`, sorted: how labels are shown and typed."""
    return ",".join(f"{key}={value}" for key, value in sorted(labels.items()))


def matches(rules: dict[str, str], labels: dict[str, str]) -> bool:
    """A target's rules match a host when the host has every rule's label with its value."""
    return all(labels.get(key) == value for key, value in rules.items())


# -- bodies (create / update) ------------------------------------------------------------------


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class HostBody(_Body):
    """A host: something that takes deployments as a unit (a cluster, a device)."""

    name: PlacementName
    labels: Labels = Field(default_factory=dict)


class WorkloadBody(_Body):
    """A workload: declarative resources deployed as a unit, built from a repository."""

    name: PlacementName
    repo: RepoUrl


class TemplateBody(_Body):
    """A template: declarative text filled with a deployment's values."""

    name: PlacementName
    body: TemplateText


class TargetBody(_Body):
    """A target: label rules; it matches the hosts that carry every one of them."""

    name: PlacementName
    labels: Annotated[
        dict[LabelKey, LabelValue],
        Field(
            min_length=1,
            max_length=MAX_LABELS,
            description="The labels a host must carry",
            json_schema_extra=keys_only(LABEL_KEY_PATTERN),
        ),
    ]


class DeploymentBody(_Body):
    """A deployment: a workload rendered from a template onto the hosts a target matches
    (all of them, or `replicas` of them, assigned stably)."""

    name: PlacementName
    workload: PlacementName
    template: PlacementName
    target: PlacementName
    values: Values = Field(default_factory=dict)
    replicas: Replicas | None = None


BODIES: dict[str, type[_Body]] = {
    "host": HostBody,
    "workload": WorkloadBody,
    "template": TemplateBody,
    "target": TargetBody,
    "deployment": DeploymentBody,
}


class HostPatch(_Body):
    """An update of a host: its labels (the name stays)."""

    labels: Labels


class WorkloadPatch(_Body):
    """An update of a workload: its repository."""

    repo: RepoUrl


class TemplatePatch(_Body):
    """An update of a template: its text."""

    body: TemplateText


class TargetPatch(_Body):
    """An update of a target: its label rules."""

    labels: Annotated[
        dict[LabelKey, LabelValue],
        Field(
            min_length=1,
            max_length=MAX_LABELS,
            description="The labels a host must carry",
            json_schema_extra=keys_only(LABEL_KEY_PATTERN),
        ),
    ]


class DeploymentPatch(_Body):
    """An update of a deployment: the fields given replace the stored ones (`replicas: null`
    means every matching host)."""

    workload: PlacementName | None = None
    template: PlacementName | None = None
    target: PlacementName | None = None
    values: Values | None = None
    replicas: Replicas | None = None


# -- records -----------------------------------------------------------------------------------


class Page(BaseModel):
    """`GET /api/v1/{workloads,templates,targets,deployments}`: a page by name, and the total."""

    items: list[dict[str, Any]]
    total: int


class _Stored(BaseModel):
    """What the store adds to every noun. Records read back ignore fields they do not know
    (a newer API may add some); only request bodies refuse them."""

    model_config = ConfigDict(extra="ignore")

    created_at: datetime
    updated_at: datetime
    revision: int = Field(description="Change-log sequence number of the last change")
    deleted_at: datetime | None = None


class Host(HostBody, _Stored):
    """A host as stored."""

    model_config = ConfigDict(extra="ignore")


class Workload(WorkloadBody, _Stored):
    """A workload as stored."""

    model_config = ConfigDict(extra="ignore")


class Template(TemplateBody, _Stored):
    """A template as stored, with the placeholders its text uses."""

    model_config = ConfigDict(extra="ignore")

    placeholders: list[str] = Field(default_factory=list)


class Target(TargetBody, _Stored):
    """A target as stored."""

    model_config = ConfigDict(extra="ignore")


class Deployment(DeploymentBody, _Stored):
    """A deployment as stored."""

    model_config = ConfigDict(extra="ignore")


PATCHES: dict[str, type[_Body]] = {
    "host": HostPatch,
    "workload": WorkloadPatch,
    "template": TemplatePatch,
    "target": TargetPatch,
    "deployment": DeploymentPatch,
}
PLURALS: dict[str, str] = {noun: f"{noun}s" for noun in NOUNS}
"""The API path segment of each noun (`/api/v1/hosts`)."""

RECORDS: dict[str, type[_Stored]] = {
    "host": Host,
    "workload": Workload,
    "template": Template,
    "target": Target,
    "deployment": Deployment,
}


# -- the change log (the messaging approach's topics, as one ordered, resumable stream) -------


class ChangeOp(StrEnum):
    """What a change did to its noun."""

    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"


class Change(BaseModel):
    """One committed change: the noun's state before and after (None: did not exist)."""

    seq: int
    at: datetime
    actor: str
    noun: Noun
    name: str
    op: ChangeOp
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None


class ChangePage(BaseModel):
    """Changes after a sequence number, oldest first; `next_after` resumes after the last one,
    `head` is the newest sequence number committed."""

    items: list[Change]
    next_after: int
    head: int


# -- the per-host feed (the HTTP endpoint approach) --------------------------------------------


class FeedDeployment(BaseModel):
    """A deployment the host should run, fully rendered: apply it (idempotent by name and
    revision)."""

    op: Literal["upsert"] = "upsert"
    deployment: str
    workload: str
    repo: str
    template: str
    target: str
    values: dict[str, str]
    replicas: int | None
    revision: int
    """The newest change behind this rendering (deployment, workload, template or assignment)."""
    rendered: str


class FeedTombstone(BaseModel):
    """A deployment the host should remove: deleted, or no longer placed on this host."""

    op: Literal["delete"] = "delete"
    deployment: str
    revision: int
    """The change that removed it from this host."""


class HostFeed(BaseModel):
    """`GET /api/v1/hosts/{host}/changes?since=T`: what changed for the host since the bookmark
    `since`; `bookmark` is the one to ask with next time."""

    host: str
    since: int
    bookmark: int
    host_deleted: bool = False
    deployments: list[FeedDeployment]
    tombstones: list[FeedTombstone]


# -- the processor's per-host messages (HostDeployment topics) ---------------------------------


class HostEventOp(StrEnum):
    """A host event: run this rendering, or remove the deployment."""

    UPDATE = "update"
    DELETE = "delete"


class HostEvent(BaseModel):
    """One message on a host's topic, written by the change processor."""

    seq: int
    host: str
    deployment: str
    op: HostEventOp
    revision: int
    change_seq: int
    at: datetime
    rendered: str | None = None


class HostEventPage(BaseModel):
    """A host's messages after a sequence number, oldest first."""

    items: list[HostEvent]
    next_after: int
    head: int


# -- end-to-end status -------------------------------------------------------------------------


class AssignmentState(StrEnum):
    """Where a deployment's change is on one host (the spec's end-to-end states)."""

    COMMITTED = "committed"
    """Committed to the store; the processor has not sent it yet."""
    EVENT_SENT = "event sent"
    """The processor sent it to the host's topic."""
    DEPLOYED = "deployed"
    """The host reported it applied this revision."""


class Assignment(BaseModel):
    """A deployment on a host: since when, the revision it should run, and how far that got."""

    deployment: str
    host: str
    assigned_at: datetime
    revision: int
    state: AssignmentState
    deployed_revision: int | None = None
    deployed_at: datetime | None = None


class DeploymentView(BaseModel):
    """A deployment with the hosts it reaches: `GET /api/v1/deployments/{name}`."""

    deployment: Deployment
    matching_hosts: int
    """Hosts the target matches now (more than `assignments` when replicas limit it)."""
    assignments: list[Assignment]
    repo: str | None = None
    """The workload's repository (None: the workload is not found)."""
    target_labels: dict[str, str] | None = None
    """The target's label rules (None: the target is not found)."""


class HostRow(BaseModel):
    """A row of the Hosts view."""

    name: str
    labels: dict[str, str]
    deployments: int
    deployed: int
    """Of those, how many run their current revision (the host reported it)."""
    last_change_at: datetime | None = None
    last_change: str = ""
    """The newest change that reached this host, e.g. `update deployment prod`."""
    agent_bookmark: int | None = None
    agent_seen_at: datetime | None = None


class HostRows(BaseModel):
    """`GET /api/v1/hosts`: a page of hosts by name, and how many there are."""

    items: list[HostRow]
    total: int
    processed: int = 0
    """The change processor's bookmark (sequence number)."""
    head: int = 0
    """The newest change committed."""


class HostView(BaseModel):
    """`GET /api/v1/hosts/{name}`: the host and its assignments."""

    host: Host
    assignments: list[Assignment]
    agent_bookmark: int | None = None
    agent_seen_at: datetime | None = None


class DeployedReport(_Body):
    """`POST /api/v1/hosts/{host}/deployed`: the host agent applied its feed up to `bookmark`
    and runs these deployments at these revisions."""

    bookmark: SeqNumber
    deployments: Annotated[
        dict[PlacementName, SeqNumber],
        Field(max_length=100_000, json_schema_extra=keys_only(NAME_PATTERN)),
    ]


class DeployedAnswer(BaseModel):
    """How many assignments the report marked deployed."""

    host: str
    deployed: int


# -- the change processor (an entity of the platform) ------------------------------------------

PROCESSOR_KIND = "change-processor"


class ProcessorStatus(StrEnum):
    """The change processor's status."""

    RUNNING = "running"
    FAILED = "failed"
    STOPPED = "stopped"


class CreateProcessor(BaseModel):
    """Body of `POST /api/v1/processors`: start the change processor (there is one, named
    `placement`; the API starts it by itself when the first change comes)."""

    model_config = ConfigDict(extra="forbid")

    name: Literal["placement"] = "placement"
    requested_by: Annotated[Actor | None, ACTOR] = None


class ChangeProcessor(Entity):
    """The change processor as the API returns it: how far it has read the change log."""

    status: ProcessorStatus
    bookmark: int = 0
    """The last change it sent to the hosts' topics."""
    head: int = 0
    """The newest change committed, when it last looked."""
    lag: int = 0
    """Changes committed and not processed yet."""
    lag_seconds: float = 0.0
    """How long the oldest unprocessed change has waited."""
    messages: int = 0
    """Host messages it has sent."""
    changes: int = 0
    """Changes it has processed."""
