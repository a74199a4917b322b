"""Hosts and placement in SQLite: the nouns, the change log and the assignments.

"Life of change" (specs/titan-placement-architecture.md): every create, update and delete is
validated, committed with its change-log entry, its assignments and its audit entry in one
transaction (all of it, or none). Rows are soft-deleted (`deleted_at`), so the per-host feed
(`placement_feed`) can hand out tombstones.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import aiosqlite
from pydantic import ValidationError

from backend.domain.audit import AuditOutcome
from backend.domains.placement.model import (
    BODIES,
    RECORDS,
    ChangeOp,
    DeploymentPatch,
    Noun,
    matches,
)
from backend.domains.placement.render import TemplateError, check_values, placeholders
from backend.store.audit import AuditRepository, NewAuditEntry
from backend.store.clock import from_text, to_text, utc_now
from backend.store.database import Database

TABLES: dict[str, str] = {
    "host": "placement_hosts",
    "workload": "placement_workloads",
    "template": "placement_templates",
    "target": "placement_targets",
    "deployment": "placement_deployments",
}
_COLUMNS: dict[str, tuple[str, ...]] = {
    "host": ("labels",),
    "workload": ("repo",),
    "template": ("body",),
    "target": ("labels",),
    "deployment": ("workload", "template", "target", "values", "replicas"),
}
_JSON_COLUMNS = frozenset({"labels", "values"})
_REFERENCES = ("workload", "template", "target")
"""The nouns a deployment names."""


class PlacementError(Exception):
    """A refusal with a readable message; nothing was changed."""


class NotFoundError(PlacementError):
    """No live noun has that name."""


class NameTaken(PlacementError):
    """A live noun of that kind already has that name."""


class InUse(PlacementError):
    """The noun is named by live deployments, so it cannot go (or change that way)."""


class Invalid(PlacementError):
    """The change names something missing, or its template cannot be rendered with it."""


@dataclass(frozen=True)
class Written:
    """A committed change: its sequence number and the noun as it is now (None: deleted)."""

    seq: int
    record: Any


def _quoted(column: str) -> str:
    return f'"{column}"'


def _stored(noun: str, row: aiosqlite.Row) -> dict[str, Any]:
    """A noun's fields from its row (JSON columns decoded)."""
    fields: dict[str, Any] = {"name": row["name"]}
    for column in _COLUMNS[noun]:
        value = row[column]
        fields[column] = json.loads(value) if column in _JSON_COLUMNS else value
    return fields


def record_of(noun: str, row: aiosqlite.Row) -> Any:
    """The noun's record model from its row."""
    fields = _stored(noun, row)
    if noun == "template":
        fields["placeholders"] = placeholders(fields["body"])
    return RECORDS[noun].model_validate(
        {
            **fields,
            "created_at": from_text(row["created_at"]),
            "updated_at": from_text(row["updated_at"]),
            "revision": row["deleted_seq"] or row["updated_seq"],
            "deleted_at": from_text(row["deleted_at"]),
        }
    )


async def live_row(conn: aiosqlite.Connection, noun: str, name: str) -> aiosqlite.Row | None:
    """The live row of `noun` called `name`, if any."""
    async with conn.execute(
        f"SELECT * FROM {TABLES[noun]} WHERE name = ? AND deleted_at IS NULL", (name,)
    ) as cur:
        return await cur.fetchone()


async def head_seq(conn: aiosqlite.Connection) -> int:
    """The newest change's sequence number (0 before the first)."""
    async with conn.execute("SELECT MAX(seq) FROM placement_changes") as cur:
        row = await cur.fetchone()
    return int(row[0] or 0) if row else 0


class PlacementStore:
    """Create, update, delete and read the placement nouns."""

    def __init__(self, database: Database) -> None:
        self._db = database

    # -- reads -------------------------------------------------------------------------------

    async def get(self, noun: Noun, name: str) -> Any | None:
        """The live `noun` called `name`, if any."""
        row = await live_row(self._db.connection, noun, name)
        return record_of(noun, row) if row else None

    async def list(
        self, noun: Noun, *, limit: int = 200, offset: int = 0, deleted: bool = False
    ) -> tuple[list[Any], int]:
        """A page of the live nouns by name (or, `deleted`, the deleted ones, newest first),
        and how many there are."""
        where = "deleted_at IS NOT NULL" if deleted else "deleted_at IS NULL"
        order = "deleted_seq DESC" if deleted else "name"
        conn = self._db.connection
        async with conn.execute(
            f"SELECT * FROM {TABLES[noun]} WHERE {where} ORDER BY {order} LIMIT ? OFFSET ?",
            (limit, offset),
        ) as cur:
            rows = await cur.fetchall()
        async with conn.execute(f"SELECT COUNT(*) FROM {TABLES[noun]} WHERE {where}") as cur:
            count = await cur.fetchone()
        return [record_of(noun, row) for row in rows], int(count[0]) if count else 0

    # -- writes ------------------------------------------------------------------------------

    async def create(self, noun: Noun, body: Any, *, actor: str) -> Written:
        """Create a noun: NameTaken when a live one has the name, Invalid when it names what
        does not exist or its values do not fill its template."""
        fields = body.model_dump(mode="json")
        name = fields["name"]
        async with self._db.transaction() as conn:
            if await live_row(conn, noun, name) is not None:
                raise NameTaken(f"{noun} {name} exists")
            await _validate(conn, noun, fields)
            seq, now = await _log(conn, actor, noun, name, ChangeOp.CREATE, None, fields)
            columns = ("name", *_COLUMNS[noun])
            try:
                await conn.execute(
                    f"INSERT INTO {TABLES[noun]} ({', '.join(map(_quoted, columns))},"
                    " created_at, updated_at, updated_seq)"
                    f" VALUES ({', '.join('?' for _ in columns)}, ?, ?, ?)",
                    (*(_column_value(c, fields[c]) for c in columns), now, now, seq),
                )
            except sqlite3.IntegrityError:
                raise NameTaken(f"{noun} {name} exists") from None
            await _place_after(conn, noun, name, seq, now)
            await _audit(conn, actor, noun, name, ChangeOp.CREATE, seq, fields)
            row = await live_row(conn, noun, name)
        assert row is not None
        return Written(seq, record_of(noun, row))

    async def update(
        self, noun: Noun, name: str, changes: dict[str, Any], *, actor: str
    ) -> Written:
        """Replace the given fields of a live noun (its name stays); NotFoundError, Invalid, or
        InUse (a template change that a deployment's values cannot fill). A change that changes
        nothing is not logged."""
        async with self._db.transaction() as conn:
            row = await live_row(conn, noun, name)
            if row is None:
                raise NotFoundError(f"no {noun} named {name}")
            before = _stored(noun, row)
            try:
                body = BODIES[noun].model_validate({**before, **changes})
            except ValidationError as err:
                raise Invalid(f"{noun} {name}: {_first_error(err)}") from None
            after = body.model_dump(mode="json")
            if after == before:
                return Written(int(row["updated_seq"]), record_of(noun, row))
            await _validate(conn, noun, after)
            if noun == "template":
                await _refuse_unfillable(conn, name, after["body"])
            seq, now = await _log(conn, actor, noun, name, ChangeOp.UPDATE, before, after)
            columns = _COLUMNS[noun]
            await conn.execute(
                f"UPDATE {TABLES[noun]} SET {', '.join(f'{_quoted(c)} = ?' for c in columns)},"
                " updated_at = ?, updated_seq = ? WHERE id = ?",
                (*(_column_value(c, after[c]) for c in columns), now, seq, row["id"]),
            )
            await _place_after(conn, noun, name, seq, now)
            await _audit(conn, actor, noun, name, ChangeOp.UPDATE, seq, after, before)
            row = await live_row(conn, noun, name)
        assert row is not None
        return Written(seq, record_of(noun, row))

    async def patch_deployment(self, name: str, patch: DeploymentPatch, *, actor: str) -> Written:
        """Update a deployment with the fields the patch sets (`replicas` too when given as
        null)."""
        return await self.update(
            "deployment", name, patch.model_dump(exclude_unset=True), actor=actor
        )

    async def delete(self, noun: Noun, name: str, *, actor: str) -> Written:
        """Soft-delete a live noun; NotFoundError, or InUse while live deployments name it."""
        async with self._db.transaction() as conn:
            row = await live_row(conn, noun, name)
            if row is None:
                raise NotFoundError(f"no {noun} named {name}")
            if noun in _REFERENCES:
                users = await _deployments_naming(conn, noun, name)
                if users:
                    raise InUse(
                        f"{noun} {name} is used by deployment{'s' if len(users) > 1 else ''}"
                        f" {', '.join(users[:5])}{' …' if len(users) > 5 else ''};"
                        " delete or change those first"
                    )
            before = _stored(noun, row)
            seq, now = await _log(conn, actor, noun, name, ChangeOp.DELETE, before, None)
            await conn.execute(
                f"UPDATE {TABLES[noun]} SET deleted_at = ?, deleted_seq = ? WHERE id = ?",
                (now, seq, row["id"]),
            )
            await _place_after(conn, noun, name, seq, now)
            await _audit(conn, actor, noun, name, ChangeOp.DELETE, seq, None, before)
            async with conn.execute(
                f"SELECT * FROM {TABLES[noun]} WHERE id = ?", (row["id"],)
            ) as cur:
                gone = await cur.fetchone()
        assert gone is not None
        return Written(seq, record_of(noun, gone))


def _first_error(err: ValidationError) -> str:
    first = err.errors()[0]
    where = ".".join(str(part) for part in first["loc"])
    return f"{where}: {first['msg']}" if where else str(first["msg"])


def _column_value(column: str, value: Any) -> Any:
    return json.dumps(value, sort_keys=True) if column in _JSON_COLUMNS else value


async def _log(
    conn: aiosqlite.Connection,
    actor: str,
    noun: str,
    name: str,
    op: ChangeOp,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> tuple[int, str]:
    """Append the change to the change log; its sequence number and time."""
    now = to_text(utc_now())
    assert now is not None
    cursor = await conn.execute(
        "INSERT INTO placement_changes (at, actor, noun, name, op, before, after)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            now,
            actor,
            noun,
            name,
            op.value,
            None if before is None else json.dumps(before, sort_keys=True),
            None if after is None else json.dumps(after, sort_keys=True),
        ),
    )
    assert cursor.lastrowid is not None
    return int(cursor.lastrowid), now


_AUDIT_DONE = {ChangeOp.CREATE: "created", ChangeOp.UPDATE: "updated", ChangeOp.DELETE: "deleted"}


async def _audit(
    conn: aiosqlite.Connection,
    actor: str,
    noun: str,
    name: str,
    op: ChangeOp,
    seq: int,
    after: dict[str, Any] | None,
    before: dict[str, Any] | None = None,
) -> None:
    details: dict[str, Any] = {"change": seq}
    if after is not None:
        details["after"] = after
    if before is not None:
        details["before"] = before
    await AuditRepository.insert(
        conn,
        NewAuditEntry(
            actor=actor,
            action=f"{noun}.{op.value}",
            target_kind=noun,
            target_id=name,
            outcome=AuditOutcome.ACCEPTED,
            message=f"{noun} {name} {_AUDIT_DONE[op]} (change #{seq})",
            details=details,
        ),
    )


async def _validate(conn: aiosqlite.Connection, noun: str, fields: dict[str, Any]) -> None:
    """Invalid when a template's text or a deployment's references and values are unusable."""
    try:
        if noun == "template":
            placeholders(fields["body"])
        elif noun == "deployment":
            for reference in _REFERENCES:
                if await live_row(conn, reference, fields[reference]) is None:
                    raise Invalid(f"no {reference} named {fields[reference]}")
            template = await live_row(conn, "template", fields["template"])
            assert template is not None
            check_values(placeholders(template["body"]), fields["values"], fields["template"])
    except TemplateError as err:
        raise Invalid(f"{noun} {fields['name']}: {err}") from None


async def _refuse_unfillable(conn: aiosqlite.Connection, template: str, body: str) -> None:
    """InUse when a live deployment of the template lacks a value the new text needs."""
    names = placeholders(body)
    async with conn.execute(
        'SELECT name, "values" FROM placement_deployments WHERE template = ? AND deleted_at IS NULL',
        (template,),
    ) as cur:
        rows = await cur.fetchall()
    for row in rows:
        try:
            check_values(names, json.loads(row["values"]), template)
        except TemplateError as err:
            raise InUse(f"deployment {row['name']}: {err}; give it those values first") from None


async def _deployments_naming(conn: aiosqlite.Connection, noun: str, name: str) -> list[str]:
    async with conn.execute(
        f"SELECT name FROM placement_deployments WHERE {noun} = ? AND deleted_at IS NULL"
        " ORDER BY name",
        (name,),
    ) as cur:
        return [row["name"] for row in await cur.fetchall()]


# -- placement ---------------------------------------------------------------------------------


async def _place_after(
    conn: aiosqlite.Connection, noun: str, name: str, seq: int, now: str
) -> None:
    """Bring the assignments up to date with a change of `noun` `name`."""
    if noun == "deployment":
        await place(conn, [name], seq, now)
    elif noun == "target":
        await place(conn, await _deployments_naming(conn, "target", name), seq, now)
    elif noun == "host":
        await place(conn, await _deployments_touching_host(conn, name), seq, now)


async def _deployments_touching_host(conn: aiosqlite.Connection, host: str) -> list[str]:
    """Deployments the host's change may move: those whose target matches it now, and those
    it runs."""
    row = await live_row(conn, "host", host)
    labels: dict[str, str] = json.loads(row["labels"]) if row else {}
    async with conn.execute(
        "SELECT name, labels FROM placement_targets WHERE deleted_at IS NULL"
    ) as cur:
        targets = [
            r["name"] for r in await cur.fetchall() if matches(json.loads(r["labels"]), labels)
        ]
    names: set[str] = set()
    for chunk in _chunks(targets, 500):
        async with conn.execute(
            "SELECT name FROM placement_deployments WHERE deleted_at IS NULL AND target IN"
            f" ({', '.join('?' for _ in chunk)})",
            chunk,
        ) as cur:
            names.update(r["name"] for r in await cur.fetchall())
    async with conn.execute(
        "SELECT deployment FROM placement_assignments WHERE host = ? AND removed_seq IS NULL",
        (host,),
    ) as cur:
        names.update(r["deployment"] for r in await cur.fetchall())
    return sorted(names)


def _chunks(items: list[str], size: int) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


async def place(conn: aiosqlite.Connection, deployments: list[str], seq: int, now: str) -> None:
    """Assign each deployment to the hosts its target matches: all of them, or `replicas` of
    them. Replica-limited ones keep the hosts they have while those still match (an unrelated
    host appearing moves nothing) and fill up with the least loaded matching hosts.

    Set-based: the deployments, targets, hosts and current assignments are read in a few
    queries and the moves written in two batches, whatever the number of deployments."""
    if not deployments:
        return
    async with conn.execute(
        "SELECT name, labels FROM placement_hosts WHERE deleted_at IS NULL ORDER BY name"
    ) as cur:
        hosts = [(r["name"], json.loads(r["labels"])) for r in await cur.fetchall()]
    async with conn.execute(
        "SELECT name, labels FROM placement_targets WHERE deleted_at IS NULL"
    ) as cur:
        targets = {r["name"]: json.loads(r["labels"]) for r in await cur.fetchall()}
    live: dict[str, tuple[str, int | None]] = {}
    current: dict[str, list[str]] = {name: [] for name in deployments}
    for chunk in _chunks(list(dict.fromkeys(deployments)), 500):
        marks = ", ".join("?" for _ in chunk)
        async with conn.execute(
            "SELECT name, target, replicas FROM placement_deployments WHERE deleted_at IS NULL"
            f" AND name IN ({marks})",
            chunk,
        ) as cur:
            live.update((r["name"], (r["target"], r["replicas"])) for r in await cur.fetchall())
        async with conn.execute(
            "SELECT deployment, host FROM placement_assignments WHERE removed_seq IS NULL"
            f" AND deployment IN ({marks}) ORDER BY assigned_seq, id",
            chunk,
        ) as cur:
            for r in await cur.fetchall():
                current[r["deployment"]].append(r["host"])
    matching_of: dict[str, list[str]] = {}
    load: dict[str, int] | None = None
    removed: list[tuple[int, str, str]] = []
    added: list[tuple[str, str, int, str]] = []
    for name in deployments:
        had = current[name]
        desired: list[str] = []
        if name in live:
            target, replicas = live[name]
            if target not in matching_of:
                rules = targets.get(target)
                matching_of[target] = [
                    host for host, labels in hosts if rules is not None and matches(rules, labels)
                ]
            matching = matching_of[target]
            if replicas is None:
                desired = matching
            else:
                still = set(matching)
                desired = [host for host in had if host in still][:replicas]
                if len(desired) < replicas:
                    if load is None:
                        load = await _load(conn)
                        # The moves of this batch are not written yet: count them too.
                        for _, _, host in removed:
                            load[host] = load.get(host, 1) - 1
                        for _, host, _, _ in added:
                            load[host] = load.get(host, 0) + 1
                    counts = load
                    taken = set(desired)
                    spare = sorted(
                        (host for host in matching if host not in taken),
                        key=lambda host: (counts.get(host, 0), host),
                    )
                    desired += spare[: replicas - len(desired)]
        wanted = set(desired)
        for host in had:
            if host not in wanted:
                removed.append((seq, name, host))
                if load is not None:
                    load[host] = load.get(host, 1) - 1
        before = set(had)
        for host in desired:
            if host not in before:
                added.append((name, host, seq, now))
                if load is not None:
                    load[host] = load.get(host, 0) + 1
        current[name] = desired
    await conn.executemany(
        "UPDATE placement_assignments SET removed_seq = ? WHERE deployment = ? AND host = ?"
        " AND removed_seq IS NULL",
        removed,
    )
    await conn.executemany(
        "INSERT INTO placement_assignments (deployment, host, assigned_seq, assigned_at)"
        " VALUES (?, ?, ?, ?)",
        added,
    )


async def _load(conn: aiosqlite.Connection) -> dict[str, int]:
    """Live assignments per host."""
    async with conn.execute(
        "SELECT host, COUNT(*) AS n FROM placement_assignments WHERE removed_seq IS NULL"
        " GROUP BY host"
    ) as cur:
        return {r["host"]: int(r["n"]) for r in await cur.fetchall()}
