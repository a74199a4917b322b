"""The audit log: append-only (SQLite triggers refuse UPDATE and DELETE)."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

import aiosqlite

from backend.domain.audit import AuditEntry, AuditOutcome
from backend.store.clock import to_text, utc_now
from backend.store.database import Database


class AuditRepository:
    """Append and read audit entries."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def append(
        self,
        *,
        actor: str,
        action: str,
        target_kind: str,
        target_id: str,
        outcome: AuditOutcome,
        reason: str = "",
        message: str = "",
        idempotency_key: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> AuditEntry:
        """Record one action. With an idempotency key already used for this action and target,
        nothing is written and the first entry is returned."""
        try:
            async with self._db.transaction() as conn:
                cursor = await conn.execute(
                    "INSERT INTO audit_log (at, actor, action, target_kind, target_id, reason,"
                    " outcome, message, idempotency_key, details)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        to_text(utc_now()),
                        actor,
                        action,
                        target_kind,
                        target_id,
                        reason,
                        outcome.value,
                        message,
                        idempotency_key,
                        json.dumps(details or {}, default=str),
                    ),
                )
                entry_id = cursor.lastrowid
        except sqlite3.IntegrityError:
            if idempotency_key is None:
                raise
            existing = await self.find_by_key(action, target_id, idempotency_key)
            if existing is None:
                raise
            return existing
        entry = await self.get(int(entry_id or 0))
        assert entry is not None
        return entry

    async def get(self, entry_id: int) -> AuditEntry | None:
        """One entry by id."""
        conn = self._db.connection
        async with conn.execute("SELECT * FROM audit_log WHERE id = ?", (entry_id,)) as cur:
            row = await cur.fetchone()
        return _entry(row) if row else None

    async def find_by_key(
        self, action: str, target_id: str, idempotency_key: str
    ) -> AuditEntry | None:
        """The entry an idempotency key produced for this action and target, if any."""
        async with self._db.connection.execute(
            "SELECT * FROM audit_log WHERE action = ? AND target_id = ? AND idempotency_key = ?",
            (action, target_id, idempotency_key),
        ) as cur:
            row = await cur.fetchone()
        return _entry(row) if row else None

    async def list(
        self, *, limit: int = 100, target_kind: str | None = None, target_id: str | None = None
    ) -> list[AuditEntry]:
        """The newest entries first, optionally for one target."""
        clauses: list[str] = []
        args: list[Any] = []
        if target_kind:
            clauses.append("target_kind = ?")
            args.append(target_kind)
        if target_id:
            clauses.append("target_id = ?")
            args.append(target_id)
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
        details=json.loads(row["details"] or "{}"),
    )
