"""The SQLite store: migrations (labs move into entities), entity rules, status reports applied
in order, reserved action requests, and the append-only audit log."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiosqlite
import pytest

from backend.domain.audit import AuditOutcome
from backend.domain.status import StatusReport
from backend.store.action_requests import HOST, ActionRequests, NewActionRequest
from backend.store.audit import AuditRepository, NewAuditEntry
from backend.store.database import Database, available_migrations, split_statements
from backend.store.entities import DuplicateName, EntityRepository


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(tmp_path / "f.db")
    yield database
    await database.close()


async def new_lab(entities: EntityRepository, lab_id: str = "a1", name: str = "one") -> None:
    await entities.create(
        kind="lab",
        entity_id=lab_id,
        name=name,
        requested_by="al",
        status="queued",
        workflow_id=f"lab-{lab_id}",
        fields={"severity": "low", "ttl_hours": 1},
    )


def report(version: str, status: str, percent: int, **extra: object) -> StatusReport:
    return StatusReport.model_validate(
        {
            "kind": "lab",
            "entity_id": "a1",
            "workflow_id": "lab-a1",
            "run_id": "r1",
            "version": version,
            "status": status,
            "percent": percent,
            **extra,
        }
    )


async def apply(db: Database, item: StatusReport, *, ended: bool = False) -> bool:
    async with db.transaction() as conn:
        return await EntityRepository.apply_report(conn, item, ended=ended)


async def test_migrations_apply_once_and_set_the_schema_version(tmp_path: Path) -> None:
    database = await Database.open(tmp_path / "m.db")
    latest = available_migrations()[-1][0]
    assert await database.schema_version() == latest
    assert await database.migrate() == []
    async with database.connection.execute("PRAGMA journal_mode") as cursor:
        assert (await cursor.fetchone())[0] == "wal"  # type: ignore[index]
    await database.close()
    reopened = await Database.open(tmp_path / "m.db")
    assert await reopened.schema_version() == latest
    await reopened.close()


async def test_labs_of_the_first_schema_move_into_entities(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    (number, first), *_ = available_migrations()
    async with aiosqlite.connect(path) as old:
        for statement in split_statements(first):
            await old.execute(statement)
        await old.execute(
            "INSERT INTO labs (id, name, requested_by, severity, ttl_hours, status, workflow_id,"
            " created_at, updated_at, expires_at) VALUES ('a1', 'old', 'al', 'high', 4, 'running',"
            " 'lab-a1', '2026-01-01T00:00:00+00:00', '2026-01-01T00:00:00+00:00',"
            " '2026-01-01T04:00:00+00:00')"
        )
        await old.execute(f"PRAGMA user_version = {number}")
        await old.commit()
    database = await Database.open(path)
    record = await EntityRepository(database).get("lab", "a1")
    await database.close()
    assert record is not None and (record.name, record.status, record.percent) == (
        "old",
        "running",
        100,
    )
    assert record.fields == {
        "severity": "high",
        "ttl_hours": 4,
        "expires_at": "2026-01-01T04:00:00+00:00",
    }


async def test_names_are_unique_among_active_entities_of_a_kind_only(db: Database) -> None:
    entities = EntityRepository(db)
    await new_lab(entities)
    with pytest.raises(DuplicateName):
        await new_lab(entities, "a2")
    await entities.create(
        kind="tenant",
        entity_id="t1",
        name="one",
        requested_by="al",
        status="PENDING",
        workflow_id="tenant-t1",
        fields={},
    )
    assert await entities.set_status("lab", "a1", "expired", reason="ttl", ended=True)
    await new_lab(entities, "a2")
    _, total = await entities.page("lab")
    assert total == 2


async def test_an_ended_entity_keeps_its_final_status(db: Database) -> None:
    entities = EntityRepository(db)
    await new_lab(entities)
    assert await entities.set_status("lab", "a1", "cancelled", reason="by carol", ended=True)
    assert not await entities.set_status("lab", "a1", "running", reason=None, ended=False)
    record = await entities.get("lab", "a1")
    assert record is not None and (record.status, record.status_reason) == ("cancelled", "by carol")


async def test_reports_apply_in_version_order_and_a_late_one_changes_nothing(
    db: Database,
) -> None:
    entities = EntityRepository(db)
    await new_lab(entities)
    assert await apply(db, report("2026-01-01T00:00:00.000000#00000002", "validating", 60))
    assert not await apply(db, report("2026-01-01T00:00:00.000000#00000001", "provisioning", 15))
    assert not await apply(db, report("2026-01-01T00:00:00.000000#00000002", "validating", 60))
    record = await entities.get("lab", "a1")
    assert record is not None and (record.status, record.percent) == ("validating", 60)
    # A later run (e.g. a tenant's deprovision after its provision) starts a later version.
    assert await apply(
        db,
        report(
            "2026-01-02T00:00:00.000000#00000001",
            "awaiting_review",
            80,
            accepts=["review", "cancel"],
            awaiting={"kind": "review", "since": datetime.now(UTC), "request_id": "review-1"},
            fields={"expires_at": None},
        ),
    )
    record = await entities.get("lab", "a1")
    assert record is not None and record.accepts == ["review", "cancel"]
    assert record.awaiting is not None and record.awaiting.request_id == "review-1"
    assert record.fields["severity"] == "low"  # fields merge, never vanish
    waiting, total = await entities.awaiting()
    assert total == 1 and waiting[0].id == "a1"


async def test_a_report_from_another_workflow_is_not_applied(db: Database) -> None:
    entities = EntityRepository(db)
    await new_lab(entities)
    stray = report("2099-01-01T00:00:00.000000#00000001", "failed", 0, workflow_id="intruder")
    assert not await apply(db, stray, ended=True)
    claim = await entities.claim("lab", "a1", "intruder")
    assert claim is not None and not claim.granted
    assert (await entities.claim("lab", "a1", "lab-a1")).granted  # type: ignore[union-attr]
    assert await entities.claim("lab", "nope", "lab-nope") is None


async def test_an_action_request_key_is_held_once_and_keeps_its_answer(db: Database) -> None:
    requests = ActionRequests(db)
    ask = NewActionRequest("k", "f1", "lab", "a1", "cancel", "carol")
    (_, held), (_, also_held) = await asyncio.gather(
        requests.reserve(ask, stale_after=timedelta(seconds=60)),
        requests.reserve(ask, stale_after=timedelta(seconds=60)),
    )
    assert sorted([held, also_held]) == [False, True]
    async with db.transaction() as conn:
        await ActionRequests.note_verdict(conn, "k", {"accepted": True, "note": None})
        await ActionRequests.answer(conn, "k", 200, {"outcome": "accepted"})
    done = await requests.get("k")
    assert done is not None and done.done and done.response == {"outcome": "accepted"}
    assert done.verdict == {"accepted": True, "note": None}
    await requests.release("k")  # an answered request is never given up
    assert await requests.get("k") is not None


async def test_a_pending_request_of_a_dead_process_is_taken_over(db: Database) -> None:
    requests = ActionRequests(db)
    ask = NewActionRequest("k", "f1", "lab", "a1", "cancel", "carol")
    await requests.reserve(ask, stale_after=timedelta(seconds=60))
    _, held = await requests.reserve(ask, stale_after=timedelta(seconds=60))
    assert not held
    _, held = await requests.reserve(ask, stale_after=timedelta(seconds=-1))
    assert held


async def test_a_reservation_left_by_a_process_that_died_is_taken_over_at_once(
    db: Database,
) -> None:
    """An API killed while answering leaves its key pending; the restarted API (another
    process on this machine) takes it over at once, not after the stale timeout."""
    ask = NewActionRequest("k2", "f1", "lab", "a1", "cancel", "carol")
    dead = await asyncio.create_subprocess_exec(sys.executable, "-c", "pass")
    await dead.wait()
    crashed = ActionRequests(db)
    crashed.owner = f"{HOST}:{dead.pid}:old"
    _, held = await crashed.reserve(ask, stale_after=timedelta(seconds=60))
    assert held
    restarted = ActionRequests(db)
    _, held = await restarted.reserve(ask, stale_after=timedelta(seconds=60))
    assert held

    alive = ActionRequests(db)
    alive.owner = f"{HOST}:{os.getppid()}:other"  # a live process: it may still answer
    other = NewActionRequest("k3", "f1", "lab", "a1", "cancel", "carol")
    _, held = await alive.reserve(other, stale_after=timedelta(seconds=60))
    _, held_too = await restarted.reserve(other, stale_after=timedelta(seconds=60))
    assert held and not held_too
    elsewhere = ActionRequests(db)
    elsewhere.owner = "another-host:1:x"  # another machine: only the timeout can tell
    third = NewActionRequest("k4", "f1", "lab", "a1", "cancel", "carol")
    await elsewhere.reserve(third, stale_after=timedelta(seconds=60))
    _, held = await restarted.reserve(third, stale_after=timedelta(seconds=60))
    assert not held


async def test_audit_log_refuses_updates_and_deletes(db: Database) -> None:
    audit = AuditRepository(db)
    await audit.append(NewAuditEntry("a", "create", "lab", "x", AuditOutcome.ACCEPTED))
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        await db.connection.execute("UPDATE audit_log SET actor = 'mallory'")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        await db.connection.execute("DELETE FROM audit_log")
    assert len(await audit.list()) == 1


async def test_a_workflow_decision_is_audited_once(db: Database) -> None:
    audit = AuditRepository(db)
    entry = NewAuditEntry("eve", "review.approve", "lab", "x", AuditOutcome.ACCEPTED)
    keyed = NewAuditEntry(**{**entry.__dict__, "decision_key": "lab-x/r1/1"})
    first = await audit.append(keyed)
    again = await audit.append(keyed)
    assert again.id == first.id
    assert len(await audit.list()) == 1


async def test_two_processes_opening_a_fresh_database_together_migrate_once(tmp_path: Path) -> None:
    first, second = await asyncio.gather(
        Database.open(tmp_path / "race.db"), Database.open(tmp_path / "race.db")
    )
    latest = available_migrations()[-1][0]
    assert await first.schema_version() == latest == await second.schema_version()
    await first.close()
    await second.close()


async def test_a_cancelled_writer_leaves_no_open_transaction(db: Database) -> None:
    entities = EntityRepository(db)
    await new_lab(entities)
    inside = asyncio.Event()

    async def slow_write() -> None:
        async with db.transaction() as conn:
            await conn.execute("UPDATE entities SET status = 'failed' WHERE id = 'a1'")
            inside.set()
            await asyncio.Event().wait()  # until cancelled

    task = asyncio.create_task(slow_write())
    await inside.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not db.connection.in_transaction
    record = await entities.get("lab", "a1")
    assert record is not None and record.status == "queued"
    assert await entities.set_status("lab", "a1", "provisioning", reason=None, ended=False)
