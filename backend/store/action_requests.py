"""Action requests: each idempotency key is reserved before anything is sent, and keeps the
first answer, so a retry gets exactly that answer again."""

from __future__ import annotations

import json
import os
import secrets
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import aiosqlite

from backend.store.clock import from_text, to_text, utc_now
from backend.store.database import Database

PENDING = "pending"
DONE = "done"
HOST = socket.gethostname()


def process_alive(pid: int) -> bool:
    """True when a process with this id runs on this machine."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def owner_gone(owner: str | None, me: str) -> bool:
    """True when the process that reserved a key is certainly not running any more: it ran on
    this machine and its pid is gone (or is ours now, under another incarnation)."""
    if not owner or owner == me:
        return False
    host, _, rest = owner.partition(":")
    pid_text, _, _ = rest.partition(":")
    if host != HOST or not pid_text.isdigit():
        return False  # another machine: only the stale timeout can tell
    pid = int(pid_text)
    return pid == os.getpid() or not process_alive(pid)


@dataclass(frozen=True)
class ActionRequest:
    """One reserved idempotency key and, once answered, its answer."""

    key: str
    fingerprint: str
    kind: str
    target_id: str
    action: str
    actor: str
    state: str
    status_code: int | None
    response: dict[str, Any] | None
    verdict: dict[str, Any] | None
    """How the workflow took the signal, when its status report said so before the answer."""
    created_at: datetime

    @property
    def done(self) -> bool:
        """True once the request has its answer."""
        return self.state == DONE


@dataclass(frozen=True)
class NewActionRequest:
    """What a request asks, to reserve its key."""

    key: str
    fingerprint: str
    kind: str
    target_id: str
    action: str
    actor: str


class ActionRequests:
    """Reserve keys, record answers, read them back."""

    def __init__(self, database: Database) -> None:
        self._db = database
        self.owner = f"{HOST}:{os.getpid()}:{secrets.token_hex(4)}"
        """This process's name on the reservations it holds."""

    async def reserve(
        self, request: NewActionRequest, *, stale_after: timedelta
    ) -> tuple[ActionRequest, bool]:
        """Reserve the key. Returns the request and True when this caller holds it now; else the
        existing request (pending elsewhere, or done). A reservation pending for longer than
        `stale_after`, or held by a process of this machine that is gone, is taken over."""
        now = utc_now()
        async with self._db.transaction() as conn:
            cursor = await conn.execute(
                "INSERT INTO action_requests (idempotency_key, fingerprint, kind, target_id,"
                " action, actor, state, created_at, owner) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (idempotency_key) DO NOTHING",
                (
                    request.key,
                    request.fingerprint,
                    request.kind,
                    request.target_id,
                    request.action,
                    request.actor,
                    PENDING,
                    to_text(now),
                    self.owner,
                ),
            )
            held = cursor.rowcount > 0
            if not held:
                async with conn.execute(
                    "SELECT owner FROM action_requests WHERE idempotency_key = ?", (request.key,)
                ) as cur:
                    row = await cur.fetchone()
                gone = row is not None and owner_gone(row[0], self.owner)
                cutoff = now if gone else now - stale_after
                cursor = await conn.execute(
                    "UPDATE action_requests SET created_at = ?, owner = ? WHERE idempotency_key = ?"
                    " AND state = ? AND fingerprint = ? AND created_at <= ?",
                    (
                        to_text(now),
                        self.owner,
                        request.key,
                        PENDING,
                        request.fingerprint,
                        to_text(cutoff),
                    ),
                )
                held = cursor.rowcount > 0
            found = await _select(conn, request.key)
        assert found is not None
        return found, held

    async def get(self, key: str) -> ActionRequest | None:
        """The request with this key, if any."""
        return await _select(self._db.connection, key)

    async def release(self, key: str) -> None:
        """Give up a pending reservation (nothing was sent): a retry may try afresh."""
        async with self._db.transaction() as conn:
            await conn.execute(
                "DELETE FROM action_requests WHERE idempotency_key = ? AND state = ?",
                (key, PENDING),
            )

    @staticmethod
    async def get_in(conn: aiosqlite.Connection, key: str) -> ActionRequest | None:
        """The request with this key, read inside the caller's transaction."""
        return await _select(conn, key)

    @staticmethod
    async def note_verdict(conn: aiosqlite.Connection, key: str, verdict: dict[str, Any]) -> None:
        """Keep the workflow's verdict on a pending request (the answer will use it)."""
        await conn.execute(
            "UPDATE action_requests SET verdict = ? WHERE idempotency_key = ? AND state = ?",
            (json.dumps(verdict), key, PENDING),
        )

    @staticmethod
    async def answer(
        conn: aiosqlite.Connection, key: str, status_code: int, response: dict[str, Any]
    ) -> None:
        """Store the request's answer inside the caller's transaction."""
        await conn.execute(
            "UPDATE action_requests SET state = ?, status_code = ?, response = ?, finished_at = ?"
            " WHERE idempotency_key = ?",
            (DONE, status_code, json.dumps(response), to_text(utc_now()), key),
        )


async def _select(conn: aiosqlite.Connection, key: str) -> ActionRequest | None:
    async with conn.execute(
        "SELECT * FROM action_requests WHERE idempotency_key = ?", (key,)
    ) as cur:
        row = await cur.fetchone()
    if row is None:
        return None
    created_at = from_text(row["created_at"])
    assert created_at is not None
    return ActionRequest(
        key=row["idempotency_key"],
        fingerprint=row["fingerprint"],
        kind=row["kind"],
        target_id=row["target_id"],
        action=row["action"],
        actor=row["actor"],
        state=row["state"],
        status_code=row["status_code"],
        response=json.loads(row["response"]) if row["response"] else None,
        verdict=json.loads(row["verdict"]) if row["verdict"] else None,
        created_at=created_at,
    )
