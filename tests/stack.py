"""A lab stack for tests: real SQLite, sandbox providers on disk, a real worker, the service."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from temporalio.client import Client
from temporalio.worker import Worker

from backend.domain.labs import CreateLab, Lab, LabSeverity
from backend.domain.progress import Progress
from backend.providers.faults import FaultPlan
from backend.providers.labs.sandbox import (
    SandboxBlueprintService,
    SandboxLabEnvironments,
    SandboxLabStore,
)
from backend.services.labs import LabService
from backend.services.progress import ProgressReader, VisibilityIndex
from backend.store.audit import AuditRepository
from backend.store.database import Database
from backend.store.labs import LabRepository
from backend.workflows.labs.activities import LabDependencies
from backend.workflows.labs.registrar import new_registrar
from backend.workflows.registry import WorkerOptions, register_all

T = TypeVar("T")


@dataclass
class LabStack:
    """Everything a lab test touches."""

    client: Client
    database: Database
    labs: LabRepository
    audit: AuditRepository
    sandbox: SandboxLabStore
    deps: LabDependencies
    service: LabService
    task_queue: str

    def worker(self, *, graceful_seconds: float = 0.0) -> Worker:
        """A new worker for the labs queue with this stack's dependencies."""
        (worker,) = register_all(
            self.client,
            [new_registrar(self.deps, self.task_queue)],
            options=WorkerOptions(graceful_shutdown_seconds=graceful_seconds),
        )
        return worker

    async def create(
        self, name: str = "demo", severity: LabSeverity = LabSeverity.LOW, ttl_hours: int = 2
    ) -> Lab:
        """Create a lab through the service (starts its workflow)."""
        return await self.service.create(
            CreateLab(name=name, requested_by="alice", severity=severity, ttl_hours=ttl_hours)
        )

    async def progress(self, lab: Lab) -> Progress:
        """The lab's progress, queried now."""
        return await self.client.get_workflow_handle(lab.workflow_id).query(
            "progress", result_type=Progress
        )

    async def wait_progress(
        self, lab: Lab, predicate: Callable[[Progress], bool], timeout: float = 30.0
    ) -> Progress:
        """Query until `predicate` holds (bounded); fails the test with the last progress."""
        return await eventually(lambda: self.progress(lab), predicate, timeout=timeout)


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


@asynccontextmanager
async def lab_stack(
    client: Client,
    tmp_path: Path,
    task_queue: str,
    *,
    faults: str = "",
    step_seconds: float = 0.0,
    run_worker: bool = True,
) -> AsyncIterator[LabStack]:
    """Build the stack; run a worker for the duration unless `run_worker` is False."""
    database = await Database.open(tmp_path / "flightdeck.db")
    labs = LabRepository(database)
    audit = AuditRepository(database)
    sandbox = SandboxLabStore(tmp_path / "sandbox")
    deps = LabDependencies(
        labs=labs,
        blueprints=SandboxBlueprintService(sandbox, step_seconds),
        environments=SandboxLabEnvironments(sandbox, step_seconds),
        faults=FaultPlan.parse(faults),
    )
    service = LabService(
        client=client,
        labs=labs,
        audit=audit,
        progress=ProgressReader(client, ttl=0.0),
        visibility=VisibilityIndex(client, ttl=0.0),
        task_queue=task_queue,
    )
    stack = LabStack(client, database, labs, audit, sandbox, deps, service, task_queue)
    try:
        if run_worker:
            async with stack.worker():
                yield stack
        else:
            yield stack
    finally:
        await database.close()
