"""What the API returns for any entity of any domain: the platform's fields plus the domain's own.

A domain's record model subclasses `Entity` and adds its fields (a lab's severity and TTL, a
tenant's plan and region); the platform stores those in the entity's `fields` and fills the rest
from the status that the entity's workflow reports.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from backend.domain.progress import Awaiting, Progress
from backend.domain.tones import Tone


@dataclass(frozen=True)
class DetailLine:
    """One line of a detail section, with the tone it is shown in."""

    text: str
    tone: Tone = Tone.NEUTRAL
    note: str = ""
    """Shown muted after the text (e.g. what an update changes)."""


@dataclass(frozen=True)
class DetailSection:
    """A titled block of lines a domain adds to its entities' detail view (e.g. a plan diff)."""

    title: str
    lines: list[DetailLine] = field(default_factory=list)
    empty: str = "none"
    """Shown when there are no lines."""


class Entity(BaseModel):
    """One entity as the API returns it: stored record, last reported status, live progress."""

    id: str
    kind: str
    name: str
    requested_by: str
    status: str
    """The entity's status, in its domain's vocabulary; the workflow's phase is the same word."""
    status_reason: str | None = None
    workflow_id: str
    run_id: str | None = None
    created_at: datetime
    updated_at: datetime
    percent: int = Field(default=0, ge=0, le=100)
    """Percent complete as last reported by the workflow (never goes backwards)."""
    awaiting: Awaiting | None = None
    """What human input the workflow waits for, as last reported."""
    accepts: list[str] = Field(default_factory=list)
    """Actions the workflow takes now (as last reported); others are refused."""
    last_error: str | None = None
    progress: Progress | None = None
    """Exact progress from the `progress` query (details, and rows asked for as `live`)."""

    def detail_sections(self) -> list[DetailSection]:
        """Blocks the detail view shows below the overview (none unless the domain adds some)."""
        return []

    @classmethod
    def domain_field_names(cls) -> list[str]:
        """The fields a domain adds to the platform's (stored in the entity's `fields`)."""
        return [name for name in cls.model_fields if name not in Entity.model_fields]

    def domain_fields(self) -> dict[str, Any]:
        """This entity's own domain fields, JSON-ready."""
        return self.model_dump(mode="json", include=set(self.domain_field_names()))


class NeedItem(BaseModel):
    """One entity waiting for a person, for the Needs-you view."""

    kind: str
    plural: str
    id: str
    name: str
    status: str
    awaiting: Awaiting
    requested_by: str = ""
    """Who asked for the entity (four-eyes: they may not approve it)."""
    actions: list[str]
    """The actions that answer what it waits for (and that it takes now)."""


class NeedsList(BaseModel):
    """Response of `GET /api/v1/needs`: everything awaiting a human, oldest first."""

    items: list[NeedItem]
    total: int
