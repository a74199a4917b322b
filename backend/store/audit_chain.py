"""The audit log's hash chain: each entry is sealed with an HMAC over its contents and the
previous entry's seal, so a changed, deleted or inserted row is found by `verify`.

The key lives beside the database (`audit-key`, 0600): someone who can write the database but
not read the key cannot forge a seal. The newest seal (the head) can be written down elsewhere,
so that even cutting entries off the end is noticed.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

KEY_FILE = "audit-key"
SEALED_COLUMNS = (
    "id",
    "at",
    "actor",
    "action",
    "target_kind",
    "target_id",
    "reason",
    "outcome",
    "message",
    "idempotency_key",
    "source",
    "decision_key",
    "details",
)
"""The columns a seal covers (everything but the seals themselves)."""


def key_path(database_path: Path) -> Path:
    """Where the chain key of the database at `database_path` lives."""
    return database_path.parent / KEY_FILE


def load_or_create_key(database_path: Path) -> bytes:
    """The chain key beside the database, created (0600) on first use."""
    path = key_path(database_path)
    try:
        return bytes.fromhex(path.read_text().strip())
    except FileNotFoundError:
        pass
    key = secrets.token_bytes(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first
        return bytes.fromhex(path.read_text().strip())
    with os.fdopen(fd, "w") as handle:
        handle.write(key.hex() + "\n")
    return key


def load_key(database_path: Path) -> bytes:
    """The existing chain key; FileNotFoundError when there is none."""
    return bytes.fromhex(key_path(database_path).read_text().strip())


def canonical(row: Mapping[str, Any]) -> str:
    """The sealed columns of a row as one canonical JSON text."""
    return json.dumps(
        {name: row[name] for name in SEALED_COLUMNS}, sort_keys=True, separators=(",", ":")
    )


def seal(key: bytes, prev_hash: str | None, row: Mapping[str, Any]) -> str:
    """The seal of `row` following an entry sealed `prev_hash` (None for the first entry)."""
    return seal_text(key, prev_hash, canonical(row))


def seal_text(key: bytes, prev_hash: str | None, text: str) -> str:
    """The seal of an entry's canonical text following an entry sealed `prev_hash`."""
    message = f"{prev_hash or ''}\n{text}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


SEAL_FUNCTION = "flightdeck_audit_seal"
"""The SQL function (registered on each connection with the key) that computes a seal."""


async def seal_new(conn: Any, entry_id: int) -> None:
    """Seal entry `entry_id` (just written, in the caller's transaction) after its predecessor."""
    async with conn.execute("SELECT * FROM audit_log WHERE id = ?", (entry_id,)) as cur:
        row = await cur.fetchone()
    async with conn.execute(
        "SELECT hash FROM audit_log WHERE id < ? ORDER BY id DESC LIMIT 1", (entry_id,)
    ) as cur:
        before = await cur.fetchone()
    prev_hash = before[0] if before else None
    await conn.execute(
        f"UPDATE audit_log SET prev_hash = ?, hash = {SEAL_FUNCTION}(?, ?) WHERE id = ?",
        (prev_hash, prev_hash, canonical(row), entry_id),
    )


async def seal_backlog(conn: Any) -> int:
    """Seal entries written before sealing existed, in order; how many were sealed."""
    async with conn.execute("SELECT id FROM audit_log WHERE hash IS NULL ORDER BY id") as cur:
        ids = [int(row[0]) for row in await cur.fetchall()]
    for entry_id in ids:
        await seal_new(conn, entry_id)
    return len(ids)


@dataclass
class ChainReport:
    """What `verify` found: how many entries, the head seal, and every problem."""

    entries: int = 0
    head: str | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        """True when no entry was changed, deleted or inserted (as far as the key tells)."""
        return not self.problems


def verify(key: bytes, rows: Iterable[Mapping[str, Any]]) -> ChainReport:
    """Walk the entries in id order and check every seal and every link."""
    report = ChainReport()
    prev_hash: str | None = None
    prev_id: int | None = None
    for row in rows:
        report.entries += 1
        entry_id = int(row["id"])
        stored = row["hash"]
        if stored is None:
            report.problems.append(f"entry {entry_id} is not sealed")
        elif not hmac.compare_digest(stored, seal(key, row["prev_hash"], row)):
            report.problems.append(
                f"entry {entry_id} does not match its seal: it was changed or inserted"
            )
        if row["prev_hash"] != prev_hash:
            if prev_id is not None and entry_id > prev_id + 1:
                gap = (
                    f"{prev_id + 1}" if entry_id == prev_id + 2 else f"{prev_id + 1}-{entry_id - 1}"
                )
                report.problems.append(f"entry {gap} was deleted (the chain breaks at {entry_id})")
            else:
                report.problems.append(
                    f"the chain breaks at entry {entry_id}: the entry before it was changed,"
                    " deleted or inserted"
                )
        prev_hash = stored
        prev_id = entry_id
    report.head = prev_hash
    return report
