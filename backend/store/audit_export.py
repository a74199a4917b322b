"""`flightdeck audit verify` and `export`: read the audit log straight from the database file
(read-only), so they work whether or not a backend is running."""

from __future__ import annotations

import json
import sqlite3
import sys
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

from backend.config import ConfigError
from backend.store.audit_chain import ChainReport, key_path, load_key, verify


@contextmanager
def _read_only(db: Path) -> Iterator[sqlite3.Connection]:
    if not db.exists():
        raise ConfigError(f"no Flightdeck database at {db} (check --data-dir)")
    with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
        conn.row_factory = sqlite3.Row
        yield conn


def verify_audit(db: Path) -> ChainReport:
    """Check every seal and link of the audit log in `db`."""
    if not db.exists():
        raise ConfigError(f"no Flightdeck database at {db} (check --data-dir)")
    try:
        key = load_key(db)
    except (FileNotFoundError, ValueError):
        raise ConfigError(
            f"no readable audit key at {key_path(db)}: without it no seal can be checked"
        ) from None
    with _read_only(db) as conn:
        rows = conn.execute("SELECT * FROM audit_log ORDER BY id")
        return verify(key, (dict(row) for row in rows))


def export_audit(db: Path, output: Path | None) -> int:
    """Write the audit log as JSON lines to `output` (stdout when None); how many entries."""
    count = 0
    with _read_only(db) as conn:
        rows = conn.execute("SELECT * FROM audit_log ORDER BY id")
        handle = sys.stdout if output is None else output.open("w", encoding="utf-8")
        try:
            for row in rows:
                entry: dict[str, Any] = dict(row)
                entry["details"] = json.loads(entry["details"] or "{}")
                handle.write(json.dumps(entry, ensure_ascii=False) + "\n")
                count += 1
        finally:
            if output is not None:
                handle.close()
            else:
                handle.flush()
    return count
