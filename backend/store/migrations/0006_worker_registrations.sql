-- TAC worker registrations (specs/tac-worker-deployment.md): under a DIG's TAC intent, which
-- worker DIG runs the worker a task queue needs. Registrations are plain records (no workflow).
CREATE TABLE worker_registrations (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
    project              TEXT NOT NULL,
    composite_app        TEXT NOT NULL,
    version              TEXT NOT NULL,
    dig                  TEXT NOT NULL,
    tac_intent           TEXT NOT NULL,
    name                 TEXT NOT NULL,
    description          TEXT NOT NULL DEFAULT '',
    task_queue           TEXT NOT NULL,
    worker_project       TEXT NOT NULL,
    worker_composite_app TEXT NOT NULL,
    worker_version       TEXT NOT NULL,
    worker_dig           TEXT NOT NULL,
    requested_by         TEXT NOT NULL,
    created_at           TEXT NOT NULL,
    updated_at           TEXT NOT NULL,
    UNIQUE (project, composite_app, version, dig, tac_intent, name)
);
CREATE INDEX worker_registrations_task_queue ON worker_registrations (task_queue);
CREATE INDEX worker_registrations_created_at ON worker_registrations (created_at);
