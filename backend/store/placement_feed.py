"""Reading placement out: the per-host feed (the spec's HTTP endpoint approach), the change log as
a resumable stream, the change processor's per-host messages, and the end-to-end status of every
assignment (committed → event sent → deployed)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import aiosqlite

from backend.domains.placement.model import (
    Assignment,
    AssignmentState,
    Change,
    ChangePage,
    DeployedAnswer,
    DeployedReport,
    DeploymentView,
    FeedDeployment,
    FeedTombstone,
    HostEvent,
    HostEventOp,
    HostEventPage,
    HostFeed,
    HostRow,
    HostRows,
    HostView,
    matches,
)
from backend.domains.placement.render import render
from backend.store.clock import from_text, to_text, utc_now
from backend.store.database import Database
from backend.store.placement import head_seq, live_row, record_of

PROCESSOR = "placement"
"""The change processor that renders changes and sends them to the hosts' topics."""

_LIVE_RENDERING = (
    "SELECT a.id AS assignment_id, a.host, a.deployment, a.assigned_seq, a.assigned_at,"
    " a.deployed_revision, a.deployed_at, d.workload, d.template, d.target,"
    ' d."values" AS deployment_values, d.replicas, d.updated_seq AS d_seq, w.repo,'
    " w.updated_seq AS w_seq, t.body, t.updated_seq AS t_seq,"
    " MAX(a.assigned_seq, d.updated_seq, w.updated_seq, t.updated_seq) AS revision"
    " FROM placement_assignments a"
    " JOIN placement_deployments d ON d.name = a.deployment AND d.deleted_at IS NULL"
    " JOIN placement_workloads w ON w.name = d.workload AND w.deleted_at IS NULL"
    " JOIN placement_templates t ON t.name = d.template AND t.deleted_at IS NULL"
    " WHERE a.removed_seq IS NULL"
)
"""Every live assignment with what its rendering needs and its revision (the newest change of
its deployment, workload, template or placement)."""


class FeedError(Exception):
    """A feed request that cannot be answered as asked (a bookmark from the future)."""


class UnknownHost(FeedError):
    """No host of that name ever existed."""


def rendered(row: aiosqlite.Row) -> FeedDeployment:
    """A live assignment's row, rendered for its host."""
    values: dict[str, str] = json.loads(row["deployment_values"])
    replicas = row["replicas"]
    built_ins = {
        "deployment": row["deployment"],
        "workload": row["workload"],
        "repo": row["repo"],
        "template": row["template"],
        "target": row["target"],
        "host": row["host"],
        "replicas": "" if replicas is None else str(replicas),
    }
    return FeedDeployment(
        deployment=row["deployment"],
        workload=row["workload"],
        repo=row["repo"],
        template=row["template"],
        target=row["target"],
        values=values,
        replicas=replicas,
        revision=int(row["revision"]),
        rendered=render(row["body"], values, built_ins),
    )


class PlacementFeed:
    """Read side of placement."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def head(self) -> int:
        """The newest change's sequence number."""
        return await head_seq(self._db.connection)

    async def seq_at(self, moment: str) -> int:
        """The newest change at or before the ISO time `moment` (0: none)."""
        async with self._db.connection.execute(
            "SELECT MAX(seq) FROM placement_changes WHERE at <= ?", (moment,)
        ) as cur:
            row = await cur.fetchone()
        return int(row[0] or 0) if row else 0

    async def host_feed(self, host: str, since: int) -> HostFeed:
        """Every deployment on `host` whose deployment, workload, template or placement changed
        after `since`, rendered, plus tombstones for those removed from it since; one snapshot."""
        async with self._db.snapshot() as conn:
            head = await head_seq(conn)
            if since > head:
                raise FeedError(
                    f"bookmark {since} is past the newest change ({head}); start again from 0"
                )
            live = await live_row(conn, "host", host)
            if live is None and not await _ever_existed(conn, host):
                raise UnknownHost(f"no host named {host}")
            async with conn.execute(
                f"{_LIVE_RENDERING} AND a.host = ? AND (a.assigned_seq > ? OR d.updated_seq > ?"
                " OR w.updated_seq > ? OR t.updated_seq > ?) ORDER BY a.deployment",
                (host, since, since, since, since),
            ) as cur:
                upserts = [rendered(row) for row in await cur.fetchall()]
            async with conn.execute(
                "SELECT a.deployment, MAX(a.removed_seq) AS removed FROM placement_assignments a"
                " WHERE a.host = ? AND a.removed_seq > ? AND NOT EXISTS (SELECT 1 FROM"
                " placement_assignments b WHERE b.host = a.host AND b.deployment = a.deployment"
                " AND b.removed_seq IS NULL) GROUP BY a.deployment ORDER BY a.deployment",
                (host, since),
            ) as cur:
                tombstones = [
                    FeedTombstone(deployment=row["deployment"], revision=int(row["removed"]))
                    for row in await cur.fetchall()
                ]
        return HostFeed(
            host=host,
            since=since,
            bookmark=head,
            host_deleted=live is None,
            deployments=upserts,
            tombstones=tombstones,
        )

    async def changes(self, after: int, *, limit: int = 500) -> ChangePage:
        """The change log after `after`, oldest first."""
        conn = self._db.connection
        async with conn.execute(
            "SELECT * FROM placement_changes WHERE seq > ? ORDER BY seq LIMIT ?", (after, limit)
        ) as cur:
            rows = await cur.fetchall()
        items = [
            Change(
                seq=row["seq"],
                at=from_text(row["at"]),
                actor=row["actor"],
                noun=row["noun"],
                name=row["name"],
                op=row["op"],
                before=json.loads(row["before"]) if row["before"] else None,
                after=json.loads(row["after"]) if row["after"] else None,
            )
            for row in rows
        ]
        return ChangePage(
            items=items,
            next_after=items[-1].seq if items else after,
            head=await head_seq(conn),
        )

    async def host_events(self, host: str, after: int, *, limit: int = 500) -> HostEventPage:
        """The processor's messages for `host` after `after`, oldest first."""
        conn = self._db.connection
        async with conn.execute(
            "SELECT * FROM placement_host_events WHERE host = ? AND seq > ? ORDER BY seq LIMIT ?",
            (host, after, limit),
        ) as cur:
            rows = await cur.fetchall()
        items = [
            HostEvent(
                seq=row["seq"],
                host=row["host"],
                deployment=row["deployment"],
                op=row["op"],
                revision=row["revision"],
                change_seq=row["change_seq"],
                at=from_text(row["at"]),
                rendered=row["rendered"],
            )
            for row in rows
        ]
        async with conn.execute("SELECT MAX(seq) FROM placement_host_events") as cur:
            top = await cur.fetchone()
        return HostEventPage(
            items=items,
            next_after=items[-1].seq if items else after,
            head=int(top[0] or 0) if top else 0,
        )

    # -- the change processor ----------------------------------------------------------------

    async def process(self, after: int, *, limit: int = 200) -> ProcessedBatch:
        """Send the changes after `after` (up to `limit`) to the topics of the hosts they reach,
        rendered, and move the processor's bookmark; at least once and idempotent (a message is
        keyed by change, host and deployment)."""
        sent = 0
        async with self._db.transaction() as conn:
            async with conn.execute(
                "SELECT seq, noun, name, op, at FROM placement_changes WHERE seq > ?"
                " ORDER BY seq LIMIT ?",
                (after, limit),
            ) as cur:
                changes = list(await cur.fetchall())
            now = to_text(utc_now())
            for change in changes:
                sent += await _fan_out(conn, change, now or "")
            bookmark = int(changes[-1]["seq"]) if changes else after
            if changes:
                await conn.execute(
                    "INSERT INTO placement_bookmarks (processor, seq, at) VALUES (?, ?, ?)"
                    " ON CONFLICT (processor) DO UPDATE SET seq = MAX(seq, excluded.seq),"
                    " at = excluded.at",
                    (PROCESSOR, bookmark, now),
                )
            head = await head_seq(conn)
            async with conn.execute(
                "SELECT at FROM placement_changes WHERE seq > ? ORDER BY seq LIMIT 1", (bookmark,)
            ) as cur:
                oldest = await cur.fetchone()
        return ProcessedBatch(
            bookmark=bookmark,
            head=head,
            changes=len(changes),
            messages=sent,
            oldest_pending_at=oldest["at"] if oldest else None,
        )

    async def bookmark(self) -> int:
        """The change processor's bookmark (0 before its first batch)."""
        return await _bookmark(self._db.connection)

    # -- status ------------------------------------------------------------------------------

    async def report_deployed(self, host: str, report: DeployedReport) -> DeployedAnswer:
        """The host's agent runs these deployments at these revisions: mark its assignments
        deployed (a revision never goes back) and keep its bookmark."""
        marked = 0
        now = to_text(utc_now())
        async with self._db.transaction() as conn:
            if await live_row(conn, "host", host) is None:
                raise UnknownHost(f"no host named {host}")
            for deployment, revision in report.deployments.items():
                cursor = await conn.execute(
                    "UPDATE placement_assignments SET deployed_revision = ?, deployed_at = ?"
                    " WHERE host = ? AND deployment = ? AND removed_seq IS NULL"
                    " AND (deployed_revision IS NULL OR deployed_revision < ?)",
                    (revision, now, host, deployment, revision),
                )
                marked += cursor.rowcount
            await conn.execute(
                "INSERT INTO placement_agents (host, bookmark, seen_at) VALUES (?, ?, ?)"
                " ON CONFLICT (host) DO UPDATE SET bookmark = excluded.bookmark,"
                " seen_at = excluded.seen_at",
                (host, report.bookmark, now),
            )
        return DeployedAnswer(host=host, deployed=marked)

    async def host_rows(self, *, limit: int = 200, offset: int = 0) -> HostRows:
        """A page of live hosts by name, each with its deployments, how many of those run their
        current revision, the newest change that reached it and its agent's last report."""
        async with self._db.snapshot() as conn:
            async with conn.execute(
                "SELECT h.*, g.bookmark AS agent_bookmark, g.seen_at AS agent_seen_at"
                " FROM placement_hosts h LEFT JOIN placement_agents g ON g.host = h.name"
                " WHERE h.deleted_at IS NULL ORDER BY h.name LIMIT ? OFFSET ?",
                (limit, offset),
            ) as cur:
                hosts = await cur.fetchall()
            async with conn.execute(
                "SELECT COUNT(*) FROM placement_hosts WHERE deleted_at IS NULL"
            ) as cur:
                count = await cur.fetchone()
            names = [row["name"] for row in hosts]
            stats = await _host_stats(conn, names)
            last = {
                name: max(int(row["updated_seq"]), stats[name].last_seq)
                for name, row in zip(names, hosts, strict=True)
            }
            described = await _describe(conn, set(last.values()))
            bookmark = await _bookmark(conn)
            head = await head_seq(conn)
        items = []
        for row in hosts:
            name = row["name"]
            seq = last[name]
            at, what = described.get(seq, (None, ""))
            items.append(
                HostRow(
                    name=name,
                    labels=json.loads(row["labels"]),
                    deployments=stats[name].deployments,
                    deployed=stats[name].deployed,
                    last_change_at=from_text(at),
                    last_change=what,
                    agent_bookmark=row["agent_bookmark"],
                    agent_seen_at=from_text(row["agent_seen_at"]),
                )
            )
        return HostRows(
            items=items, total=int(count[0]) if count else 0, processed=bookmark, head=head
        )

    async def host_view(self, host: str) -> HostView | None:
        """The live host and its assignments, with their end-to-end state."""
        async with self._db.snapshot() as conn:
            row = await live_row(conn, "host", host)
            if row is None:
                return None
            bookmark = await _bookmark(conn)
            async with conn.execute(
                f"{_LIVE_RENDERING} AND a.host = ? ORDER BY a.deployment", (host,)
            ) as cur:
                assignments = [_assignment(r, bookmark) for r in await cur.fetchall()]
            async with conn.execute(
                "SELECT * FROM placement_agents WHERE host = ?", (host,)
            ) as cur:
                agent = await cur.fetchone()
        return HostView(
            host=record_of("host", row),
            assignments=assignments,
            agent_bookmark=agent["bookmark"] if agent else None,
            agent_seen_at=from_text(agent["seen_at"]) if agent else None,
        )

    async def deployment_view(self, name: str) -> DeploymentView | None:
        """The live deployment, the hosts its target matches and its assignments' states."""
        async with self._db.snapshot() as conn:
            row = await live_row(conn, "deployment", name)
            if row is None:
                return None
            bookmark = await _bookmark(conn)
            async with conn.execute(
                f"{_LIVE_RENDERING} AND a.deployment = ? ORDER BY a.host", (name,)
            ) as cur:
                assignments = [_assignment(r, bookmark) for r in await cur.fetchall()]
            target = await live_row(conn, "target", row["target"])
            workload = await live_row(conn, "workload", row["workload"])
            rules: dict[str, str] = json.loads(target["labels"]) if target else {}
            async with conn.execute(
                "SELECT labels FROM placement_hosts WHERE deleted_at IS NULL"
            ) as cur:
                matching = sum(
                    1 for r in await cur.fetchall() if target and matches(rules, json.loads(r[0]))
                )
        return DeploymentView(
            deployment=record_of("deployment", row),
            matching_hosts=matching,
            assignments=assignments,
            repo=workload["repo"] if workload else None,
            target_labels=rules if target else None,
        )


@dataclass(frozen=True)
class ProcessedBatch:
    """What one batch of the change processor did."""

    bookmark: int
    head: int
    changes: int
    messages: int
    oldest_pending_at: str | None


@dataclass
class _HostStats:
    deployments: int = 0
    deployed: int = 0
    last_seq: int = 0


async def _host_stats(conn: aiosqlite.Connection, hosts: list[str]) -> dict[str, _HostStats]:
    stats = {host: _HostStats() for host in hosts}
    if not hosts:
        return stats
    marks = ", ".join("?" for _ in hosts)
    async with conn.execute(f"{_LIVE_RENDERING} AND a.host IN ({marks})", hosts) as cur:
        for row in await cur.fetchall():
            found = stats[row["host"]]
            found.deployments += 1
            revision = int(row["revision"])
            deployed = row["deployed_revision"]
            found.deployed += deployed is not None and deployed >= revision
            found.last_seq = max(found.last_seq, revision)
    async with conn.execute(
        f"SELECT host, MAX(removed_seq) AS removed FROM placement_assignments WHERE host IN"
        f" ({marks}) AND removed_seq IS NOT NULL GROUP BY host",
        hosts,
    ) as cur:
        for row in await cur.fetchall():
            stats[row["host"]].last_seq = max(stats[row["host"]].last_seq, int(row["removed"]))
    return stats


async def _describe(conn: aiosqlite.Connection, seqs: set[int]) -> dict[int, tuple[str, str]]:
    """Each change's time and `op noun name`."""
    wanted = sorted(seq for seq in seqs if seq)
    if not wanted:
        return {}
    async with conn.execute(
        "SELECT seq, at, op, noun, name FROM placement_changes WHERE seq IN"
        f" ({', '.join('?' for _ in wanted)})",
        wanted,
    ) as cur:
        return {
            int(row["seq"]): (row["at"], f"{row['op']} {row['noun']} {row['name']}")
            for row in await cur.fetchall()
        }


async def _bookmark(conn: aiosqlite.Connection) -> int:
    async with conn.execute(
        "SELECT seq FROM placement_bookmarks WHERE processor = ?", (PROCESSOR,)
    ) as cur:
        row = await cur.fetchone()
    return int(row["seq"]) if row else 0


async def _ever_existed(conn: aiosqlite.Connection, host: str) -> bool:
    async with conn.execute("SELECT 1 FROM placement_hosts WHERE name = ? LIMIT 1", (host,)) as cur:
        return await cur.fetchone() is not None


def _assignment(row: aiosqlite.Row, bookmark: int) -> Assignment:
    revision = int(row["revision"])
    deployed = row["deployed_revision"]
    if deployed is not None and deployed >= revision:
        state = AssignmentState.DEPLOYED
    elif bookmark >= revision:
        state = AssignmentState.EVENT_SENT
    else:
        state = AssignmentState.COMMITTED
    return Assignment(
        deployment=row["deployment"],
        host=row["host"],
        assigned_at=from_text(row["assigned_at"]),
        revision=revision,
        state=state,
        deployed_revision=deployed,
        deployed_at=from_text(row["deployed_at"]),
    )


async def _fan_out(conn: aiosqlite.Connection, change: aiosqlite.Row, now: str) -> int:
    """Write the host messages one change causes: an update (rendered) for every assignment it
    made or whose rendering it changed, a delete for every assignment it ended."""
    seq = int(change["seq"])
    noun, name, op = change["noun"], change["name"], change["op"]
    messages: list[tuple[Any, ...]] = []
    async with conn.execute(
        "SELECT host, deployment FROM placement_assignments WHERE removed_seq = ?", (seq,)
    ) as cur:
        for row in await cur.fetchall():
            messages.append((row["host"], row["deployment"], HostEventOp.DELETE.value, seq, None))
    where = None
    args: tuple[Any, ...] = ()
    if op == "update" and noun in ("deployment", "workload", "template"):
        column = "a.deployment" if noun == "deployment" else f"d.{noun}"
        where, args = f"{column} = ?", (name,)
    if where is None:
        where, args = "a.assigned_seq = ?", (seq,)
    else:
        where, args = f"({where} OR a.assigned_seq = ?)", (*args, seq)
    async with conn.execute(f"{_LIVE_RENDERING} AND {where}", args) as cur:
        for row in await cur.fetchall():
            feed = rendered(row)
            messages.append(
                (
                    row["host"],
                    row["deployment"],
                    HostEventOp.UPDATE.value,
                    feed.revision,
                    feed.rendered,
                )
            )
    written = 0
    for host, deployment, event_op, revision, text in messages:
        cursor = await conn.execute(
            "INSERT INTO placement_host_events (host, deployment, op, revision, change_seq, at,"
            " rendered) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (change_seq, host, deployment)"
            " DO NOTHING",
            (host, deployment, event_op, revision, seq, now, text),
        )
        written += cursor.rowcount
    return written
