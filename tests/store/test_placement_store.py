"""The placement store's rules, one example each: live names are unique (and free again after a
delete), nouns in use cannot go, deployments and templates must render, every write is one change
and one audit entry in one transaction (a refused one neither), the change log is ordered and
resumable, the change processor is idempotent, a host's report marks assignments deployed (never
backwards), and the per-host feed's edges (a bookmark from the future, an unknown host, a deleted
host)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from backend.domains.placement.model import (
    AssignmentState,
    ChangeOp,
    DeployedReport,
    DeploymentBody,
    HostBody,
    HostEventOp,
    TargetBody,
    TemplateBody,
    WorkloadBody,
)
from backend.domains.placement.render import TemplateError, placeholders
from backend.store.audit import AuditRepository
from backend.store.database import Database
from backend.store.placement import InUse, Invalid, NameTaken, NotFoundError, PlacementStore
from backend.store.placement_feed import FeedError, PlacementFeed, UnknownHost

TEMPLATE = "app: ${deployment}\nimage: ${repo}\nhost: ${host}\nport: ${port}\n"


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(tmp_path / "placement.db")
    yield database
    await database.close()


@pytest.fixture
def store(db: Database) -> PlacementStore:
    return PlacementStore(db)


@pytest.fixture
def feed(db: Database) -> PlacementFeed:
    return PlacementFeed(db)


async def _count(db: Database, table: str) -> int:
    async with db.connection.execute(f"SELECT COUNT(*) FROM {table}") as cur:
        row = await cur.fetchone()
    assert row is not None
    return int(row[0])


async def _walk(store: PlacementStore, *, port: str = "8080") -> None:
    """The spec's walk: two hosts, a template, a workload, a target, a deployment on one host."""
    await store.create("host", HostBody(name="tim-pi", labels={"name": "tim-pi"}), actor="al")
    await store.create("host", HostBody(name="edge-2", labels={"name": "edge-2"}), actor="al")
    await store.create("template", TemplateBody(name="device-service", body=TEMPLATE), actor="al")
    await store.create(
        "workload",
        WorkloadBody(name="temperature-sensor", repo="https://example.test/temp"),
        actor="al",
    )
    await store.create("target", TargetBody(name="tim-pi", labels={"name": "tim-pi"}), actor="al")
    await store.create("deployment", _deployment("prod", port=port), actor="al")


def _deployment(name: str, *, port: str | None = "8080", **fields: Any) -> DeploymentBody:
    values = {} if port is None else {"port": port}
    return DeploymentBody.model_validate(
        {
            "name": name,
            "workload": "temperature-sensor",
            "template": "device-service",
            "target": "tim-pi",
            "values": values,
            **fields,
        }
    )


# -- names -------------------------------------------------------------------------------------


async def test_a_name_is_unique_among_live_rows_and_free_again_after_a_delete(
    store: PlacementStore, feed: PlacementFeed, db: Database
) -> None:
    first = await store.create("host", HostBody(name="h1", labels={"a": "1"}), actor="al")
    head = await feed.head()
    with pytest.raises(NameTaken, match="host h1 exists"):
        await store.create("host", HostBody(name="h1"), actor="al")
    assert await feed.head() == head
    # The same name is fine for another noun.
    await store.create("target", TargetBody(name="h1", labels={"a": "1"}), actor="al")

    await store.delete("host", "h1", actor="al")
    assert await store.get("host", "h1") is None
    again = await store.create("host", HostBody(name="h1", labels={"b": "2"}), actor="al")
    assert again.record.labels == {"b": "2"} and again.seq > first.seq
    live, total = await store.list("host")
    assert [h.labels for h in live] == [{"b": "2"}] and total == 1
    gone, count = await store.list("host", deleted=True)
    assert count == 1 and gone[0].labels == {"a": "1"} and gone[0].deleted_at is not None
    assert await _count(db, "placement_hosts") == 2


async def test_update_and_delete_of_a_missing_noun_are_refused(
    store: PlacementStore, feed: PlacementFeed
) -> None:
    with pytest.raises(NotFoundError, match="no host named h9"):
        await store.update("host", "h9", {"labels": {}}, actor="al")
    with pytest.raises(NotFoundError, match="no workload named w9"):
        await store.delete("workload", "w9", actor="al")
    assert await feed.head() == 0


# -- nouns in use ------------------------------------------------------------------------------


@pytest.mark.parametrize("noun", ["workload", "template", "target"])
async def test_a_noun_named_by_a_live_deployment_cannot_be_deleted(
    store: PlacementStore, feed: PlacementFeed, db: Database, noun: Any
) -> None:
    await _walk(store)
    await store.create("deployment", _deployment("staging"), actor="al")
    name = {"workload": "temperature-sensor", "template": "device-service", "target": "tim-pi"}[
        noun
    ]
    head, audits = await feed.head(), await _count(db, "audit_log")
    with pytest.raises(InUse, match=f"{noun} {name} is used by deployments prod, staging"):
        await store.delete(noun, name, actor="al")
    assert await feed.head() == head and await _count(db, "audit_log") == audits
    assert await store.get(noun, name) is not None

    await store.delete("deployment", "prod", actor="al")
    with pytest.raises(InUse, match="used by deployment staging;"):
        await store.delete(noun, name, actor="al")
    await store.delete("deployment", "staging", actor="al")
    await store.delete(noun, name, actor="al")
    assert await store.get(noun, name) is None


# -- rendering rules ---------------------------------------------------------------------------


async def test_a_deployment_must_fill_its_template_and_name_live_nouns(
    store: PlacementStore, feed: PlacementFeed, db: Database
) -> None:
    await _walk(store)
    head, audits = await feed.head(), await _count(db, "audit_log")
    with pytest.raises(Invalid, match="template device-service needs values for port"):
        await store.create("deployment", _deployment("bad", port=None), actor="al")
    with pytest.raises(Invalid, match="may not be named host"):
        await store.create(
            "deployment", _deployment("bad", values={"port": "1", "host": "x"}), actor="al"
        )
    for noun in ("workload", "template", "target"):
        with pytest.raises(Invalid, match=f"no {noun} named ghost"):
            await store.create("deployment", _deployment("bad", **{noun: "ghost"}), actor="al")
    # An update is held to the same rules.
    with pytest.raises(Invalid, match="needs values for port"):
        await store.update("deployment", "prod", {"values": {}}, actor="al")
    with pytest.raises(Invalid, match="no target named ghost"):
        await store.update("deployment", "prod", {"target": "ghost"}, actor="al")
    assert await feed.head() == head and await _count(db, "audit_log") == audits
    assert await store.get("deployment", "bad") is None
    # A deleted noun is as good as missing.
    await store.create("workload", WorkloadBody(name="old", repo="https://x.test/o"), actor="al")
    await store.delete("workload", "old", actor="al")
    with pytest.raises(Invalid, match="no workload named old"):
        await store.create("deployment", _deployment("bad", workload="old"), actor="al")


async def test_a_template_cannot_gain_a_placeholder_a_live_deployment_has_no_value_for(
    store: PlacementStore, feed: PlacementFeed, db: Database
) -> None:
    await _walk(store)
    await store.create("deployment", _deployment("gone"), actor="al")
    await store.delete("deployment", "gone", actor="al")
    head, audits = await feed.head(), await _count(db, "audit_log")
    newer = TEMPLATE + "tag: ${tag}\n"
    with pytest.raises(InUse, match="deployment prod: template device-service needs values for"):
        await store.update("template", "device-service", {"body": newer}, actor="al")
    assert await feed.head() == head and await _count(db, "audit_log") == audits
    template = await store.get("template", "device-service")
    assert template is not None and template.body == TEMPLATE
    # A `$` that starts no placeholder is refused as such (by the body's validation).
    with pytest.raises((Invalid, ValidationError), match="`\\$` starts no placeholder"):
        await store.update("template", "device-service", {"body": "cost $5"}, actor="al")
    assert await feed.head() == head

    await store.update("deployment", "prod", {"values": {"port": "1", "tag": "v2"}}, actor="al")
    written = await store.update("template", "device-service", {"body": newer}, actor="al")
    assert written.record.placeholders == ["deployment", "repo", "host", "port", "tag"]
    rendered = (await feed.host_feed("tim-pi", 0)).deployments[0].rendered
    assert rendered.endswith("port: 1\ntag: v2\n")


@pytest.mark.parametrize(
    ("text", "line", "column"),
    [("$5", 1, 1), ("cost $5", 1, 6), ("a\n  $ b", 2, 3), ("x ${", 1, 3)],
)
def test_a_stray_dollar_is_reported_where_it_stands(text: str, line: int, column: int) -> None:
    """The line and column of the refusal are those of the `$` itself."""
    with pytest.raises(TemplateError, match=f"^line {line}, column {column}: `\\$`"):
        placeholders(text)


# -- one change, one audit entry, one transaction ----------------------------------------------


async def test_every_write_is_one_change_and_one_audit_entry(
    store: PlacementStore, feed: PlacementFeed, db: Database
) -> None:
    writes = [
        store.create("host", HostBody(name="h1", labels={"zone": "a"}), actor="al"),
        store.create("workload", WorkloadBody(name="w", repo="https://x.test/w"), actor="al"),
        store.create("template", TemplateBody(name="t", body="${host}"), actor="al"),
        store.create("target", TargetBody(name="g", labels={"zone": "a"}), actor="bo"),
        store.create(
            "deployment",
            DeploymentBody(name="d", workload="w", template="t", target="g"),
            actor="bo",
        ),
        store.update("host", "h1", {"labels": {"zone": "a", "x": "y"}}, actor="al"),
        store.update("workload", "w", {"repo": "https://x.test/w2"}, actor="al"),
        store.update("deployment", "d", {"replicas": 1}, actor="al"),
        store.delete("deployment", "d", actor="al"),
        store.delete("host", "h1", actor="al"),
    ]
    for number, write in enumerate(writes, start=1):
        written = await write
        assert written.seq == number == await feed.head()
        assert await _count(db, "audit_log") == number
    audit = list(reversed(await AuditRepository(db).list()))
    changes = (await feed.changes(0)).items
    assert [(c.noun, c.op) for c in changes] == [
        ("host", ChangeOp.CREATE),
        ("workload", ChangeOp.CREATE),
        ("template", ChangeOp.CREATE),
        ("target", ChangeOp.CREATE),
        ("deployment", ChangeOp.CREATE),
        ("host", ChangeOp.UPDATE),
        ("workload", ChangeOp.UPDATE),
        ("deployment", ChangeOp.UPDATE),
        ("deployment", ChangeOp.DELETE),
        ("host", ChangeOp.DELETE),
    ]
    for change, entry in zip(changes, audit, strict=True):
        assert entry.action == f"{change.noun}.{change.op.value}"
        assert (entry.target_kind, entry.target_id, entry.actor) == (
            change.noun,
            change.name,
            change.actor,
        )
        assert entry.details["change"] == change.seq
    assert changes[5].before == {"name": "h1", "labels": {"zone": "a"}}
    assert changes[5].after == {"name": "h1", "labels": {"zone": "a", "x": "y"}}
    assert changes[8].after is None and changes[8].before is not None
    # A write that changes nothing is not logged.
    await store.update("workload", "w", {"repo": "https://x.test/w2"}, actor="al")
    assert await feed.head() == len(writes) and await _count(db, "audit_log") == len(writes)


async def test_a_write_whose_audit_entry_fails_leaves_nothing_behind(
    store: PlacementStore, feed: PlacementFeed, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _walk(store)
    head = await feed.head()
    counts = {
        table: await _count(db, table)
        for table in ("placement_hosts", "placement_assignments", "audit_log")
    }

    async def broken(*_: Any) -> int:
        raise RuntimeError("audit log unavailable")

    monkeypatch.setattr(AuditRepository, "insert", staticmethod(broken))
    with pytest.raises(RuntimeError, match="audit log unavailable"):
        await store.create("host", HostBody(name="h3", labels={"name": "tim-pi"}), actor="al")
    with pytest.raises(RuntimeError):
        await store.delete("deployment", "prod", actor="al")
    assert await feed.head() == head
    assert {table: await _count(db, table) for table in counts} == counts
    assert await store.get("host", "h3") is None
    assert await store.get("deployment", "prod") is not None
    assert not db.connection.in_transaction


# -- the change log ----------------------------------------------------------------------------


async def test_the_change_log_is_ordered_and_resumable(
    store: PlacementStore, feed: PlacementFeed
) -> None:
    for number in range(7):
        await store.create("host", HostBody(name=f"h{number}"), actor="al")
    everything = (await feed.changes(0)).items
    assert [c.seq for c in everything] == list(range(1, 8))
    assert [c.name for c in everything] == [f"h{n}" for n in range(7)]
    pages: list[int] = []
    after = 0
    while True:
        page = await feed.changes(after, limit=3)
        assert page.head == 7
        if not page.items:
            assert page.next_after == after
            break
        pages.extend(c.seq for c in page.items)
        after = page.next_after
    assert pages == list(range(1, 8))
    # Resuming after a later change sees only what came after it.
    await store.delete("host", "h0", actor="al")
    page = await feed.changes(after)
    assert [(c.seq, c.name, c.op) for c in page.items] == [(8, "h0", ChangeOp.DELETE)]


# -- the change processor and the end-to-end status --------------------------------------------


async def test_processing_is_idempotent_and_marks_assignments_event_sent(
    store: PlacementStore, feed: PlacementFeed, db: Database
) -> None:
    await _walk(store)
    view = await feed.host_view("tim-pi")
    assert view is not None and [a.state for a in view.assignments] == [AssignmentState.COMMITTED]
    first = await feed.process(0)
    assert first.changes == 6 and first.bookmark == 6 == first.head and first.messages == 1
    assert await feed.bookmark() == 6
    events = await _count(db, "placement_host_events")
    for after in (0, 3, 6):
        again = await feed.process(after)
        assert again.messages == 0
    assert await _count(db, "placement_host_events") == events
    assert await feed.bookmark() == 6  # processing again from earlier does not move it back
    page = await feed.host_events("tim-pi", 0)
    assert [(e.deployment, e.op, e.change_seq) for e in page.items] == [
        ("prod", HostEventOp.UPDATE, 6)
    ]
    assert page.items[0].rendered == (
        "app: prod\nimage: https://example.test/temp\nhost: tim-pi\nport: 8080\n"
    )
    assert (await feed.host_events("edge-2", 0)).items == []
    view = await feed.host_view("tim-pi")
    assert view is not None and [a.state for a in view.assignments] == [AssignmentState.EVENT_SENT]
    # A retarget: a delete on the old host's topic, an update on the new one's.
    await store.update("target", "tim-pi", {"labels": {"name": "edge-2"}}, actor="al")
    batch = await feed.process(6)
    assert batch.changes == 1 and batch.messages == 2
    assert [(e.op, e.change_seq) for e in (await feed.host_events("tim-pi", 0)).items] == [
        (HostEventOp.UPDATE, 6),
        (HostEventOp.DELETE, 7),
    ]
    assert [(e.op, e.change_seq) for e in (await feed.host_events("edge-2", 0)).items] == [
        (HostEventOp.UPDATE, 7)
    ]


async def test_a_report_marks_assignments_deployed_and_never_moves_a_revision_back(
    store: PlacementStore, feed: PlacementFeed
) -> None:
    await _walk(store)
    revision = (await feed.host_feed("tim-pi", 0)).deployments[0].revision
    answer = await feed.report_deployed(
        "tim-pi", DeployedReport(bookmark=6, deployments={"prod": revision})
    )
    assert answer.deployed == 1
    view = await feed.host_view("tim-pi")
    assert view is not None
    (assignment,) = view.assignments
    assert assignment.state == AssignmentState.DEPLOYED
    assert assignment.deployed_revision == revision and view.agent_bookmark == 6
    rows = {row.name: row for row in (await feed.host_rows()).items}
    assert (rows["tim-pi"].deployments, rows["tim-pi"].deployed) == (1, 1)
    assert rows["tim-pi"].agent_bookmark == 6 and rows["edge-2"].agent_bookmark is None

    # An older report (a late retry) moves nothing back.
    older = await feed.report_deployed(
        "tim-pi", DeployedReport(bookmark=3, deployments={"prod": revision - 1, "other": 9})
    )
    assert older.deployed == 0
    view = await feed.host_view("tim-pi")
    assert view is not None and view.assignments[0].deployed_revision == revision
    # A newer change makes it not deployed until the host reports that revision.
    await store.update("deployment", "prod", {"values": {"port": "9090"}}, actor="al")
    view = await feed.host_view("tim-pi")
    assert view is not None and view.assignments[0].state == AssignmentState.COMMITTED
    assert view.assignments[0].revision == 7
    await feed.report_deployed("tim-pi", DeployedReport(bookmark=7, deployments={"prod": 7}))
    view = await feed.host_view("tim-pi")
    assert view is not None and view.assignments[0].state == AssignmentState.DEPLOYED

    with pytest.raises(UnknownHost):
        await feed.report_deployed("nowhere", DeployedReport(bookmark=0, deployments={}))


# -- the per-host feed's edges -----------------------------------------------------------------


async def test_a_bookmark_past_the_head_is_refused(
    store: PlacementStore, feed: PlacementFeed
) -> None:
    await _walk(store)
    assert (await feed.host_feed("tim-pi", 6)).deployments == []
    with pytest.raises(FeedError, match="bookmark 7 is past the newest change"):
        await feed.host_feed("tim-pi", 7)


async def test_the_feed_of_a_host_that_never_existed_is_refused(
    store: PlacementStore, feed: PlacementFeed
) -> None:
    with pytest.raises(UnknownHost, match="no host named ghost"):
        await feed.host_feed("ghost", 0)
    await _walk(store)
    with pytest.raises(UnknownHost):
        await feed.host_feed("ghost", 0)


async def test_a_deleted_hosts_feed_tombstones_everything_it_ran(
    store: PlacementStore, feed: PlacementFeed
) -> None:
    await _walk(store)
    await store.create(
        "deployment", _deployment("canary", replicas=1, values={"port": "1"}), actor="al"
    )
    before = await feed.host_feed("tim-pi", 0)
    assert [d.deployment for d in before.deployments] == ["canary", "prod"]
    deleted = await store.delete("host", "tim-pi", actor="al")

    after = await feed.host_feed("tim-pi", before.bookmark)
    assert after.host_deleted and after.deployments == []
    assert [(t.deployment, t.revision) for t in after.tombstones] == [
        ("canary", deleted.seq),
        ("prod", deleted.seq),
    ]
    # From the start it is only tombstones too, and nothing once the host has applied them.
    scratch = await feed.host_feed("tim-pi", 0)
    assert scratch.deployments == [] and len(scratch.tombstones) == 2
    assert (await feed.host_feed("tim-pi", after.bookmark)).tombstones == []
    view = await feed.deployment_view("prod")
    assert view is not None and view.assignments == [] and view.matching_hosts == 0

    # A host made again under the same name continues its feed.
    await store.create("host", HostBody(name="tim-pi", labels={"name": "tim-pi"}), actor="al")
    back = await feed.host_feed("tim-pi", after.bookmark)
    assert not back.host_deleted and [d.deployment for d in back.deployments] == [
        "canary",
        "prod",
    ]
