"""The entities table: every domain's records, their last reported status and domain fields."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiosqlite

from backend.domain.progress import Awaiting
from backend.domain.status import ClaimResult, StatusReport
from backend.store.clock import from_text, to_text, utc_now
from backend.store.database import Database


class DuplicateName(Exception):
    """An active entity of this kind already has this name."""


@dataclass(frozen=True)
class EntityRecord:
    """One row of the entities table."""

    kind: str
    id: str
    name: str
    requested_by: str
    status: str
    status_reason: str | None
    ended: bool
    workflow_id: str
    run_id: str | None
    percent: int
    awaiting: Awaiting | None
    accepts: list[str]
    last_error: str | None
    fields: dict[str, Any]
    created_at: datetime
    updated_at: datetime


class EntityRepository:
    """Reads and idempotent writes of entity rows, for every kind."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def create(
        self,
        *,
        kind: str,
        entity_id: str,
        name: str,
        requested_by: str,
        status: str,
        workflow_id: str,
        fields: dict[str, Any],
    ) -> EntityRecord:
        """Insert a new entity; DuplicateName when an active one of its kind has the name."""
        now = to_text(utc_now())
        try:
            async with self._db.transaction() as conn:
                await conn.execute(
                    "INSERT INTO entities (kind, id, name, requested_by, status, workflow_id,"
                    " fields, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        kind,
                        entity_id,
                        name,
                        requested_by,
                        status,
                        workflow_id,
                        json.dumps(fields, default=str),
                        now,
                        now,
                    ),
                )
        except sqlite3.IntegrityError as err:
            if "entities.kind, entities.name" in str(err) or "active_name" in str(err):
                raise DuplicateName(name) from None
            raise
        record = await self.get(kind, entity_id)
        assert record is not None
        return record

    async def get(self, kind: str, entity_id: str) -> EntityRecord | None:
        """The entity of this kind with this id, if any."""
        async with self._db.connection.execute(
            "SELECT * FROM entities WHERE kind = ? AND id = ?", (kind, entity_id)
        ) as cur:
            row = await cur.fetchone()
        return _record(row) if row else None

    async def active_named(self, kind: str, name: str) -> EntityRecord | None:
        """The entity of `kind` named `name` that has not ended, if there is one."""
        async with self._db.connection.execute(
            "SELECT * FROM entities WHERE kind = ? AND name = ? AND ended = 0", (kind, name)
        ) as cur:
            row = await cur.fetchone()
        return _record(row) if row else None

    async def page(
        self, kind: str, *, status: str | None = None, limit: int = 200, offset: int = 0
    ) -> tuple[list[EntityRecord], int]:
        """A page of one kind's entities, newest first, and how many match in all."""
        where, args = "WHERE kind = ?", [kind]
        if status:
            where += " AND status = ?"
            args.append(status)
        conn = self._db.connection
        async with conn.execute(f"SELECT COUNT(*) FROM entities {where}", args) as cur:
            count_row = await cur.fetchone()
        query = f"SELECT * FROM entities {where} ORDER BY created_at DESC, id LIMIT ? OFFSET ?"
        async with conn.execute(query, (*args, limit, offset)) as cur:
            rows = await cur.fetchall()
        return [_record(row) for row in rows], int(count_row[0]) if count_row else 0

    async def awaiting(self, *, limit: int = 200) -> tuple[list[EntityRecord], int]:
        """Entities waiting for a person, of every kind, longest waiting first."""
        conn = self._db.connection
        where = "WHERE awaiting_kind IS NOT NULL AND ended = 0"
        async with conn.execute(f"SELECT COUNT(*) FROM entities {where}") as cur:
            count_row = await cur.fetchone()
        async with conn.execute(
            f"SELECT * FROM entities {where} ORDER BY awaiting_since, kind, id LIMIT ?", (limit,)
        ) as cur:
            rows = await cur.fetchall()
        return [_record(row) for row in rows], int(count_row[0]) if count_row else 0

    async def set_run_id(self, kind: str, entity_id: str, run_id: str) -> None:
        """Remember the run of the entity's workflow."""
        async with self._db.transaction() as conn:
            await conn.execute(
                "UPDATE entities SET run_id = ?, updated_at = ? WHERE kind = ? AND id = ?",
                (run_id, to_text(utc_now()), kind, entity_id),
            )

    async def set_status(
        self, kind: str, entity_id: str, status: str, *, reason: str | None, ended: bool
    ) -> bool:
        """Record a status the platform decides (no workflow could report it); an ended
        entity keeps its status. False when nothing was written."""
        async with self._db.transaction() as conn:
            cursor = await conn.execute(
                "UPDATE entities SET status = ?, status_reason = ?, ended = ?, awaiting = NULL,"
                " awaiting_kind = NULL, awaiting_since = NULL, accepts = '[]', updated_at = ?"
                " WHERE kind = ? AND id = ? AND ended = 0",
                (status, reason, int(ended), to_text(utc_now()), kind, entity_id),
            )
            return cursor.rowcount > 0

    async def claim(self, kind: str, entity_id: str, workflow_id: str) -> ClaimResult | None:
        """Whether `workflow_id` is the entity's workflow; None when there is no such entity."""
        record = await self.get(kind, entity_id)
        if record is None:
            return None
        if record.workflow_id != workflow_id:
            return ClaimResult(
                granted=False,
                reason=f"{kind} {entity_id} belongs to workflow {record.workflow_id}",
            )
        return ClaimResult(granted=True)

    @staticmethod
    async def workflow_of(conn: aiosqlite.Connection, kind: str, entity_id: str) -> str | None:
        """The entity's workflow id, read inside the caller's transaction; None: no entity."""
        async with conn.execute(
            "SELECT workflow_id FROM entities WHERE kind = ? AND id = ?", (kind, entity_id)
        ) as cur:
            row = await cur.fetchone()
        return str(row[0]) if row else None

    @staticmethod
    async def apply_report(
        conn: aiosqlite.Connection, report: StatusReport, *, ended: bool
    ) -> bool:
        """Apply a status report inside the caller's transaction; False when a newer one (or
        another workflow's) had been applied."""
        awaiting = report.awaiting
        cursor = await conn.execute(
            "UPDATE entities SET status = ?, status_reason = ?, ended = ?, run_id = ?,"
            " percent = ?, awaiting = ?, awaiting_kind = ?, awaiting_since = ?, accepts = ?,"
            " last_error = ?, fields = json_patch(fields, ?), status_version = ?, updated_at = ?"
            " WHERE kind = ? AND id = ? AND workflow_id = ? AND status_version < ?",
            (
                report.status,
                report.reason,
                int(ended),
                report.run_id,
                report.percent,
                awaiting.model_dump_json() if awaiting else None,
                awaiting.kind if awaiting else None,
                to_text(awaiting.since) if awaiting else None,
                json.dumps(report.accepts),
                report.last_error,
                json.dumps(report.fields, default=str),
                report.version,
                to_text(utc_now()),
                report.kind,
                report.entity_id,
                report.workflow_id,
                report.version,
            ),
        )
        return cursor.rowcount > 0


def _record(row: aiosqlite.Row) -> EntityRecord:
    created_at = from_text(row["created_at"])
    updated_at = from_text(row["updated_at"])
    assert created_at is not None and updated_at is not None
    awaiting = row["awaiting"]
    return EntityRecord(
        kind=row["kind"],
        id=row["id"],
        name=row["name"],
        requested_by=row["requested_by"],
        status=row["status"],
        status_reason=row["status_reason"],
        ended=bool(row["ended"]),
        workflow_id=row["workflow_id"],
        run_id=row["run_id"],
        percent=int(row["percent"]),
        awaiting=Awaiting.model_validate_json(awaiting) if awaiting else None,
        accepts=list(json.loads(row["accepts"] or "[]")),
        last_error=row["last_error"],
        fields=dict(json.loads(row["fields"] or "{}")),
        created_at=created_at,
        updated_at=updated_at,
    )
