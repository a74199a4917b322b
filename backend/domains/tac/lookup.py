"""What a TAC hook run asks the store about a task queue it needs: which worker DIG runs it."""

from __future__ import annotations

from pydantic import BaseModel, Field

from backend.domains.digs.model import DigApp

WORKER_LOOKUP = "tac.worker"
"""The name of the lookup (`StatusSink.lookup`)."""


class WorkerLookupRequest(BaseModel):
    """The hook's DIG and intent (the registrations' path) and the task queue it needs."""

    project: str
    composite_app: str
    version: str
    dig: str
    tac_intent: str
    task_queue: str


class WorkerDig(BaseModel):
    """The worker DIG a registration names, as the store knows it now."""

    id: str
    name: str
    project: str
    composite_app: str
    version: str
    status: str
    ready: bool = False
    workflow_id: str
    apps: list[DigApp] = Field(default_factory=list)


class WorkerLookup(BaseModel):
    """The answer: the registration for the task queue (None: not registered, scenario 3),
    and the DIG it names (None: the registration names a DIG that does not exist)."""

    task_queue: str
    registration: str | None = None
    worker_dig: str | None = None
    """The DIG the registration names, as `project/composite-app/version/dig`."""
    dig: WorkerDig | None = None
