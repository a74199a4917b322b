-- Hosts and placement (specs/titan-placement-architecture.md). Every noun keeps its rows when
-- deleted (deleted_at / deleted_seq): the per-host feed needs to know what went away. A name is
-- unique among the live rows of its noun. `*_seq` columns are change-log sequence numbers.
CREATE TABLE placement_changes (
    seq    INTEGER PRIMARY KEY AUTOINCREMENT,
    at     TEXT NOT NULL,
    actor  TEXT NOT NULL,
    noun   TEXT NOT NULL,
    name   TEXT NOT NULL,
    op     TEXT NOT NULL,
    before TEXT,
    after  TEXT
);
CREATE TABLE placement_hosts (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT NOT NULL,
    labels      TEXT NOT NULL DEFAULT '{}',
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    updated_seq INTEGER NOT NULL,
    deleted_at  TEXT,
    deleted_seq INTEGER
);
CREATE UNIQUE INDEX placement_hosts_live ON placement_hosts (name) WHERE deleted_at IS NULL;
CREATE TABLE placement_workloads (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT NOT NULL,
    repo        TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    updated_seq INTEGER NOT NULL,
    deleted_at  TEXT,
    deleted_seq INTEGER
);
CREATE UNIQUE INDEX placement_workloads_live ON placement_workloads (name) WHERE deleted_at IS NULL;
CREATE TABLE placement_templates (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT NOT NULL,
    body        TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    updated_seq INTEGER NOT NULL,
    deleted_at  TEXT,
    deleted_seq INTEGER
);
CREATE UNIQUE INDEX placement_templates_live ON placement_templates (name) WHERE deleted_at IS NULL;
CREATE TABLE placement_targets (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT NOT NULL,
    labels      TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    updated_seq INTEGER NOT NULL,
    deleted_at  TEXT,
    deleted_seq INTEGER
);
CREATE UNIQUE INDEX placement_targets_live ON placement_targets (name) WHERE deleted_at IS NULL;
CREATE TABLE placement_deployments (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT NOT NULL,
    workload    TEXT NOT NULL,
    template    TEXT NOT NULL,
    target      TEXT NOT NULL,
    "values"    TEXT NOT NULL DEFAULT '{}',
    replicas    INTEGER,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    updated_seq INTEGER NOT NULL,
    deleted_at  TEXT,
    deleted_seq INTEGER
);
CREATE UNIQUE INDEX placement_deployments_live ON placement_deployments (name) WHERE deleted_at IS NULL;
CREATE INDEX placement_deployments_refs ON placement_deployments (target, workload, template);
-- Which host runs which deployment (every matching host, or `replicas` of them): by name, so a
-- host or deployment deleted and made again continues its feed. A removed assignment stays,
-- with removed_seq, for the tombstone.
CREATE TABLE placement_assignments (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    deployment        TEXT NOT NULL,
    host              TEXT NOT NULL,
    assigned_seq      INTEGER NOT NULL,
    assigned_at       TEXT NOT NULL,
    removed_seq       INTEGER,
    deployed_revision INTEGER,
    deployed_at       TEXT
);
CREATE UNIQUE INDEX placement_assignments_live ON placement_assignments (deployment, host)
    WHERE removed_seq IS NULL;
CREATE INDEX placement_assignments_host ON placement_assignments (host, removed_seq);
-- The change processor's output: ordered messages per host (the HostDeployment topics), and
-- each processor's bookmark in the change log.
CREATE TABLE placement_host_events (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    host       TEXT NOT NULL,
    deployment TEXT NOT NULL,
    op         TEXT NOT NULL,
    revision   INTEGER NOT NULL,
    change_seq INTEGER NOT NULL,
    at         TEXT NOT NULL,
    rendered   TEXT,
    UNIQUE (change_seq, host, deployment)
);
CREATE INDEX placement_host_events_host ON placement_host_events (host, seq);
CREATE TABLE placement_bookmarks (
    processor TEXT PRIMARY KEY,
    seq       INTEGER NOT NULL,
    at        TEXT NOT NULL
);
-- What each host's agent last reported: its feed bookmark.
CREATE TABLE placement_agents (
    host     TEXT PRIMARY KEY,
    bookmark INTEGER NOT NULL,
    seen_at  TEXT NOT NULL
);
