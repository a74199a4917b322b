"""The change processor's workflow and activity payloads."""

from __future__ import annotations

from pydantic import BaseModel, Field

PROCESSOR_WORKFLOW_TYPE = "PlacementChangeProcessor"
CHANGES_COMMITTED_SIGNAL = "changes_committed"
"""Sent (best effort) after each committed change, so the processor does not wait its poll."""
PROCESS_ACTIVITY = "process_changes"
PROCESS_CALL = "placement.process"
"""The internal call the activity makes (the store lives with the API)."""
PROCESSOR_NAME = "placement"
"""The one change processor's name."""


class ProcessorParams(BaseModel):
    """Where a run of the processor starts (a fresh run carries the bookmark on)."""

    entity_id: str
    bookmark: int = 0
    messages: int = 0
    """Messages sent so far (across runs)."""
    changes: int = 0
    """Changes processed so far (across runs)."""


class ProcessRequest(BaseModel):
    """Process the changes after `after`, at most `limit` of them."""

    after: int = Field(ge=0)
    limit: int = Field(ge=1, le=1000)


class ProcessResult(BaseModel):
    """What one batch did, and how far behind the processor still is."""

    bookmark: int
    head: int
    changes: int
    messages: int
    oldest_pending_at: str | None = None


PLACE_DIG_CALL = "placement.place_dig"
"""The internal call a DIG makes to place (or remove) its apps that name a target."""


class DigAppPlacement(BaseModel):
    """One app of a DIG, as placement sees it."""

    name: str
    kind: str
    target: str | None = None


class DigPlacement(BaseModel):
    """Place the DIG's apps that name a target (or, `remove`, delete their deployments)."""

    dig: str
    project: str
    composite_app: str
    version: str
    apps: list[DigAppPlacement]
    actor: str
    remove: bool = False


class PlacedApp(BaseModel):
    """An app of a DIG and the deployment that places it."""

    app: str
    deployment: str
    target: str
