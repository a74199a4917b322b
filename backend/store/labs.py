"""The labs table: lab records whose status follows their workflow."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from backend.domain.labs import FINAL_LAB_STATUSES, LabSeverity, LabStatus
from backend.store.clock import from_text, to_text, utc_now
from backend.store.database import Database


class DuplicateLabName(Exception):
    """An active lab already has this name."""


@dataclass(frozen=True)
class LabRecord:
    """One row of the labs table."""

    id: str
    name: str
    requested_by: str
    severity: LabSeverity
    ttl_hours: int
    status: LabStatus
    status_reason: str | None
    workflow_id: str
    run_id: str | None
    locked_by: str | None
    created_at: datetime
    updated_at: datetime
    expires_at: datetime | None


_FINAL = tuple(status.value for status in FINAL_LAB_STATUSES)


class LabRepository:
    """Reads and idempotent writes of lab rows."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def create(
        self,
        *,
        lab_id: str,
        name: str,
        requested_by: str,
        severity: LabSeverity,
        ttl_hours: int,
        workflow_id: str,
    ) -> LabRecord:
        """Insert a new queued lab; DuplicateLabName when an active lab has the name."""
        now = to_text(utc_now())
        try:
            async with self._db.transaction() as conn:
                await conn.execute(
                    "INSERT INTO labs (id, name, requested_by, severity, ttl_hours, status,"
                    " workflow_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        lab_id,
                        name,
                        requested_by,
                        severity.value,
                        ttl_hours,
                        LabStatus.QUEUED.value,
                        workflow_id,
                        now,
                        now,
                    ),
                )
        except sqlite3.IntegrityError as err:
            if "labs.name" in str(err) or "labs_active_name" in str(err):
                raise DuplicateLabName(name) from None
            raise
        record = await self.get(lab_id)
        assert record is not None
        return record

    async def get(self, lab_id: str) -> LabRecord | None:
        """The lab with this id, if any."""
        async with self._db.connection.execute("SELECT * FROM labs WHERE id = ?", (lab_id,)) as cur:
            row = await cur.fetchone()
        return _record(row) if row else None

    async def list(
        self, *, status: LabStatus | None = None, limit: int = 200, offset: int = 0
    ) -> tuple[list[LabRecord], int]:
        """A page of labs, newest first, and how many match in all."""
        where, args = ("WHERE status = ?", (status.value,)) if status else ("", ())
        conn = self._db.connection
        async with conn.execute(f"SELECT COUNT(*) FROM labs {where}", args) as cur:
            count_row = await cur.fetchone()
        query = f"SELECT * FROM labs {where} ORDER BY created_at DESC, id LIMIT ? OFFSET ?"
        async with conn.execute(query, (*args, limit, offset)) as cur:
            rows = await cur.fetchall()
        return [_record(row) for row in rows], int(count_row[0]) if count_row else 0

    async def set_run_id(self, lab_id: str, run_id: str) -> None:
        """Remember the run of the lab's workflow."""
        async with self._db.transaction() as conn:
            await conn.execute(
                "UPDATE labs SET run_id = ?, updated_at = ? WHERE id = ?",
                (run_id, to_text(utc_now()), lab_id),
            )

    async def lock(self, lab_id: str, workflow_id: str) -> LabRecord | None:
        """Mark the lab as owned by `workflow_id` (idempotent); None when another owns it."""
        async with self._db.transaction() as conn:
            await conn.execute(
                "UPDATE labs SET locked_by = ?, updated_at = ? WHERE id = ? AND locked_by IS NULL",
                (workflow_id, to_text(utc_now()), lab_id),
            )
        record = await self.get(lab_id)
        if record is None or record.locked_by != workflow_id:
            return None
        return record

    async def set_status(
        self,
        lab_id: str,
        status: LabStatus,
        *,
        reason: str | None = None,
        expires_at: datetime | None = None,
    ) -> bool:
        """Move the lab to `status` (idempotent); an ended lab keeps its final status.

        Returns False when the lab had already ended (nothing written).
        """
        final = ", ".join("?" * len(_FINAL))
        async with self._db.transaction() as conn:
            cursor: aiosqlite.Cursor = await conn.execute(
                "UPDATE labs SET status = ?, status_reason = ?,"
                " expires_at = COALESCE(?, expires_at), updated_at = ?"
                f" WHERE id = ? AND status NOT IN ({final})",
                (status.value, reason, to_text(expires_at), to_text(utc_now()), lab_id, *_FINAL),
            )
            return cursor.rowcount > 0


def _record(row: aiosqlite.Row) -> LabRecord:
    created_at = from_text(row["created_at"])
    updated_at = from_text(row["updated_at"])
    assert created_at is not None and updated_at is not None
    return LabRecord(
        id=row["id"],
        name=row["name"],
        requested_by=row["requested_by"],
        severity=LabSeverity(row["severity"]),
        ttl_hours=int(row["ttl_hours"]),
        status=LabStatus(row["status"]),
        status_reason=row["status_reason"],
        workflow_id=row["workflow_id"],
        run_id=row["run_id"],
        locked_by=row["locked_by"],
        created_at=created_at,
        updated_at=updated_at,
        expires_at=from_text(row["expires_at"]),
    )
