"""The per-host feed (the spec's HTTP endpoint approach) as properties: random sequences of
creates, updates and deletes over a small universe of hosts, workloads, templates, targets and
deployments, against a real SQLite store, with simulated host agents syncing at random points.

The test keeps its own model of the live nouns and works out, independently of the store, which
deployments each host should run and how each renders (`string.Template` with the built-in
names). Replica-limited deployments are the one place where the store chooses (which of the
matching hosts): there the store's assignments are taken as the truth, and checked (how many,
all matching, stable).

Properties:
  a. a host's feed from ANY earlier bookmark, applied on the state the host had at that
     bookmark, gives exactly the deployments that target it now, rendered as they are now;
  b. everything the host had at the bookmark that it should no longer run is tombstoned, and
     nothing it should run is;
  c. every change's feed is exactly its delta: a relabel or retarget shows as a tombstone on
     the host that lost the deployment and an upsert on the one that gained it, a workload,
     template or deployment update as upserts on the hosts running it, and nothing else;
  d. replica-limited deployments keep the hosts they have while those still match (a new
     matching host moves nothing), and have min(replicas, matching) of them;
  e. the change processor's per-host messages, replayed, give the same state (and processing
     again writes no duplicates);
  plus: refused writes change nothing (no change, no audit entry, no assignment), every write
  appends exactly one change and one audit entry, and a host agent that reports what it runs
  shows all of it `deployed`.
"""

from __future__ import annotations

import asyncio
import os
import string
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from backend.domains.placement.model import (
    DeployedReport,
    DeploymentBody,
    HostBody,
    HostEventOp,
    HostFeed,
    TargetBody,
    TemplateBody,
    WorkloadBody,
)
from backend.store.database import Database
from backend.store.placement import (
    InUse,
    Invalid,
    NameTaken,
    NotFoundError,
    PlacementError,
    PlacementStore,
)
from backend.store.placement_feed import PlacementFeed, UnknownHost

EXAMPLES = int(os.environ.get("FLIGHTDECK_PLACEMENT_EXAMPLES", "35"))
"""Generated sequences per run. The default run is derandomized (the same sequences every
time); setting FLIGHTDECK_PLACEMENT_EXAMPLES (say 2000) searches fresh random ones."""
DERANDOMIZE = "FLIGHTDECK_PLACEMENT_EXAMPLES" not in os.environ

# -- the universe ------------------------------------------------------------------------------

HOSTS = ("h1", "h2", "h3", "h4")
KEYS = ("zone", "tier", "os")
LABEL_VALUES = ("a", "b", "c")
WORKLOADS = ("w1", "w2")
TEMPLATES = ("t1", "t2")
TARGETS = ("g1", "g2", "g3")
DEPLOYMENTS = ("d1", "d2", "d3", "d4")
REPOS = ("https://git.example/one", "https://git.example/two", "https://git.example/three")
BODIES = (
    "kind: app\nname: ${deployment}\nhost: ${host}\nrepo: ${repo}\n",
    "${deployment}/${workload}/${template}/${target} on $host x${replicas} port=${port}\n",
    "image: ${repo}:${tag}\ncost: $$5\n",
    "port=${port} tag=${tag} host=${host}",
)
VALUES: tuple[dict[str, str], ...] = (
    {},
    {"port": "80"},
    {"tag": "v1"},
    {"port": "8080", "tag": "v2"},
)
BUILT_INS = ("deployment", "workload", "repo", "template", "target", "host", "replicas")
"""The names every rendering knows (written out here, not imported: the test's own model)."""

SETUP: list[tuple[Any, ...]] = [
    ("workload_create", "w1", REPOS[0]),
    ("workload_create", "w2", REPOS[1]),
    ("template_create", "t1", BODIES[0]),
    ("template_create", "t2", BODIES[1]),
    ("target_create", "g1", {"zone": "a"}),
    ("target_create", "g2", {"tier": "b"}),
    ("target_create", "g3", {"zone": "b", "os": "c"}),
    ("host_create", "h1", {"zone": "a", "tier": "b"}),
    ("host_create", "h2", {"zone": "a", "os": "c"}),
    ("host_create", "h3", {"zone": "b", "tier": "b", "os": "c"}),
    ("deployment_create", "d1", "w1", "t1", "g1", {}, None),
    ("deployment_create", "d2", "w2", "t2", "g2", {"port": "80"}, 1),
    ("deployment_create", "d3", "w1", "t2", "g3", {"port": "81", "tag": "v3"}, 2),
]

# -- operations --------------------------------------------------------------------------------

host_labels = st.dictionaries(
    st.sampled_from(KEYS), st.sampled_from(LABEL_VALUES), min_size=1, max_size=3
)
target_rules = st.dictionaries(
    st.sampled_from(KEYS), st.sampled_from(LABEL_VALUES), min_size=1, max_size=2
)
replicas = st.one_of(st.none(), st.integers(min_value=1, max_value=3))
deployment_changes = st.fixed_dictionaries(
    {},
    optional={
        "workload": st.sampled_from(WORKLOADS),
        "template": st.sampled_from(TEMPLATES),
        "target": st.sampled_from(TARGETS),
        "values": st.sampled_from(VALUES),
        "replicas": replicas,
    },
)
hosts = st.sampled_from(HOSTS)
deployments = st.sampled_from(DEPLOYMENTS)

operations = st.one_of(
    # hosts (often: they move deployments)
    st.tuples(st.just("host_create"), hosts, host_labels),
    st.tuples(st.just("host_create"), hosts, host_labels),
    st.tuples(st.just("host_update"), hosts, host_labels),
    st.tuples(st.just("host_update"), hosts, host_labels),
    st.tuples(st.just("host_delete"), hosts),
    # workloads, templates, targets
    st.tuples(st.just("workload_update"), st.sampled_from(WORKLOADS), st.sampled_from(REPOS)),
    st.tuples(st.just("workload_create"), st.sampled_from(WORKLOADS), st.sampled_from(REPOS)),
    st.tuples(st.just("workload_delete"), st.sampled_from(WORKLOADS)),
    st.tuples(st.just("template_update"), st.sampled_from(TEMPLATES), st.sampled_from(BODIES)),
    st.tuples(st.just("template_create"), st.sampled_from(TEMPLATES), st.sampled_from(BODIES)),
    st.tuples(st.just("template_delete"), st.sampled_from(TEMPLATES)),
    st.tuples(st.just("target_update"), st.sampled_from(TARGETS), target_rules),
    st.tuples(st.just("target_create"), st.sampled_from(TARGETS), target_rules),
    st.tuples(st.just("target_delete"), st.sampled_from(TARGETS)),
    # deployments (often)
    st.tuples(
        st.just("deployment_create"),
        deployments,
        st.sampled_from(WORKLOADS),
        st.sampled_from(TEMPLATES),
        st.sampled_from(TARGETS),
        st.sampled_from(VALUES),
        replicas,
    ),
    st.tuples(
        st.just("deployment_create"),
        deployments,
        st.sampled_from(WORKLOADS),
        st.sampled_from(TEMPLATES),
        st.sampled_from(TARGETS),
        st.sampled_from(VALUES),
        replicas,
    ),
    st.tuples(st.just("deployment_update"), deployments, deployment_changes),
    st.tuples(st.just("deployment_update"), deployments, deployment_changes),
    st.tuples(st.just("deployment_delete"), deployments),
    # the host agents and the change processor
    st.tuples(st.just("sync"), hosts),
    st.tuples(st.just("sync"), hosts),
    st.tuples(st.just("process")),
)

# -- the test's own model of the live nouns ----------------------------------------------------


def placeholder_names(body: str) -> list[str]:
    return list(dict.fromkeys(string.Template(body).get_identifiers()))


def fills(body: str, values: Mapping[str, str]) -> bool:
    return all(name in values or name in BUILT_INS for name in placeholder_names(body))


def matches(rules: Mapping[str, str], labels: Mapping[str, str]) -> bool:
    return all(labels.get(key) == value for key, value in rules.items())


@dataclass
class Model:
    hosts: dict[str, dict[str, str]] = field(default_factory=dict)
    workloads: dict[str, str] = field(default_factory=dict)
    templates: dict[str, str] = field(default_factory=dict)
    targets: dict[str, dict[str, str]] = field(default_factory=dict)
    deployments: dict[str, dict[str, Any]] = field(default_factory=dict)
    ever_hosts: set[str] = field(default_factory=set)

    def table(self, noun: str) -> dict[str, Any]:
        tables: dict[str, dict[str, Any]] = {
            "host": self.hosts,
            "workload": self.workloads,
            "template": self.templates,
            "target": self.targets,
            "deployment": self.deployments,
        }
        return tables[noun]

    def users(self, noun: str, name: str) -> list[str]:
        return sorted(d for d, fields in self.deployments.items() if fields[noun] == name)

    def deployment_ok(self, fields: Mapping[str, Any]) -> bool:
        return (
            fields["workload"] in self.workloads
            and fields["target"] in self.targets
            and fields["template"] in self.templates
            and fills(self.templates[fields["template"]], fields["values"])
        )

    def expect(self, op: tuple[Any, ...]) -> type[PlacementError] | str | None:
        """The refusal the store should answer with, "noop" for a change that changes
        nothing, None for a change it should commit."""
        action, name = op[0], op[1]
        noun, verb = action.split("_")
        table = self.table(noun)
        if verb == "create":
            if name in table:
                return NameTaken
            if noun == "deployment":
                _, _, workload, template, target, values, count = op
                fields = {
                    "workload": workload,
                    "template": template,
                    "target": target,
                    "values": values,
                    "replicas": count,
                }
                return None if self.deployment_ok(fields) else Invalid
            return None
        if name not in table:
            return NotFoundError
        if verb == "delete":
            if noun in ("workload", "template", "target") and self.users(noun, name):
                return InUse
            return None
        if noun == "deployment":
            merged = {**table[name], **op[2]}
            if merged == table[name]:
                return "noop"
            return None if self.deployment_ok(merged) else Invalid
        if table[name] == op[2]:
            return "noop"
        if noun == "template":
            for user in self.users("template", name):
                if not fills(op[2], self.deployments[user]["values"]):
                    return InUse
        return None

    def apply(self, op: tuple[Any, ...]) -> None:
        action, name = op[0], op[1]
        noun, verb = action.split("_")
        table = self.table(noun)
        if verb == "delete":
            del table[name]
        elif noun == "deployment" and verb == "create":
            _, _, workload, template, target, values, count = op
            table[name] = {
                "workload": workload,
                "template": template,
                "target": target,
                "values": dict(values),
                "replicas": count,
            }
        elif noun == "deployment":
            table[name] = {**table[name], **op[2]}
        else:
            table[name] = op[2]
        if noun == "host":
            self.ever_hosts.add(name)

    def matching(self, deployment: str) -> set[str]:
        rules = self.targets[self.deployments[deployment]["target"]]
        return {host for host, labels in self.hosts.items() if matches(rules, labels)}

    def render(self, deployment: str, host: str) -> str:
        fields = self.deployments[deployment]
        built_ins = {
            "deployment": deployment,
            "workload": fields["workload"],
            "repo": self.workloads[fields["workload"]],
            "template": fields["template"],
            "target": fields["target"],
            "host": host,
            "replicas": "" if fields["replicas"] is None else str(fields["replicas"]),
        }
        body = string.Template(self.templates[fields["template"]])
        return body.substitute({**fields["values"], **built_ins})


async def call(store: PlacementStore, op: tuple[Any, ...]) -> None:
    """The operation, through the store."""
    action, name = op[0], op[1]
    noun, verb = action.split("_")
    if verb == "delete":
        await store.delete(noun, name, actor="prop")
    elif verb == "update":
        changes = op[2] if noun == "deployment" else {_FIELD[noun]: op[2]}
        await store.update(noun, name, changes, actor="prop")
    elif noun == "deployment":
        _, _, workload, template, target, values, count = op
        body: Any = DeploymentBody(
            name=name,
            workload=workload,
            template=template,
            target=target,
            values=values,
            replicas=count,
        )
        await store.create("deployment", body, actor="prop")
    else:
        makers: dict[str, type[BaseModel]] = {
            "host": HostBody,
            "workload": WorkloadBody,
            "template": TemplateBody,
            "target": TargetBody,
        }
        made = makers[noun]
        await store.create(
            noun, made.model_validate({"name": name, _FIELD[noun]: op[2]}), actor="prop"
        )


_FIELD = {"host": "labels", "workload": "repo", "template": "body", "target": "labels"}

# -- the simulated host agents -----------------------------------------------------------------

State = dict[str, str]
"""A host's directory: deployment → rendered text."""


@dataclass
class Agent:
    bookmark: int = 0
    directory: State = field(default_factory=dict)
    revisions: dict[str, int] = field(default_factory=dict)
    history: list[tuple[int, State]] = field(default_factory=lambda: [(0, {})])


def applied(state: State, feed: HostFeed) -> State:
    """The directory after the agent applies the feed: tombstones delete, upserts write."""
    out = dict(state)
    for tombstone in feed.tombstones:
        out.pop(tombstone.deployment, None)
    for upsert in feed.deployments:
        out[upsert.deployment] = upsert.rendered
    return out


# -- one run -----------------------------------------------------------------------------------


class World:
    def __init__(self, database: Database) -> None:
        self.db = database
        self.store = PlacementStore(database)
        self.feed = PlacementFeed(database)
        self.model = Model()
        self.agents: dict[str, Agent] = {}
        self.truths: dict[int, dict[str, State]] = {0: {}}
        """What every host should run after each change (by sequence number)."""
        self.processed = 0

    async def _rows(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        async with self.db.connection.execute(sql, args) as cur:
            return [tuple(row) for row in await cur.fetchall()]

    async def assignments(self) -> dict[str, set[str]]:
        """Live assignments, deployment → hosts, as the store has them."""
        out: dict[str, set[str]] = {}
        for deployment, host in await self._rows(
            "SELECT deployment, host FROM placement_assignments WHERE removed_seq IS NULL"
        ):
            out.setdefault(deployment, set()).add(host)
        return out

    async def truth(self) -> dict[str, State]:
        """What each live host should run now, from the model (and, for replica-limited
        deployments, the store's choice of hosts, checked)."""
        model = self.model
        assigned = await self.assignments()
        assert set(assigned) <= set(model.deployments), assigned
        out: dict[str, State] = {host: {} for host in model.hosts}
        for name, fields in model.deployments.items():
            matching = model.matching(name)
            got = assigned.get(name, set())
            if fields["replicas"] is None:
                assert got == matching, (name, got, matching)
                chosen = matching
            else:
                assert got <= matching, (name, got, matching)
                assert len(got) == min(fields["replicas"], len(matching)), (name, got, matching)
                chosen = got
            for host in chosen:
                out[host][name] = model.render(name, host)
        return out

    async def step(self, op: tuple[Any, ...]) -> None:
        if op[0] == "sync":
            await self.sync(op[1])
            return
        if op[0] == "process":
            await self.process()
            return
        head = await self.feed.head()
        before = self.truths[head]
        assigned_before = await self.assignments()
        assignment_rows = await self._rows("SELECT * FROM placement_assignments ORDER BY id")
        audits = await self._rows("SELECT COUNT(*) FROM audit_log")
        expected = self.model.expect(op)
        try:
            await call(self.store, op)
        except PlacementError as err:
            assert isinstance(expected, type) and isinstance(err, expected), (op, err, expected)
            # Refused: nothing changed.
            assert await self.feed.head() == head, op
            assert await self._rows("SELECT COUNT(*) FROM audit_log") == audits, op
            assert (
                await self._rows("SELECT * FROM placement_assignments ORDER BY id")
                == assignment_rows
            ), op
            return
        assert expected is None or expected == "noop", (op, expected)
        if expected == "noop":
            assert await self.feed.head() == head, op
            assert await self._rows("SELECT COUNT(*) FROM audit_log") == audits, op
            return
        # One change, one audit entry.
        page = await self.feed.changes(head)
        noun, verb = op[0].split("_")
        assert [(c.seq, c.noun, c.name, c.op.value) for c in page.items] == [
            (head + 1, noun, op[1], verb)
        ], op
        assert page.head == head + 1
        (count,) = await self._rows("SELECT COUNT(*) FROM audit_log")
        assert count[0] == audits[0][0] + 1, op
        self.model.apply(op)
        now = await self.truth()
        self.truths[head + 1] = now
        await self.check_delta(op, head, before, now)
        self.check_stability(op, assigned_before, await self.assignments())

    async def check_delta(
        self, op: tuple[Any, ...], since: int, before: dict[str, State], now: dict[str, State]
    ) -> None:
        """(c) The feed of one change is exactly what it changed, on every host."""
        action, name = op[0], op[1]
        touched: set[str] = set()
        if action == "workload_update":
            touched = set(self.model.users("workload", name))
        elif action == "template_update":
            touched = set(self.model.users("template", name))
        elif action in ("deployment_create", "deployment_update"):
            touched = {name}
        for host in sorted(self.model.ever_hosts):
            feed = await self.feed.host_feed(host, since)
            was, runs = before.get(host, {}), now.get(host, {})
            gained, lost = runs.keys() - was.keys(), was.keys() - runs.keys()
            upserts = {d.deployment for d in feed.deployments}
            assert upserts == gained | (touched & runs.keys()), (op, host, feed, before, now)
            assert {t.deployment for t in feed.tombstones} == lost, (op, host, feed, before, now)
            for upsert in feed.deployments:
                assert upsert.rendered == runs[upsert.deployment], (op, host, upsert)

    def check_stability(
        self, op: tuple[Any, ...], before: dict[str, set[str]], after: dict[str, set[str]]
    ) -> None:
        """(d) A replica-limited deployment keeps the hosts it has while they still match."""
        if op[0] in ("workload_update", "template_update"):
            assert after == before, op
        for name, fields in self.model.deployments.items():
            if fields["replicas"] is None or name not in before:
                continue
            keep = before[name] & self.model.matching(name)
            now = after.get(name, set())
            if len(keep) <= fields["replicas"]:
                assert keep <= now, (op, name, before[name], now)
            else:
                assert now <= keep, (op, name, before[name], now)
            full = len(before[name]) == fields["replicas"]
            if full and op[0].startswith("host_") and op[1] not in before[name]:
                # Full, and the host that changed is not one of its hosts: nothing moves.
                assert now == before[name], (op, name, before[name], now)

    async def check_feed(self, host: str, since: int, state: State, feed: HostFeed) -> State:
        """(a), (b) The feed from `since`, applied on the state at `since`, gives what the
        host should run now; its tombstones are exactly what went away (and maybe more that
        came and went), never what it runs."""
        head = await self.feed.head()
        now = self.truths[head].get(host, {})
        assert feed.host == host and feed.since == since and feed.bookmark == head
        assert feed.host_deleted == (host not in self.model.hosts)
        upserts = [d.deployment for d in feed.deployments]
        tombstones = [t.deployment for t in feed.tombstones]
        assert len(set(upserts)) == len(upserts) and len(set(tombstones)) == len(tombstones)
        assert not set(upserts) & set(tombstones), feed
        assert not set(tombstones) & now.keys(), (feed, now)
        assert state.keys() - now.keys() <= set(tombstones), (state, feed, now)
        for upsert in feed.deployments:
            assert since < upsert.revision <= head, (since, upsert, head)
            fields = self.model.deployments[upsert.deployment]
            assert (upsert.workload, upsert.template, upsert.target) == (
                fields["workload"],
                fields["template"],
                fields["target"],
            )
            assert upsert.values == fields["values"] and upsert.replicas == fields["replicas"]
            assert upsert.repo == self.model.workloads[fields["workload"]]
        for tombstone in feed.tombstones:
            assert since < tombstone.revision <= head, (since, tombstone, head)
        result = applied(state, feed)
        assert result == now, (host, since, state, feed, now)
        return result

    async def sync(self, host: str) -> None:
        agent = self.agents.setdefault(host, Agent())
        if host not in self.model.ever_hosts:
            with pytest.raises(UnknownHost):
                await self.feed.host_feed(host, agent.bookmark)
            return
        feed = await self.feed.host_feed(host, agent.bookmark)
        agent.directory = await self.check_feed(host, agent.bookmark, agent.directory, feed)
        agent.bookmark = feed.bookmark
        for tombstone in feed.tombstones:
            agent.revisions.pop(tombstone.deployment, None)
        for upsert in feed.deployments:
            agent.revisions[upsert.deployment] = upsert.revision
        agent.history.append((agent.bookmark, dict(agent.directory)))
        if host in self.model.hosts:
            # The agent reports what it runs: all of it is deployed, at its current revision.
            report = DeployedReport(bookmark=agent.bookmark, deployments=dict(agent.revisions))
            await self.feed.report_deployed(host, report)
            rows = {row.name: row for row in (await self.feed.host_rows()).items}
            row = rows[host]
            assert row.deployments == row.deployed == len(agent.directory), (row, agent)
            assert row.agent_bookmark == agent.bookmark

    async def process(self) -> None:
        """Run the change processor up to the head."""
        while True:
            batch = await self.feed.process(self.processed, limit=7)
            assert batch.bookmark >= self.processed
            if batch.changes == 0:
                break
            self.processed = batch.bookmark
        assert self.processed == await self.feed.head()
        assert await self.feed.bookmark() == self.processed

    async def replay(self, host: str) -> State:
        """(e) The host's messages from the change processor, applied in order."""
        state: State = {}
        after = 0
        while True:
            page = await self.feed.host_events(host, after, limit=50)
            for event in page.items:
                if event.op == HostEventOp.UPDATE:
                    assert event.rendered is not None
                    state[event.deployment] = event.rendered
                else:
                    state.pop(event.deployment, None)
            if not page.items:
                return state
            after = page.next_after

    async def finish(self) -> None:
        head = await self.feed.head()
        assert sorted(self.truths) == list(range(head + 1))
        for host in HOSTS:
            if host not in self.model.ever_hosts:
                with pytest.raises(UnknownHost):
                    await self.feed.host_feed(host, 0)
                continue
            # (a), (b) from every earlier bookmark, on the state at that bookmark.
            for since, truth in sorted(self.truths.items()):
                feed = await self.feed.host_feed(host, since)
                await self.check_feed(host, since, truth.get(host, {}), feed)
            # ... including the ones this host's agent had, on the state it had then.
            for since, state in self.agents.get(host, Agent()).history:
                assert state == self.truths[since].get(host, {}), (host, since)
                await self.check_feed(host, since, state, await self.feed.host_feed(host, since))
        # (e) the processor's messages give the same state, and processing again adds nothing.
        await self.process()
        now = self.truths[head]
        for host in HOSTS:
            assert await self.replay(host) == now.get(host, {}), host
        events = await self._rows("SELECT COUNT(*) FROM placement_host_events")
        again = await self.feed.process(self.processed)
        assert again.changes == 0 and again.messages == 0
        redo = await self.feed.process(0, limit=10_000)
        assert redo.bookmark == head
        assert await self.feed.bookmark() == head
        duplicates = await self._rows(
            "SELECT change_seq, host, deployment FROM placement_host_events"
            " GROUP BY change_seq, host, deployment HAVING COUNT(*) > 1"
        )
        assert duplicates == []
        if redo.messages == 0:
            assert await self._rows("SELECT COUNT(*) FROM placement_host_events") == events
        for host in HOSTS:
            assert await self.replay(host) == now.get(host, {}), host


async def _run(ops: list[tuple[Any, ...]]) -> None:
    with tempfile.TemporaryDirectory() as directory:
        database = await Database.open(Path(directory) / "placement.db")
        try:
            world = World(database)
            for op in SETUP:
                await world.step(op)
            for op in ops:
                await world.step(op)
            await world.finish()
        finally:
            await database.close()


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=DERANDOMIZE,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.lists(operations, min_size=10, max_size=40))
def test_host_feeds_converge_on_what_targets_each_host(ops: list[tuple[Any, ...]]) -> None:
    asyncio.run(_run(ops))


def test_relabel_moves_a_deployment_between_hosts() -> None:
    """(c) spelled out: the deployment leaves one host's feed as a tombstone and enters the
    other's as an upsert."""
    asyncio.run(
        _run(
            [
                ("host_create", "h1", {"zone": "a"}),
                ("host_create", "h2", {"zone": "b"}),
                ("deployment_create", "d1", "w1", "t1", "g1", {}, None),
                ("sync", "h1"),
                ("sync", "h2"),
                ("host_update", "h1", {"zone": "b"}),
                ("host_update", "h2", {"zone": "a"}),
                ("sync", "h1"),
                ("sync", "h2"),
                ("target_update", "g1", {"zone": "b"}),
                ("sync", "h1"),
                ("sync", "h2"),
            ]
        )
    )


def test_a_new_matching_host_does_not_move_a_full_replica_limited_deployment() -> None:
    """(d) spelled out."""
    asyncio.run(
        _run(
            [
                ("host_create", "h3", {"zone": "a"}),
                ("deployment_create", "d1", "w1", "t1", "g1", {}, 1),
                ("host_create", "h1", {"zone": "a"}),
                ("host_create", "h2", {"zone": "a", "tier": "b"}),
                ("sync", "h1"),
                ("sync", "h3"),
                ("host_delete", "h3"),
                ("sync", "h3"),
                ("deployment_update", "d1", {"replicas": 3}),
                ("deployment_update", "d1", {"replicas": None}),
            ]
        )
    )
