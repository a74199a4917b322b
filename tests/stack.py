"""A Flightdeck stack for tests: real SQLite, sandbox providers on disk, real workers for every
domain on a per-test task queue, and the services the API uses."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel
from temporalio.client import Client
from temporalio.worker import Worker

from backend.config import Settings
from backend.domain.catalog import all_specs, spec_for_kind
from backend.domain.entities import Entity
from backend.domain.progress import Progress
from backend.domains.labs.model import CreateLab, Lab, LabSeverity
from backend.domains.labs.sandbox import SandboxLabEnvironments, SandboxLabStore
from backend.runtime.components import (
    Services,
    build_registrars,
    build_services,
    shared_activities,
)
from backend.services.actions import ActionAnswer
from backend.services.entities import EntityService
from backend.store.entities import EntityRecord
from backend.workflows.registry import WorkerOptions, register_all

T = TypeVar("T")


@dataclass
class Stack:
    """Everything a test of the platform or a domain touches."""

    client: Client
    settings: Settings
    services: Services
    task_queue: str

    @property
    def task_queues(self) -> dict[str, str]:
        """Every domain on this test's own queue."""
        return {spec.kind: self.task_queue for spec in all_specs()}

    def worker(self, *, graceful_seconds: float = 0.0) -> Worker:
        """A new worker for this stack's queue, with every domain's workflows and activities."""
        (worker,) = register_all(
            self.client,
            build_registrars(self.settings, self.services.status, task_queues=self.task_queues),
            options=WorkerOptions(graceful_shutdown_seconds=graceful_seconds),
            shared_activities=shared_activities(self.services.status),  # type: ignore[arg-type]
        )
        return worker

    def service(self, kind: str) -> EntityService:
        """The entity service of one domain."""
        return self.services.entities[kind]

    @property
    def labs_sandbox(self) -> SandboxLabStore:
        """What the lab sandbox keeps on disk."""
        return SandboxLabStore(self.settings.paths.sandbox)

    @property
    def lab_environments(self) -> SandboxLabEnvironments:
        """The lab sandbox's environments (to see what exists)."""
        return SandboxLabEnvironments(self.labs_sandbox)

    async def create(
        self, name: str = "demo", severity: LabSeverity = LabSeverity.LOW, ttl_hours: int = 2
    ) -> Lab:
        """Create a lab through the service (starts its workflow)."""
        lab = await self.service("lab").create(
            CreateLab(name=name, requested_by="alice", severity=severity, ttl_hours=ttl_hours)
        )
        assert isinstance(lab, Lab)
        return lab

    async def record(self, kind: str, entity_id: str) -> EntityRecord:
        """The stored row of an entity."""
        record = await self.services.entities[kind].record(entity_id)
        return record

    async def act(self, kind: str, action: str, entity_id: str, body: BaseModel) -> ActionAnswer:
        """Take an action through the platform's one action path."""
        spec = spec_for_kind(kind)
        assert spec is not None
        found = spec.action(action)
        assert found is not None, f"{kind} has no action {action}"
        return await self.services.actions.act(self.service(kind), found, entity_id, body)

    async def progress(self, entity: Entity) -> Progress:
        """The entity's progress, queried now."""
        return await self.client.get_workflow_handle(entity.workflow_id).query(
            "progress", result_type=Progress
        )

    async def wait_progress(
        self, entity: Entity, predicate: Callable[[Progress], bool], timeout: float = 30.0
    ) -> Progress:
        """Query until `predicate` holds (bounded); fails the test with the last progress."""
        return await eventually(lambda: self.progress(entity), predicate, timeout=timeout)

    async def wait_status(
        self, kind: str, entity_id: str, status: str, timeout: float = 30.0
    ) -> EntityRecord:
        """Read the store until the entity has `status` (reported by its workflow)."""
        return await eventually(
            lambda: self.record(kind, entity_id), lambda r: r.status == status, timeout=timeout
        )


async def eventually(
    read: Callable[[], Awaitable[T]], predicate: Callable[[T], bool], *, timeout: float = 30.0
) -> T:
    """Read until `predicate(value)` holds; AssertionError with the last value after `timeout`."""
    deadline = time.monotonic() + timeout
    value = await read()
    while not predicate(value):
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s; last value: {value!r}")
        await asyncio.sleep(0.05)
        value = await read()
    return value


def stack_settings(tmp_path: Path, *, faults: str = "", step_seconds: float = 0.0) -> Settings:
    """Settings for a stack under `tmp_path`: no demo latency, no caching."""
    return Settings(
        data_dir=tmp_path,
        sandbox_step_seconds=step_seconds,
        fail=faults,
        progress_cache_seconds=0.0,
    )


@asynccontextmanager
async def platform_stack(
    client: Client,
    tmp_path: Path,
    task_queue: str,
    *,
    faults: str = "",
    step_seconds: float = 0.0,
    run_worker: bool = True,
    **settings: Any,
) -> AsyncIterator[Stack]:
    """Build the stack; run a worker for the duration unless `run_worker` is False."""
    config = stack_settings(tmp_path, faults=faults, step_seconds=step_seconds)
    if settings:
        config = config.model_copy(update=settings)
    services = await build_services(
        config, client, task_queues={spec.kind: task_queue for spec in all_specs()}
    )
    stack = Stack(client, config, services, task_queue)
    try:
        async with AsyncExitStack() as running:
            if run_worker:
                await running.enter_async_context(stack.worker())
            yield stack
    finally:
        await services.database.close()
