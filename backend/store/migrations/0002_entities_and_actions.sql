-- One table for every domain's entities; labs move into it. Action requests reserve their
-- idempotency keys before anything is sent; audit rows mirror workflow decisions once each.
CREATE TABLE entities (
    kind           TEXT NOT NULL,
    id             TEXT NOT NULL,
    name           TEXT NOT NULL,
    requested_by   TEXT NOT NULL,
    status         TEXT NOT NULL,
    status_reason  TEXT,
    ended          INTEGER NOT NULL DEFAULT 0,
    workflow_id    TEXT NOT NULL UNIQUE,
    run_id         TEXT,
    percent        INTEGER NOT NULL DEFAULT 0,
    awaiting       TEXT,
    awaiting_kind  TEXT,
    awaiting_since TEXT,
    accepts        TEXT NOT NULL DEFAULT '[]',
    last_error     TEXT,
    fields         TEXT NOT NULL DEFAULT '{}',
    status_version TEXT NOT NULL DEFAULT '',
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    PRIMARY KEY (kind, id)
);
CREATE INDEX entities_by_kind ON entities (kind, created_at);
CREATE INDEX entities_by_status ON entities (kind, status);
CREATE INDEX entities_awaiting ON entities (awaiting_since) WHERE awaiting_kind IS NOT NULL;
-- One active entity per kind and name; ended ones free the name.
CREATE UNIQUE INDEX entities_active_name ON entities (kind, name) WHERE ended = 0;

INSERT INTO entities (kind, id, name, requested_by, status, status_reason, ended, workflow_id,
                      run_id, percent, fields, created_at, updated_at)
SELECT 'lab', id, name, requested_by, status, status_reason,
       CASE WHEN status IN ('expired', 'cancelled', 'failed') THEN 1 ELSE 0 END,
       workflow_id, run_id,
       CASE WHEN status IN ('running', 'expired') THEN 100 ELSE 0 END,
       json_object('severity', severity, 'ttl_hours', ttl_hours, 'expires_at', expires_at),
       created_at, updated_at
FROM labs;
DROP TABLE labs;

CREATE TABLE action_requests (
    idempotency_key TEXT PRIMARY KEY,
    fingerprint     TEXT NOT NULL,
    kind            TEXT NOT NULL,
    target_id       TEXT NOT NULL,
    action          TEXT NOT NULL,
    actor           TEXT NOT NULL,
    state           TEXT NOT NULL,
    status_code     INTEGER,
    response        TEXT,
    verdict         TEXT,
    created_at      TEXT NOT NULL,
    finished_at     TEXT
);

ALTER TABLE audit_log ADD COLUMN source TEXT NOT NULL DEFAULT 'flightdeck';
ALTER TABLE audit_log ADD COLUMN decision_key TEXT;
CREATE UNIQUE INDEX audit_log_decision ON audit_log (decision_key)
    WHERE decision_key IS NOT NULL;
