"""How a domain declares itself once: kind, models, statuses, columns, actions and its workflow.

From an `EntitySpec` the platform provides the rest: the store rows and repository, create / list
/ get with live progress, one action endpoint per action, the audit trail, and in the TUI the
list view, the detail screen and the action dialogs (built from the request models). Everything
here is pure data, importable by the TUI (no Temporal, no I/O).
"""

from __future__ import annotations

import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from pydantic import BaseModel, create_model

from backend.domain.entities import Entity
from backend.domain.tones import Tone

__all__ = ["Tone"]


@dataclass(frozen=True)
class StatusSpec:
    """One status of a domain's vocabulary (the workflow's phases are the same words)."""

    value: str
    tone: Tone = Tone.NEUTRAL
    final: bool = False
    """The entity has ended for good (its name is free again)."""
    description: str = ""


VIEW_KEYS = frozenset({"n", "s", "q", "j", "k", "g", "G", "o", "/", "?", ":", "enter", "escape"})
"""Keys the views keep for themselves (new, filter, quit, movement, open, search, help, views):
no action may take one."""

COMPUTED_COLUMNS = frozenset({"status", "progress", "age", "note"})
"""Columns the platform fills: status (styled), percent bar, age, and what it waits for / why it
fails. Any other column key is an attribute of the domain's record."""


@dataclass(frozen=True)
class Column:
    """One column of a domain's list view."""

    key: str
    label: str
    compact_width: int | None = None
    """Width on narrow terminals; None: the column takes the room that is left."""
    tones: Mapping[str, Tone] = field(default_factory=dict)
    """Tone of particular values (e.g. `critical` severity is BAD)."""
    short: Mapping[str, str] = field(default_factory=dict)
    """Shorter forms of values for narrow terminals."""


@dataclass(frozen=True)
class WorkflowStart:
    """A workflow the platform starts for an entity: its type and how its input is built."""

    workflow_type: str
    build_input: Callable[[str, Mapping[str, Any]], BaseModel]
    """(entity id, entity fields merged with the request) → the workflow's input model."""


@dataclass(frozen=True)
class ActionSpec:
    """A human action on an entity: its request, the signal it sends (or workflow it starts)."""

    name: str
    """URL segment (`POST .../{id}/{name}`) and the name the workflow lists in `accepts`."""
    label: str
    key: str
    """The TUI key that opens it."""
    request: type[BaseModel]
    signal: str | None = None
    """The Temporal signal it sends, by the spec's name (any Temporal client can send it too)."""
    payload: type[BaseModel] | None = None
    """The signal's payload model, built from the request plus `signal_id` and `request_id`."""
    answers: str | None = None
    """The `awaiting` kind this action answers; the Needs-you view offers it there."""
    destructive: bool = False
    """Asks for confirmation first."""
    confirm: str = ""
    """The confirmation question, with `{name}` and `{kind}` filled in."""
    audit_verb: str = ""
    """The audit log's action; `{field}` is filled from the request (default: the name)."""
    start: WorkflowStart | None = None
    """Starts this workflow (one per entity at a time) instead of sending a signal."""
    allowed_statuses: frozenset[str] = frozenset()
    """For starting actions: the entity statuses it may start from."""
    when_missing: str | None = None
    """The entity status to record when its workflow no longer exists (e.g. `cancelled`)."""
    when_missing_from: frozenset[str] = frozenset()
    """The statuses in which a missing workflow means `when_missing` (empty: any not final);
    from others (a tenant already ACTIVE) the action is refused instead."""
    send_unconfirmed: bool = False
    """Send the signal even when no worker can confirm the workflow takes it now (cancel)."""
    accepted_message: str = "{kind} {name}: {action} accepted"
    """What the caller is told when the workflow takes it; `{field}` from the request, plus
    `{kind}`, `{name}`, `{action}` and `{request_id}`."""
    description: str = ""
    four_eyes: bool | None = None
    """Whether whoever requested the entity is barred from this action (None: yes for actions
    that answer an `awaiting`, i.e. approvals; no otherwise)."""

    def verb(self, request: BaseModel) -> str:
        """The audit action for this request (e.g. `review.approve`)."""
        return fill(self.audit_verb or self.name, request.model_dump(mode="json"))


def fill(template: str, values: Mapping[str, Any]) -> str:
    """`template` with each `{name}` replaced by `values[name]` (missing ones left empty)."""
    names = {name for _, name, _, _ in string.Formatter().parse(template) if name}
    return template.format(
        **{name: "" if values.get(name) is None else values[name] for name in names}
    )


@dataclass(frozen=True)
class EntitySpec:
    """Everything the platform needs to know about one domain, declared once."""

    kind: str
    """Singular name: audit target kind, search attribute `FlightdeckKind`, workflow id prefix."""
    plural: str
    """API path segment (`/api/v1/{plural}`) and view name (`:labs`)."""
    title: str
    record: type[Entity]
    create: type[BaseModel]
    """Body of `POST /api/v1/{plural}`; needs a `name` field."""
    statuses: tuple[StatusSpec, ...]
    initial_status: str
    columns: tuple[Column, ...]
    actions: tuple[ActionSpec, ...]
    workflow: WorkflowStart
    """The workflow `POST` starts, with id `{kind}-{id}`."""
    task_queue: str
    task_queue_env: str
    """The environment variable that overrides the task queue (e.g. TEMPORAL_LABS_TASK_QUEUE)."""
    start_failed_status: str = "failed"
    """The status of an entity whose workflow could not be started."""
    fault_steps: tuple[str, ...] = ()
    """Step names FLIGHTDECK_FAIL accepts for this domain (e.g. `dns` for `dns:always`)."""
    created_message: str = "{kind} {name} requested"
    """Audit message of a create, formatted with the request's fields."""
    detail_fields: tuple[tuple[str, str], ...] = ()
    """(label, record attribute) pairs the detail view shows besides the platform's."""
    search_attributes: Mapping[str, str] = field(default_factory=dict)
    """The domain's own search attributes (name → Temporal type, e.g. `Text`), registered by
    the embedded server beside Flightdeck's."""
    description: str = ""

    def __post_init__(self) -> None:
        values = [s.value for s in self.statuses]
        for status in (self.initial_status, self.start_failed_status):
            if status not in values:
                raise ValueError(f"{self.kind}: status {status!r} is not declared")
        if "name" not in self.create.model_fields:
            raise ValueError(f"{self.kind}: the create model needs a `name` field")
        names = [a.name for a in self.actions]
        if len(set(names)) != len(names):
            raise ValueError(f"{self.kind}: action names repeat: {names}")
        keys = [a.key for a in self.actions]
        if len(set(keys)) != len(keys) or set(keys) & VIEW_KEYS:
            raise ValueError(
                f"{self.kind}: action keys must differ from each other and from the view keys"
                f" {sorted(VIEW_KEYS)}: {keys}"
            )
        for action in self.actions:
            if (action.signal is None) == (action.start is None):
                raise ValueError(f"{self.kind}.{action.name}: give exactly one of signal / start")

    @property
    def noun(self) -> str:
        """The kind as people read it (`infra run`)."""
        return self.kind.replace("-", " ").replace("_", " ")

    @property
    def a_noun(self) -> str:
        """The noun with its article (`a lab`, `an infra run`)."""
        return f"{'an' if self.noun[:1] in 'aeiou' else 'a'} {self.noun}"

    def workflow_id(self, entity_id: str) -> str:
        """The id of the entity's workflow (one at a time per entity)."""
        return f"{self.kind}-{entity_id}"

    def status(self, value: str) -> StatusSpec:
        """The declared status `value` (an undeclared one is shown neutral)."""
        return next((s for s in self.statuses if s.value == value), StatusSpec(value))

    def is_final(self, value: str) -> bool:
        """True when `value` is a status the entity never leaves."""
        return self.status(value).final

    @cached_property
    def final_statuses(self) -> frozenset[str]:
        """Every final status."""
        return frozenset(s.value for s in self.statuses if s.final)

    def action(self, name: str) -> ActionSpec | None:
        """The action called `name`, if the domain has one."""
        return next((a for a in self.actions if a.name == name), None)

    def actions_answering(self, awaiting_kind: str) -> list[ActionSpec]:
        """The actions that answer an `awaiting` of this kind."""
        return [a for a in self.actions if a.answers == awaiting_kind]

    @cached_property
    def list_model(self) -> type[BaseModel]:
        """Response model of `GET /api/v1/{plural}`: `items` and `total`."""
        model: type[BaseModel] = create_model(
            f"{self.record.__name__}List",
            __doc__=f"Response of `GET /api/v1/{self.plural}`.",
            items=(list[self.record], ...),  # type: ignore[name-defined]
            total=(int, ...),
        )
        return model
