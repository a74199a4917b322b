"""TAC worker registrations: which worker DIG runs the worker a task queue needs, under a DIG's
TAC intent; and the lookup a TAC hook makes before it runs its workflows."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiosqlite

from backend.domains.digs.model import DIG_KIND, DigApp
from backend.domains.tac.lookup import WorkerDig, WorkerLookup, WorkerLookupRequest
from backend.domains.tac.registrations import (
    NOT_FOUND,
    RegistrationPath,
    RegistrationStatus,
    WorkerMetadata,
    WorkerRegistration,
    WorkerRegistrationBody,
    WorkerRow,
    WorkerSpec,
)
from backend.store.audit import AuditRepository, NewAuditEntry
from backend.store.clock import from_text, to_text, utc_now
from backend.store.database import Database


class DuplicateRegistration(Exception):
    """A registration with this name exists under this DIG's TAC intent."""


class QueueTaken(Exception):
    """Another registration under this DIG's TAC intent has this task queue (a hook must find
    one worker DIG per queue); the message names it."""


@dataclass(frozen=True)
class RegistrationRecord:
    """One row of the worker_registrations table."""

    path: RegistrationPath
    name: str
    description: str
    task_queue: str
    worker_project: str
    worker_composite_app: str
    worker_version: str
    worker_dig: str
    requested_by: str
    created_at: datetime
    updated_at: datetime

    @property
    def target_id(self) -> str:
        """The registration's v2 path (its audit target id)."""
        return self.path.of(self.name)

    def body(self) -> WorkerRegistrationBody:
        """The registration as the body that makes it (EMCO's `metadata` and `spec`)."""
        return WorkerRegistrationBody(
            metadata=WorkerMetadata(name=self.name, description=self.description),
            spec=WorkerSpec(
                taskQueue=self.task_queue,
                dig=self.worker_dig,
                cApp=self.worker_composite_app,
                project=self.worker_project,
                cAppVersion=self.worker_version,
            ),
        )

    def registration(self) -> WorkerRegistration:
        """The registration as the v2 API returns it."""
        body = self.body()
        return WorkerRegistration(
            metadata=body.metadata,
            spec=body.spec,
            status=RegistrationStatus(
                createdAt=self.created_at,
                updatedAt=self.updated_at,
                requestedBy=self.requested_by,
            ),
        )


_PATH_WHERE = "project = ? AND composite_app = ? AND version = ? AND dig = ? AND tac_intent = ?"

_WORKER_DIG_JOIN = (
    "LEFT JOIN entities e ON e.kind = ? AND e.ended = 0 AND e.name = r.worker_dig"
    " AND json_extract(e.fields, '$.project') = r.worker_project"
    " AND json_extract(e.fields, '$.composite_app') = r.worker_composite_app"
    " AND json_extract(e.fields, '$.version') = r.worker_version"
)
"""The worker DIG a registration names: the active DIG entity with its name and EMCO path."""


def _path_args(path: RegistrationPath) -> tuple[str, str, str, str, str]:
    return (path.project, path.composite_app, path.version, path.dig, path.tac_intent)


class WorkerRegistrations:
    """Create, read, replace and delete registrations; writes may carry their audit entry,
    recorded in the same transaction (both happen, or neither)."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def create(
        self,
        path: RegistrationPath,
        body: WorkerRegistrationBody,
        *,
        requested_by: str,
        audit: NewAuditEntry | None = None,
    ) -> RegistrationRecord:
        """Record a registration; DuplicateRegistration when its name is taken under `path`,
        QueueTaken when its task queue is."""
        now = to_text(utc_now())
        spec = body.spec
        try:
            async with self._db.transaction() as conn:
                await _refuse_taken_queue(conn, path, spec.task_queue, body.metadata.name)
                await conn.execute(
                    "INSERT INTO worker_registrations (project, composite_app, version, dig,"
                    " tac_intent, name, description, task_queue, worker_project,"
                    " worker_composite_app, worker_version, worker_dig, requested_by,"
                    " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        *_path_args(path),
                        body.metadata.name,
                        body.metadata.description,
                        spec.task_queue,
                        spec.project,
                        spec.c_app,
                        spec.c_app_version,
                        spec.dig,
                        requested_by,
                        now,
                        now,
                    ),
                )
                if audit is not None:
                    await AuditRepository.insert(conn, audit)
        except sqlite3.IntegrityError as err:
            if "worker_registrations." in str(err):
                raise DuplicateRegistration(body.metadata.name) from None
            raise
        record = await self.get(path, body.metadata.name)
        assert record is not None
        return record

    async def get(self, path: RegistrationPath, name: str) -> RegistrationRecord | None:
        """The registration called `name` under `path`, if any."""
        async with self._db.connection.execute(
            f"SELECT * FROM worker_registrations WHERE {_PATH_WHERE} AND name = ?",
            (*_path_args(path), name),
        ) as cur:
            row = await cur.fetchone()
        return _record(row) if row else None

    async def update(
        self,
        path: RegistrationPath,
        body: WorkerRegistrationBody,
        *,
        audit: NewAuditEntry | None = None,
    ) -> RegistrationRecord | None:
        """Replace the description and spec of the registration `body` names (PUT); None when
        there is none. QueueTaken when another registration under `path` has the new queue."""
        spec = body.spec
        name = body.metadata.name
        async with self._db.transaction() as conn:
            await _refuse_taken_queue(conn, path, spec.task_queue, name)
            cursor = await conn.execute(
                "UPDATE worker_registrations SET description = ?, task_queue = ?,"
                " worker_project = ?, worker_composite_app = ?, worker_version = ?,"
                f" worker_dig = ?, updated_at = ? WHERE {_PATH_WHERE} AND name = ?",
                (
                    body.metadata.description,
                    spec.task_queue,
                    spec.project,
                    spec.c_app,
                    spec.c_app_version,
                    spec.dig,
                    to_text(utc_now()),
                    *_path_args(path),
                    name,
                ),
            )
            if cursor.rowcount == 0:
                return None
            if audit is not None:
                await AuditRepository.insert(conn, audit)
        return await self.get(path, name)

    async def delete(
        self, path: RegistrationPath, name: str, *, audit: NewAuditEntry | None = None
    ) -> bool:
        """Delete the registration; False when there was none."""
        async with self._db.transaction() as conn:
            cursor = await conn.execute(
                f"DELETE FROM worker_registrations WHERE {_PATH_WHERE} AND name = ?",
                (*_path_args(path), name),
            )
            if cursor.rowcount == 0:
                return False
            if audit is not None:
                await AuditRepository.insert(conn, audit)
        return True

    async def page(
        self, *, limit: int = 200, offset: int = 0
    ) -> tuple[list[RegistrationRecord], int]:
        """A page of every registration, newest first, and how many there are in all."""
        conn = self._db.connection
        async with conn.execute(
            "SELECT * FROM worker_registrations ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?",
            (limit, offset),
        ) as cur:
            rows = await cur.fetchall()
        return [_record(row) for row in rows], await self._count()

    async def workers(self, *, limit: int = 200, offset: int = 0) -> tuple[list[WorkerRow], int]:
        """A page of the Workers view, newest first, with each worker DIG's state (pollers are
        Temporal's to say: left None here), and the total."""
        async with self._db.connection.execute(
            "SELECT r.*, e.id AS dig_id, e.status AS dig_status FROM worker_registrations r"
            f" {_WORKER_DIG_JOIN} ORDER BY r.created_at DESC, r.id DESC LIMIT ? OFFSET ?",
            (DIG_KIND, limit, offset),
        ) as cur:
            rows = await cur.fetchall()
        return [_worker_row(row) for row in rows], await self._count()

    async def list(self, path: RegistrationPath) -> list[RegistrationRecord]:
        """Every registration under one DIG's TAC intent, by name."""
        async with self._db.connection.execute(
            f"SELECT * FROM worker_registrations WHERE {_PATH_WHERE} ORDER BY name",
            _path_args(path),
        ) as cur:
            rows = await cur.fetchall()
        return [_record(row) for row in rows]

    async def _count(self) -> int:
        async with self._db.connection.execute("SELECT COUNT(*) FROM worker_registrations") as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 0


async def lookup_worker(database: Database, request: WorkerLookupRequest) -> WorkerLookup:
    """The registration for the task queue under the hook's DIG and intent (none: the worker is
    not registered), and the active worker DIG it names (none: no such DIG)."""
    path = RegistrationPath(
        project=request.project,
        composite_app=request.composite_app,
        version=request.version,
        dig=request.dig,
        tac_intent=request.tac_intent,
    )
    conn = database.connection
    async with conn.execute(
        f"SELECT * FROM worker_registrations WHERE {_PATH_WHERE} AND task_queue = ?"
        " ORDER BY created_at, id LIMIT 1",
        (*_path_args(path), request.task_queue),
    ) as cur:
        row = await cur.fetchone()
    if row is None:
        return WorkerLookup(task_queue=request.task_queue)
    record = _record(row)
    async with conn.execute(
        "SELECT * FROM entities WHERE kind = ? AND ended = 0 AND name = ?"
        " AND json_extract(fields, '$.project') = ?"
        " AND json_extract(fields, '$.composite_app') = ?"
        " AND json_extract(fields, '$.version') = ?",
        (
            DIG_KIND,
            record.worker_dig,
            record.worker_project,
            record.worker_composite_app,
            record.worker_version,
        ),
    ) as cur:
        dig_row = await cur.fetchone()
    return WorkerLookup(
        task_queue=request.task_queue,
        registration=record.name,
        worker_dig=record.body().spec.worker_dig,
        dig=_worker_dig(dig_row) if dig_row else None,
    )


async def _refuse_taken_queue(
    conn: aiosqlite.Connection, path: RegistrationPath, task_queue: str, name: str
) -> None:
    """QueueTaken when a registration other than `name` under `path` has `task_queue`."""
    async with conn.execute(
        f"SELECT name FROM worker_registrations WHERE {_PATH_WHERE} AND task_queue = ?"
        " AND name != ? LIMIT 1",
        (*_path_args(path), task_queue, name),
    ) as cur:
        row = await cur.fetchone()
    if row is not None:
        raise QueueTaken(
            f"task queue {task_queue} is already registered here, by worker {row['name']}"
        )


def _record(row: aiosqlite.Row) -> RegistrationRecord:
    created_at = from_text(row["created_at"])
    updated_at = from_text(row["updated_at"])
    assert created_at is not None and updated_at is not None
    return RegistrationRecord(
        path=RegistrationPath(
            project=row["project"],
            composite_app=row["composite_app"],
            version=row["version"],
            dig=row["dig"],
            tac_intent=row["tac_intent"],
        ),
        name=row["name"],
        description=row["description"],
        task_queue=row["task_queue"],
        worker_project=row["worker_project"],
        worker_composite_app=row["worker_composite_app"],
        worker_version=row["worker_version"],
        worker_dig=row["worker_dig"],
        requested_by=row["requested_by"],
        created_at=created_at,
        updated_at=updated_at,
    )


def _worker_row(row: aiosqlite.Row) -> WorkerRow:
    record = _record(row)
    return WorkerRow(
        **record.path.model_dump(),
        name=record.name,
        description=record.description,
        task_queue=record.task_queue,
        worker_project=record.worker_project,
        worker_composite_app=record.worker_composite_app,
        worker_version=record.worker_version,
        worker_dig=record.worker_dig,
        worker_dig_id=row["dig_id"],
        dig_status=row["dig_status"] or NOT_FOUND,
        created_at=record.created_at,
    )


def _worker_dig(row: aiosqlite.Row) -> WorkerDig:
    fields: dict[str, Any] = dict(json.loads(row["fields"] or "{}"))
    return WorkerDig(
        id=row["id"],
        name=row["name"],
        project=str(fields.get("project", "")),
        composite_app=str(fields.get("composite_app", "")),
        version=str(fields.get("version", "")),
        status=row["status"],
        ready=bool(fields.get("ready", False)),
        workflow_id=row["workflow_id"],
        apps=[DigApp.model_validate(app) for app in fields.get("apps", [])],
    )
