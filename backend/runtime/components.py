"""Builds what a backend process runs: store, providers, registrars, services (spec §5 worker start)."""

from __future__ import annotations

from dataclasses import dataclass

from temporalio.client import Client

from backend.config import Settings, TemporalSettings
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
from backend.workflows.labs.registrar import new_registrar as new_labs_registrar
from backend.workflows.registry import Registrar, WorkerOptions


@dataclass
class Components:
    """Everything a backend process needs, built once from settings."""

    database: Database
    labs: LabRepository
    audit: AuditRepository
    registrars: list[Registrar]
    lab_service: LabService


def lab_dependencies(settings: Settings, labs: LabRepository) -> LabDependencies:
    """The lab activities' dependencies: sandbox providers under the data dir (the default)."""
    store = SandboxLabStore(settings.paths.sandbox)
    return LabDependencies(
        labs=labs,
        blueprints=SandboxBlueprintService(store, settings.sandbox_step_seconds),
        environments=SandboxLabEnvironments(store, settings.sandbox_step_seconds),
        faults=FaultPlan.parse(settings.fail),
    )


def build_registrars(
    settings: Settings, temporal: TemporalSettings, labs: LabRepository
) -> list[Registrar]:
    """Every domain's registrar. New domains append theirs here."""
    return [
        new_labs_registrar(lab_dependencies(settings, labs), temporal.labs_task_queue),
    ]


def worker_options(temporal: TemporalSettings) -> WorkerOptions:
    """Worker tuning from TEMPORAL_WORKER_* settings."""
    return WorkerOptions(
        identity=temporal.worker_identity,
        max_concurrent_activities=temporal.worker_max_concurrent_activities,
        max_concurrent_workflow_tasks=temporal.worker_max_concurrent_workflows,
        graceful_shutdown_seconds=temporal.worker_graceful_shutdown_seconds,
    )


async def build_components(
    settings: Settings, temporal: TemporalSettings, client: Client
) -> Components:
    """Open the store and build registrars and services."""
    database = await Database.open(settings.paths.db)
    labs = LabRepository(database)
    audit = AuditRepository(database)
    progress = ProgressReader(
        client, ttl=settings.progress_cache_seconds, concurrency=settings.query_concurrency
    )
    visibility = VisibilityIndex(client, ttl=max(settings.progress_cache_seconds, 0.5))
    return Components(
        database=database,
        labs=labs,
        audit=audit,
        registrars=build_registrars(settings, temporal, labs),
        lab_service=LabService(
            client=client,
            labs=labs,
            audit=audit,
            progress=progress,
            visibility=visibility,
            task_queue=temporal.labs_task_queue,
        ),
    )
