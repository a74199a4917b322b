-- Labs and the append-only audit log.
CREATE TABLE labs (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    requested_by  TEXT NOT NULL,
    severity      TEXT NOT NULL,
    ttl_hours     INTEGER NOT NULL,
    status        TEXT NOT NULL,
    status_reason TEXT,
    workflow_id   TEXT NOT NULL UNIQUE,
    run_id        TEXT,
    locked_by     TEXT,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    expires_at    TEXT
);
CREATE INDEX labs_status ON labs (status);
CREATE INDEX labs_created_at ON labs (created_at);
-- One active lab per name; ended labs free the name.
CREATE UNIQUE INDEX labs_active_name ON labs (name)
    WHERE status NOT IN ('expired', 'cancelled', 'failed');

CREATE TABLE audit_log (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    at              TEXT NOT NULL,
    actor           TEXT NOT NULL,
    action          TEXT NOT NULL,
    target_kind     TEXT NOT NULL,
    target_id       TEXT NOT NULL,
    reason          TEXT NOT NULL DEFAULT '',
    outcome         TEXT NOT NULL,
    message         TEXT NOT NULL DEFAULT '',
    idempotency_key TEXT,
    details         TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_target ON audit_log (target_kind, target_id);
CREATE UNIQUE INDEX audit_log_idempotency ON audit_log (action, target_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
