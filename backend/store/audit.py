"""The audit log: append-only (SQLite triggers refuse UPDATE and DELETE) and hash-chained
(every entry sealed as it is written; see `audit_chain`)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import aiosqlite

from backend.domain.audit import AuditEntry, AuditOutcome, AuditSource
from backend.store.audit_chain import seal_new
from backend.store.clock import to_text, utc_now
from backend.store.database import Database


@dataclass(frozen=True)
class NewAuditEntry:
    """What an audit row says, before it has an id and a time."""

    actor: str
    action: str
    target_kind: str
    target_id: str
    outcome: AuditOutcome
    reason: str = ""
    message: str = ""
    idempotency_key: str | None = None
    source: AuditSource = AuditSource.FLIGHTDECK
    decision_key: str | None = None
    """Identifies a workflow decision, so each is mirrored once."""
    details: dict[str, Any] = field(default_factory=dict)


class AuditRepository:
    """Append and read audit entries."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def append(self, entry: NewAuditEntry) -> AuditEntry:
        """Record one entry in its own transaction."""
        async with self._db.transaction() as conn:
            entry_id = await self.insert(conn, entry)
        found = await self.get(entry_id)
        assert found is not None
        return found

    @staticmethod
    async def insert(conn: aiosqlite.Connection, entry: NewAuditEntry) -> int:
        """Record one entry inside the caller's transaction; its id. An entry whose
        `decision_key` is already recorded is not written again (that entry's id is returned)."""
        cursor = await conn.execute(
            "INSERT INTO audit_log (at, actor, action, target_kind, target_id, reason, outcome,"
            " message, idempotency_key, source, decision_key, details)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (decision_key) WHERE decision_key IS NOT NULL DO NOTHING",
            (
                to_text(utc_now()),
                entry.actor,
                entry.action,
                entry.target_kind,
                entry.target_id,
                entry.reason,
                entry.outcome.value,
                entry.message,
                entry.idempotency_key,
                entry.source.value,
                entry.decision_key,
                json.dumps(entry.details, default=str),
            ),
        )
        if cursor.rowcount > 0 and cursor.lastrowid:
            await seal_new(conn, int(cursor.lastrowid))
            return int(cursor.lastrowid)
        async with conn.execute(
            "SELECT id FROM audit_log WHERE decision_key = ?", (entry.decision_key,)
        ) as cur:
            row = await cur.fetchone()
        assert row is not None
        return int(row[0])

    async def get(self, entry_id: int) -> AuditEntry | None:
        """One entry by id."""
        conn = self._db.connection
        async with conn.execute("SELECT * FROM audit_log WHERE id = ?", (entry_id,)) as cur:
            row = await cur.fetchone()
        return _entry(row) if row else None

    async def list(
        self,
        *,
        limit: int = 100,
        target_kind: str | None = None,
        target_id: str | None = None,
        before_id: int | None = None,
    ) -> list[AuditEntry]:
        """The newest entries first, optionally for one target, optionally older than an id."""
        clauses: list[str] = []
        args: list[Any] = []
        if target_kind:
            clauses.append("target_kind = ?")
            args.append(target_kind)
        if target_id:
            clauses.append("target_id = ?")
            args.append(target_id)
        if before_id is not None:
            clauses.append("id < ?")
            args.append(before_id)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        async with self._db.connection.execute(
            f"SELECT * FROM audit_log {where} ORDER BY id DESC LIMIT ?", (*args, limit)
        ) as cur:
            rows = await cur.fetchall()
        return [_entry(row) for row in rows]


def _entry(row: aiosqlite.Row) -> AuditEntry:
    return AuditEntry(
        id=row["id"],
        at=row["at"],
        actor=row["actor"],
        action=row["action"],
        target_kind=row["target_kind"],
        target_id=row["target_id"],
        reason=row["reason"],
        outcome=AuditOutcome(row["outcome"]),
        message=row["message"],
        idempotency_key=row["idempotency_key"],
        source=AuditSource(row["source"]),
        details=json.loads(row["details"] or "{}"),
    )
