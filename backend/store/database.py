"""The SQLite connection: WAL, busy timeout, numbered migrations applied at start."""

from __future__ import annotations

import asyncio
import functools
import re
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path

import aiosqlite

from backend.store.audit_chain import SEAL_FUNCTION, load_or_create_key, seal_backlog, seal_text

_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


class Database:
    """One aiosqlite connection per process; repositories share it."""

    def __init__(self, connection: aiosqlite.Connection, path: Path) -> None:
        self.connection = connection
        self.path = path
        self._write_lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: Path) -> Database:
        """Open (creating if needed) the database at `path` and bring its schema up to date."""
        path.parent.mkdir(parents=True, exist_ok=True)
        # The busy timeout comes first: switching a fresh file to WAL takes a lock that another
        # process opening it at the same moment must wait for, not fail on.
        connection = await aiosqlite.connect(path, isolation_level=None, timeout=10.0)
        connection.row_factory = aiosqlite.Row
        await connection.execute("PRAGMA busy_timeout=10000")
        await _switch_to_wal(connection)
        await asyncio.to_thread(_make_private, path)
        await connection.execute("PRAGMA foreign_keys=ON")
        await connection.execute("PRAGMA synchronous=NORMAL")
        key = await asyncio.to_thread(load_or_create_key, path)
        await connection.create_function(
            SEAL_FUNCTION, 2, functools.partial(seal_text, key), deterministic=True
        )
        database = cls(connection, path)
        await database.migrate()
        async with database.transaction() as conn:
            await seal_backlog(conn)
        return database

    async def close(self) -> None:
        """Close the connection."""
        await self.connection.close()

    async def schema_version(self) -> int:
        """The number of the last migration applied."""
        async with self.connection.execute("PRAGMA user_version") as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

    async def migrate(self) -> list[int]:
        """Apply the migrations newer than the schema version, each in one transaction."""
        applied: list[int] = []
        for number, sql in available_migrations():
            async with self._write_lock:
                await self.connection.execute("BEGIN IMMEDIATE")
                try:
                    # Another process (api and worker starting together) may have applied it.
                    if number <= await self.schema_version():
                        await self.connection.execute("ROLLBACK")
                        continue
                    for statement in split_statements(sql):
                        await self.connection.execute(statement)
                    await self.connection.execute(f"PRAGMA user_version = {number}")
                    await self.connection.execute("COMMIT")
                except BaseException:
                    await self._rollback()
                    raise
            applied.append(number)
        return applied

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """One write transaction (BEGIN IMMEDIATE): all of the block is committed, or none of it.

        Writers in this process take turns (the connection is shared); other processes wait on
        SQLite's busy timeout.
        """
        async with self._write_lock:
            await asyncio.shield(self.connection.execute("BEGIN IMMEDIATE"))
            try:
                yield self.connection
            except BaseException:
                # Shielded: a cancelled caller must not leave the shared connection mid-transaction.
                await asyncio.shield(self._rollback())
                raise
            else:
                try:
                    await asyncio.shield(self.connection.execute("COMMIT"))
                except BaseException:
                    await asyncio.shield(self._rollback())
                    raise

    @asynccontextmanager
    async def snapshot(self) -> AsyncIterator[aiosqlite.Connection]:
        """One read transaction: every read in the block sees the same committed state (no
        write of this process lands in between; other processes' writes after it began are
        not seen)."""
        async with self._write_lock:
            await asyncio.shield(self.connection.execute("BEGIN"))
            try:
                yield self.connection
            finally:
                await asyncio.shield(self._rollback())

    async def _rollback(self) -> None:
        if self.connection.in_transaction:
            await self.connection.execute("ROLLBACK")


def _make_private(path: Path) -> None:
    """The database and its WAL files readable by their owner only (whatever the umask was)."""
    for candidate in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        try:
            if candidate.stat().st_mode & 0o077:
                candidate.chmod(0o600)
        except FileNotFoundError:
            continue


async def _switch_to_wal(connection: aiosqlite.Connection, attempts: int = 50) -> None:
    """WAL mode; another process switching the same fresh file at the same moment can make
    SQLite answer "locked" at once (no busy wait), so a few short retries."""
    for attempt in range(attempts):
        try:
            await connection.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as err:
            if "locked" not in str(err) or attempt == attempts - 1:
                raise
            await asyncio.sleep(0.05)


def split_statements(script: str) -> list[str]:
    """The complete SQL statements of a script (trigger bodies with inner `;` stay whole)."""
    statements: list[str] = []
    current = ""
    for line in script.splitlines(keepends=True):
        if not current and line.strip().startswith("--"):
            continue
        current += line
        if sqlite3.complete_statement(current):
            statements.append(current.strip())
            current = ""
    if current.strip():
        raise ValueError(f"incomplete SQL statement in migration: {current.strip()[:60]}")
    return statements


def available_migrations() -> list[tuple[int, str]]:
    """The `NNNN_name.sql` files shipped in `backend/store/migrations`, in order."""
    found: list[tuple[int, str]] = []
    for entry in resources.files("backend.store.migrations").iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append((int(match.group(1)), entry.read_text()))
    return sorted(found)
