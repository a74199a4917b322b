"""TAC worker registrations (specs/tac-worker-deployment.md, "API"): under a DIG's TAC intent,
a task queue tied to the worker DIG that runs its worker.

The v2 API mirrors EMCO, so its bodies are EMCO's camelCase (`metadata`, `spec`, `status`);
`WorkerRow` is Flightdeck's own flat row for the Workers view. Pure pydantic: the TUI reads it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from backend.domain.names import PlainText

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
"""Registration, project, composite app, version, DIG and intent names: a URL path segment."""
MAX_NAME = 63
MAX_TASK_QUEUE = 200
MAX_DESCRIPTION = 500
WORKERS_KIND = "worker"
"""The audit log's `target_kind` for registrations."""
NOT_FOUND = "not found"
"""`WorkerRow.dig_status` when the registration names a DIG the store does not have."""

SegmentName = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_NAME, pattern=NAME_PATTERN),
    Field(description="Letters, digits, `.`, `_` and `-`, starting with a letter or digit"),
]
"""A name that is also a path segment (not stripped: what is sent is what is stored)."""
TaskQueueName = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_TASK_QUEUE, pattern=NAME_PATTERN),
    Field(description="The Temporal task queue the worker polls"),
]
Description = Annotated[
    str,
    StringConstraints(max_length=MAX_DESCRIPTION),
    PlainText,
    Field(description="What the worker is for (plain text)"),
]


class RegistrationPath(BaseModel):
    """Where registrations live: a DIG's TAC intent (the v2 path's segments)."""

    model_config = ConfigDict(frozen=True)

    project: str
    composite_app: str
    version: str
    dig: str
    tac_intent: str

    @property
    def workers_path(self) -> str:
        """The v2 path of this intent's registrations (`.../{tacIntent}/workers`)."""
        return (
            f"/v2/projects/{self.project}/composite-apps/{self.composite_app}/{self.version}"
            f"/deployment-intent-groups/{self.dig}/temporal-action-controller/{self.tac_intent}"
            "/workers"
        )

    def of(self, name: str) -> str:
        """The v2 path of one registration: its audit target id and row key."""
        return f"{self.workers_path}/{name}"


class WorkerMetadata(BaseModel):
    """EMCO's `metadata`: the registration's name (unique under its intent) and description."""

    model_config = ConfigDict(extra="forbid")

    name: SegmentName
    description: Description = ""


class WorkerSpec(BaseModel):
    """EMCO's `spec`: the task queue and the worker DIG that runs its worker."""

    model_config = ConfigDict(extra="forbid", serialize_by_alias=True)

    task_queue: TaskQueueName = Field(alias="taskQueue")
    dig: SegmentName
    c_app: SegmentName = Field(alias="cApp")
    project: SegmentName
    c_app_version: SegmentName = Field(alias="cAppVersion")

    @property
    def worker_dig(self) -> str:
        """The worker DIG as `project/composite-app/version/dig`."""
        return f"{self.project}/{self.c_app}/{self.c_app_version}/{self.dig}"


class WorkerRegistrationBody(BaseModel):
    """Body of POST and PUT `.../temporal-action-controller/{tacIntent}/workers[/{worker}]`."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "metadata": {"name": "ABCD", "description": "tac intent"},
                    "spec": {
                        "taskQueue": "MIGRATION_WORKFLOW",
                        "dig": "digOne",
                        "cApp": "cAppone",
                        "project": "projectOne",
                        "cAppVersion": "cAppVersionOne",
                    },
                }
            ]
        },
    )

    metadata: WorkerMetadata
    spec: WorkerSpec


class RegistrationStatus(BaseModel):
    """When the registration was made and changed, and by whom."""

    model_config = ConfigDict(serialize_by_alias=True)

    created_at: datetime = Field(alias="createdAt")
    updated_at: datetime = Field(alias="updatedAt")
    requested_by: str = Field(alias="requestedBy")


class WorkerRegistration(BaseModel):
    """A registration as the v2 API returns it: the body it was given, and its `status`."""

    metadata: WorkerMetadata
    spec: WorkerSpec
    status: RegistrationStatus


class WorkerRow(BaseModel):
    """One registration in the Workers view: where it is registered, its task queue, the worker
    DIG it names with that DIG's lifecycle state, and whether a worker polls the queue now."""

    project: str
    composite_app: str
    version: str
    dig: str
    tac_intent: str
    name: str
    description: str = ""
    task_queue: str
    worker_project: str
    worker_composite_app: str
    worker_version: str
    worker_dig: str
    worker_dig_id: str | None = None
    """The worker DIG's entity id (None when it is not found)."""
    dig_status: str = NOT_FOUND
    """The worker DIG's lifecycle state (`created` … `failed`), or `not found`."""
    pollers: int | None = None
    """Workflow pollers on the task queue, as Temporal says now (None: Temporal did not say)."""
    ready: bool = False
    """A worker polls the task queue."""
    created_at: datetime

    @property
    def key(self) -> str:
        """The registration's v2 path (unique)."""
        return self.path.of(self.name)

    @property
    def path(self) -> RegistrationPath:
        """The DIG and intent it is registered under."""
        return RegistrationPath(
            project=self.project,
            composite_app=self.composite_app,
            version=self.version,
            dig=self.dig,
            tac_intent=self.tac_intent,
        )

    @property
    def worker_ref(self) -> str:
        """The worker DIG as `project/composite-app/version/dig`."""
        return (
            f"{self.worker_project}/{self.worker_composite_app}/{self.worker_version}"
            f"/{self.worker_dig}"
        )


class WorkerRows(BaseModel):
    """Response of `GET /api/v1/workers`: one page of rows, newest first, and the total."""

    items: list[WorkerRow]
    total: int
