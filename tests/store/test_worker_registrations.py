"""Worker registrations in the store: the unique key, replace and delete, the Workers view's
page with each worker DIG's state, and the lookup a TAC hook makes for a task queue."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from backend.domain.audit import AuditOutcome
from backend.domains.digs.model import DIG_KIND
from backend.domains.tac.lookup import WorkerLookupRequest
from backend.domains.tac.registrations import RegistrationPath, WorkerRegistrationBody
from backend.store.audit import AuditRepository, NewAuditEntry
from backend.store.database import Database
from backend.store.entities import EntityRepository
from backend.store.worker_registrations import (
    DuplicateRegistration,
    QueueTaken,
    WorkerRegistrations,
    lookup_worker,
)

HOOK = RegistrationPath(
    project="proj", composite_app="app", version="v1", dig="main", tac_intent="pre"
)
QUEUE = "MIGRATION_WORKFLOW"


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(tmp_path / "f.db")
    yield database
    await database.close()


def body(name: str = "migrate", queue: str = QUEUE, dig: str = "worker-dig", **spec: str) -> Any:
    return WorkerRegistrationBody.model_validate(
        {
            "metadata": {"name": name, "description": "runs the migration"},
            "spec": {
                "taskQueue": queue,
                "dig": dig,
                "cApp": spec.get("cApp", "workers"),
                "project": spec.get("project", "proj"),
                "cAppVersion": spec.get("cAppVersion", "v1"),
            },
        }
    )


async def new_dig(
    db: Database,
    name: str = "worker-dig",
    *,
    status: str = "approved",
    composite_app: str = "workers",
    entity_id: str = "d1",
) -> None:
    await EntityRepository(db).create(
        kind=DIG_KIND,
        entity_id=entity_id,
        name=name,
        requested_by="alice",
        status=status,
        workflow_id=f"dig-{entity_id}",
        fields={
            "project": "proj",
            "composite_app": composite_app,
            "version": "v1",
            "apps": [{"name": "worker", "kind": "flightdeck-worker", "task_queue": QUEUE}],
            "ready": False,
            "tac_intents": [],
        },
    )


def lookup(queue: str = QUEUE, path: RegistrationPath = HOOK) -> WorkerLookupRequest:
    return WorkerLookupRequest(**path.model_dump(), task_queue=queue)


async def test_lookup_finds_the_registration_and_its_worker_dig(db: Database) -> None:
    await new_dig(db)
    await WorkerRegistrations(db).create(HOOK, body(), requested_by="alice")
    found = await lookup_worker(db, lookup())
    assert (found.registration, found.worker_dig) == ("migrate", "proj/workers/v1/worker-dig")
    assert found.dig is not None
    assert (found.dig.id, found.dig.status, found.dig.workflow_id) == ("d1", "approved", "dig-d1")
    assert (found.dig.project, found.dig.composite_app, found.dig.version) == (
        "proj",
        "workers",
        "v1",
    )
    assert [app.task_queue for app in found.dig.apps] == [QUEUE]


async def test_lookup_of_a_registered_queue_whose_dig_is_missing(db: Database) -> None:
    await new_dig(db, composite_app="elsewhere")  # same name, another composite app
    await WorkerRegistrations(db).create(HOOK, body(), requested_by="alice")
    found = await lookup_worker(db, lookup())
    assert found.registration == "migrate"
    assert found.worker_dig == "proj/workers/v1/worker-dig"
    assert found.dig is None


async def test_lookup_of_a_queue_nobody_registered(db: Database) -> None:
    await new_dig(db)
    await WorkerRegistrations(db).create(HOOK, body(), requested_by="alice")
    other_intent = HOOK.model_copy(update={"tac_intent": "post"})
    for request in (lookup("OTHER_QUEUE"), lookup(path=other_intent)):
        found = await lookup_worker(db, request)
        assert (found.registration, found.worker_dig, found.dig) == (None, None, None)
        assert found.task_queue == request.task_queue


async def test_a_deleted_dig_is_not_found(db: Database) -> None:
    await new_dig(db)
    await EntityRepository(db).set_status(DIG_KIND, "d1", "deleted", reason=None, ended=True)
    await WorkerRegistrations(db).create(HOOK, body(), requested_by="alice")
    assert (await lookup_worker(db, lookup())).dig is None
    [row], _ = await WorkerRegistrations(db).workers()
    assert (row.dig_status, row.worker_dig_id) == ("not found", None)


async def test_names_and_queues_are_unique_under_an_intent(db: Database) -> None:
    repo = WorkerRegistrations(db)
    await repo.create(HOOK, body(), requested_by="alice")
    with pytest.raises(DuplicateRegistration):
        await repo.create(HOOK, body(queue="OTHER"), requested_by="bob")
    with pytest.raises(QueueTaken, match="by worker migrate"):
        await repo.create(HOOK, body(name="again"), requested_by="bob")
    elsewhere = HOOK.model_copy(update={"dig": "other"})
    await repo.create(elsewhere, body(), requested_by="bob")
    assert [r.name for r in await repo.list(HOOK)] == ["migrate"]
    assert [r.path for r in (await repo.page())[0]] == [elsewhere, HOOK]


async def test_update_replaces_the_spec_and_delete_removes_with_their_audit(db: Database) -> None:
    repo = WorkerRegistrations(db)
    created = await repo.create(HOOK, body(), requested_by="alice")
    entry = NewAuditEntry(
        actor="bob",
        action="worker.update",
        target_kind="worker",
        target_id=created.target_id,
        outcome=AuditOutcome.ACCEPTED,
    )
    updated = await repo.update(HOOK, body(queue="NEW_QUEUE", dig="dig-two"), audit=entry)
    assert updated is not None
    assert (updated.task_queue, updated.worker_dig, updated.requested_by) == (
        "NEW_QUEUE",
        "dig-two",
        "alice",
    )
    assert updated.created_at == created.created_at <= updated.updated_at
    assert await repo.update(HOOK, body(name="nobody")) is None
    assert await repo.delete(HOOK, "migrate")
    assert not await repo.delete(HOOK, "migrate")
    assert await repo.get(HOOK, "migrate") is None
    [audited] = await AuditRepository(db).list(target_kind="worker")
    assert (audited.action, audited.target_id) == ("worker.update", created.target_id)


async def test_the_workers_page_carries_each_worker_digs_state(db: Database) -> None:
    await new_dig(db, status="instantiated")
    repo = WorkerRegistrations(db)
    await repo.create(HOOK, body(), requested_by="alice")
    await repo.create(HOOK, body(name="lost", queue="Q2", dig="nowhere"), requested_by="alice")
    rows, total = await repo.workers(limit=1)
    assert total == 2
    assert [(r.name, r.dig_status, r.worker_dig_id) for r in rows] == [("lost", "not found", None)]
    rows, _ = await repo.workers(offset=1)
    assert [(r.name, r.dig_status, r.worker_dig_id, r.pollers) for r in rows] == [
        ("migrate", "instantiated", "d1", None)
    ]
    assert rows[0].key == f"{HOOK.workers_path}/migrate"
