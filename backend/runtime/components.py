"""Builds what a backend process runs, from the declared domains: the store, the services the
API calls, and each domain's registrar for the workers (spec §5 worker start)."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass

from temporalio.client import Client

from backend.config import Settings, TemporalSettings, task_queue_for
from backend.domain.catalog import all_specs
from backend.domains import DOMAINS
from backend.providers.faults import FaultPlan
from backend.providers.status import StatusSink
from backend.services.actions import ActionService
from backend.services.entities import EntityService, NeedsService
from backend.services.progress import ProgressReader
from backend.services.status import StoreStatusSink
from backend.services.verdicts import Bell
from backend.store.action_requests import ActionRequests
from backend.store.audit import AuditRepository
from backend.store.database import Database
from backend.store.entities import EntityRepository
from backend.workflows.platform_activities import PlatformActivities
from backend.workflows.registry import Registrar, WorkerContext, WorkerOptions


@dataclass
class Services:
    """The store and the use cases of one API process."""

    database: Database
    entities: dict[str, EntityService]
    actions: ActionService
    needs: NeedsService
    audit: AuditRepository
    status: StoreStatusSink


async def build_services(
    settings: Settings, client: Client, *, task_queues: Mapping[str, str] | None = None
) -> Services:
    """Open the store and build every domain's service, the action path and the status sink.

    `task_queues` (kind → queue) overrides the domains' queues (tests use their own)."""
    database = await Database.open(settings.paths.db)
    repository = EntityRepository(database)
    audit = AuditRepository(database)
    progress = ProgressReader(
        client, ttl=settings.progress_cache_seconds, concurrency=settings.query_concurrency
    )
    verdicts = Bell()
    entities = {
        spec.kind: EntityService(
            spec,
            client=client,
            entities=repository,
            audit=audit,
            progress=progress,
            task_queue=(task_queues or {}).get(spec.kind) or task_queue_for(spec),
        )
        for spec in all_specs()
    }
    return Services(
        database=database,
        entities=entities,
        actions=ActionService(
            client=client,
            database=database,
            entities=repository,
            requests=ActionRequests(database),
            progress=progress,
            verdicts=verdicts,
        ),
        needs=NeedsService(repository),
        audit=audit,
        status=StoreStatusSink(database, repository, verdicts, audit),
    )


def build_registrars(
    settings: Settings, status: StatusSink, *, task_queues: Mapping[str, str] | None = None
) -> list[Registrar]:
    """Every domain's registrar (`backend.domains.<name>.registrar.new_registrar`)."""
    faults = FaultPlan.parse(settings.fail)
    registrars = []
    for name, spec in zip(DOMAINS, all_specs(), strict=True):
        module = importlib.import_module(f"backend.domains.{name}.registrar")
        queue = (task_queues or {}).get(spec.kind) or task_queue_for(spec)
        context = WorkerContext(settings=settings, status=status, faults=faults, task_queue=queue)
        registrars.append(module.new_registrar(context))
    return registrars


def shared_activities(status: StatusSink) -> list[object]:
    """The platform's activities every worker runs (the status path)."""
    return PlatformActivities(status).all()


def worker_options(temporal: TemporalSettings) -> WorkerOptions:
    """Worker tuning from TEMPORAL_WORKER_* settings."""
    return WorkerOptions(
        identity=temporal.worker_identity,
        max_concurrent_activities=temporal.worker_max_concurrent_activities,
        max_concurrent_workflow_tasks=temporal.worker_max_concurrent_workflows,
        graceful_shutdown_seconds=temporal.worker_graceful_shutdown_seconds,
    )
