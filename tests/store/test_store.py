"""The SQLite store: migrations, lab status rules, the append-only audit log."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from backend.domain.audit import AuditOutcome
from backend.domain.labs import LabSeverity, LabStatus
from backend.store.audit import AuditRepository
from backend.store.database import Database, available_migrations
from backend.store.labs import DuplicateLabName, LabRepository


@pytest.fixture
async def db(tmp_path: Path) -> Database:
    database = await Database.open(tmp_path / "f.db")
    yield database  # type: ignore[misc]
    await database.close()


async def new_lab(labs: LabRepository, lab_id: str = "a1", name: str = "one") -> None:
    await labs.create(
        lab_id=lab_id,
        name=name,
        requested_by="al",
        severity=LabSeverity.LOW,
        ttl_hours=1,
        workflow_id=f"lab-{lab_id}",
    )


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


async def test_an_ended_lab_keeps_its_final_status(db: Database) -> None:
    labs = LabRepository(db)
    await new_lab(labs)
    assert await labs.set_status("a1", LabStatus.PROVISIONING)
    assert await labs.set_status("a1", LabStatus.CANCELLED, reason="by carol")
    assert not await labs.set_status("a1", LabStatus.RUNNING)
    record = await labs.get("a1")
    assert (
        record is not None
        and record.status == LabStatus.CANCELLED
        and record.status_reason == "by carol"
    )


async def test_names_are_unique_among_active_labs_only(db: Database) -> None:
    labs = LabRepository(db)
    await new_lab(labs)
    with pytest.raises(DuplicateLabName):
        await new_lab(labs, "a2")
    await labs.set_status("a1", LabStatus.EXPIRED)
    await new_lab(labs, "a2")
    _, total = await labs.list()
    assert total == 2


async def test_lock_is_idempotent_for_its_owner_and_refused_to_others(db: Database) -> None:
    labs = LabRepository(db)
    await new_lab(labs)
    assert await labs.lock("a1", "lab-a1") is not None
    assert await labs.lock("a1", "lab-a1") is not None
    assert await labs.lock("a1", "someone-else") is None


async def test_audit_log_refuses_updates_and_deletes(db: Database) -> None:
    audit = AuditRepository(db)
    await audit.append(
        actor="a", action="create", target_kind="lab", target_id="x", outcome=AuditOutcome.ACCEPTED
    )
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        await db.connection.execute("UPDATE audit_log SET actor = 'mallory'")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        await db.connection.execute("DELETE FROM audit_log")
    assert len(await audit.list()) == 1


async def test_same_idempotency_key_returns_the_first_entry(db: Database) -> None:
    audit = AuditRepository(db)
    first = await audit.append(
        actor="a",
        action="cancel",
        target_kind="lab",
        target_id="x",
        outcome=AuditOutcome.ACCEPTED,
        idempotency_key="k",
    )
    again = await audit.append(
        actor="b",
        action="cancel",
        target_kind="lab",
        target_id="x",
        outcome=AuditOutcome.REFUSED,
        idempotency_key="k",
    )
    assert again == first
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
    labs = LabRepository(db)
    await new_lab(labs)

    inside = asyncio.Event()

    async def slow_write() -> None:
        async with db.transaction() as conn:
            await conn.execute("UPDATE labs SET status = 'failed' WHERE id = 'a1'")
            inside.set()
            await asyncio.Event().wait()  # until cancelled

    task = asyncio.create_task(slow_write())
    await inside.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not db.connection.in_transaction
    record = await labs.get("a1")
    assert record is not None and record.status == LabStatus.QUEUED
    assert await labs.set_status("a1", LabStatus.PROVISIONING)
