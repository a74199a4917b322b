"""The central registry (spec §5): each domain contributes a Registrar; one worker per task queue.

A Registrar is built with its dependencies (no globals). `register_all` groups registrars by task
queue and builds one worker for each queue selected, so different queues can run in different
processes (`flightdeck worker --task-queue Q`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from temporalio.client import Client
from temporalio.worker import Worker

from backend.config import Settings
from backend.providers.faults import FaultPlan
from backend.providers.status import StatusSink


@dataclass(frozen=True)
class Registrar:
    """What one domain runs on one task queue: its workflows and its activities."""

    name: str
    task_queue: str
    workflows: Sequence[type] = ()
    activities: Sequence[Callable[..., Any]] = ()
    on_shutdown: Sequence[Callable[[], Awaitable[None]]] = ()
    """Called once the workers stopped (e.g. close the adapters' HTTP clients)."""


@dataclass(frozen=True)
class WorkerContext:
    """What a domain's `new_registrar(context)` builds its activities with."""

    settings: Settings
    status: StatusSink
    """Where entity status goes (the store in process, or the API)."""
    faults: FaultPlan
    task_queue: str
    """The domain's task queue (its default, or the environment's override)."""


@dataclass(frozen=True)
class WorkerOptions:
    """Per-worker tuning, from TEMPORAL_WORKER_* settings."""

    identity: str | None = None
    max_concurrent_activities: int = 10
    max_concurrent_workflow_tasks: int = 50
    graceful_shutdown_seconds: float = 10.0
    heartbeat_throttle_seconds: float = 1.0
    """How often heartbeats reach the server at most: percent and cancellation stay prompt."""
    extra: dict[str, Any] = field(default_factory=dict)


class UnknownTaskQueue(ValueError):
    """A task queue was asked for that no registrar serves."""


def task_queues(registrars: Sequence[Registrar]) -> list[str]:
    """Every task queue the registrars serve, in first-seen order."""
    return list(dict.fromkeys(r.task_queue for r in registrars))


def register_all(
    client: Client,
    registrars: Sequence[Registrar],
    *,
    only: Collection[str] | None = None,
    options: WorkerOptions | None = None,
    shared_activities: Sequence[Callable[..., Any]] = (),
) -> list[Worker]:
    """One worker per task queue, with every registrar of that queue; `only` filters the queues.

    `shared_activities` (the platform's status path) run on every worker."""
    options = options or WorkerOptions()
    served = task_queues(registrars)
    if only:
        unknown = sorted(set(only) - set(served))
        if unknown:
            raise UnknownTaskQueue(
                f"no workflows are registered on task queue {', '.join(unknown)}"
                f" (known: {', '.join(served)})"
            )
    workers = []
    for queue in served:
        if only and queue not in only:
            continue
        mine = [r for r in registrars if r.task_queue == queue]
        workers.append(
            Worker(
                client,
                task_queue=queue,
                workflows=[w for r in mine for w in r.workflows],
                activities=[*shared_activities, *(a for r in mine for a in r.activities)],
                identity=options.identity,
                max_concurrent_activities=options.max_concurrent_activities,
                max_concurrent_workflow_tasks=options.max_concurrent_workflow_tasks,
                graceful_shutdown_timeout=timedelta(seconds=options.graceful_shutdown_seconds),
                max_heartbeat_throttle_interval=timedelta(
                    seconds=options.heartbeat_throttle_seconds
                ),
                default_heartbeat_throttle_interval=timedelta(
                    seconds=options.heartbeat_throttle_seconds
                ),
                **options.extra,
            )
        )
    return workers
