"""The audit log's hash chain: every entry is sealed as it is written, old entries are sealed
when the store opens, and `flightdeck audit verify` finds a changed, deleted or inserted row."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

from backend.domain.audit import AuditOutcome
from backend.store.audit import AuditRepository, NewAuditEntry
from backend.store.audit_export import export_audit, verify_audit
from backend.store.database import Database
from tests.e2e.processes import run_cli


async def write_entries(db_path: Path, count: int) -> None:
    database = await Database.open(db_path)
    audit = AuditRepository(database)
    for i in range(count):
        await audit.append(
            NewAuditEntry(
                actor=f"user{i}",
                action="review.approve",
                target_kind="lab",
                target_id=f"lab{i}",
                outcome=AuditOutcome.ACCEPTED,
                reason="looks good",
            )
        )
    await database.close()


def tamper(db_path: Path, *statements: str) -> None:
    """What someone with write access to the file could do (triggers dropped first)."""
    with sqlite3.connect(db_path) as conn:
        conn.execute("DROP TRIGGER audit_log_no_update")
        conn.execute("DROP TRIGGER audit_log_no_delete")
        for statement in statements:
            conn.execute(statement)


async def test_entries_are_sealed_in_a_chain(tmp_path: Path) -> None:
    db = tmp_path / "flightdeck.db"
    await write_entries(db, 4)
    report = verify_audit(db)
    assert report.intact and report.entries == 4 and report.head
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT id, prev_hash, hash FROM audit_log ORDER BY id").fetchall()
    assert rows[0][1] is None
    assert all(rows[i][1] == rows[i - 1][2] for i in range(1, 4))
    assert oct((tmp_path / "audit-key").stat().st_mode & 0o777) == "0o600"


async def test_the_log_refuses_updates_even_to_unsealed_columns(tmp_path: Path) -> None:
    db = tmp_path / "flightdeck.db"
    await write_entries(db, 1)
    with sqlite3.connect(db) as conn:
        for statement in (
            "UPDATE audit_log SET reason = 'x'",
            "UPDATE audit_log SET hash = 'x'",
            "DELETE FROM audit_log",
        ):
            try:
                conn.execute(statement)
            except sqlite3.IntegrityError as err:
                assert "append-only" in str(err)
            else:
                raise AssertionError(f"{statement} was allowed")


async def test_a_changed_row_is_found(tmp_path: Path) -> None:
    db = tmp_path / "flightdeck.db"
    await write_entries(db, 4)
    tamper(db, "UPDATE audit_log SET actor = 'mallory' WHERE id = 2")
    report = verify_audit(db)
    assert report.problems == ["entry 2 does not match its seal: it was changed or inserted"]


async def test_a_deleted_row_is_found(tmp_path: Path) -> None:
    db = tmp_path / "flightdeck.db"
    await write_entries(db, 4)
    tamper(db, "DELETE FROM audit_log WHERE id = 3")
    assert verify_audit(db).problems == ["entry 3 was deleted (the chain breaks at 4)"]


async def test_an_inserted_row_is_found(tmp_path: Path) -> None:
    db = tmp_path / "flightdeck.db"
    await write_entries(db, 3)
    with sqlite3.connect(db) as conn:
        last = conn.execute("SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1").fetchone()[0]
        conn.execute(
            "INSERT INTO audit_log (at, actor, action, target_kind, target_id, outcome,"
            " prev_hash, hash) VALUES ('2026-01-01T00:00:00Z', 'mallory', 'review.approve',"
            " 'lab', 'lab9', 'accepted', ?, ?)",
            (last, "0" * 64),
        )
    report = verify_audit(db)
    assert report.problems == ["entry 4 does not match its seal: it was changed or inserted"]


async def test_entries_from_before_sealing_are_sealed_when_the_store_opens(
    tmp_path: Path,
) -> None:
    db = tmp_path / "flightdeck.db"
    await write_entries(db, 2)
    with sqlite3.connect(db) as conn:  # an entry written by an older Flightdeck
        conn.execute(
            "INSERT INTO audit_log (at, actor, action, target_kind, target_id, outcome)"
            " VALUES ('2026-01-01T00:00:00Z', 'old', 'create', 'lab', 'lab7', 'accepted')"
        )
    assert verify_audit(db).problems == [
        "entry 3 is not sealed",
        "the chain breaks at entry 3: the entry before it was changed, deleted or inserted",
    ]
    await write_entries(db, 1)  # opening the store seals the backlog first
    report = verify_audit(db)
    assert report.intact and report.entries == 4


async def test_the_cli_verifies_and_exports(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    await write_entries(data / "flightdeck.db", 3)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("FLIGHTDECK_", "TEMPORAL_"))},
        "FLIGHTDECK_DATA_DIR": str(data),
    }
    code, out, _ = await run_cli("audit", "verify", env=env)
    assert code == 0 and out.startswith("audit log intact: 3 entries, head ")

    exported = tmp_path / "audit.jsonl"
    code, out, _ = await run_cli("audit", "export", "-o", str(exported), env=env)
    assert code == 0 and "wrote 3 entries" in out
    lines = [json.loads(line) for line in exported.read_text().splitlines()]
    assert [e["actor"] for e in lines] == ["user0", "user1", "user2"]
    assert lines[1]["prev_hash"] == lines[0]["hash"] and lines[0]["details"] == {}
    assert export_audit(data / "flightdeck.db", None) == 3

    tamper(data / "flightdeck.db", "DELETE FROM audit_log WHERE id = 2")
    code, out, _ = await run_cli("audit", "verify", env=env)
    assert code == 1
    assert out.splitlines() == [
        "entry 2 was deleted (the chain breaks at 3)",
        "audit log NOT intact: 1 problems in 2 entries",
    ]
    code, _, err = await run_cli("audit", "verify", "--data-dir", str(tmp_path / "nope"), env=env)
    assert code == 2 and err.strip().startswith("flightdeck: error: no Flightdeck database at")
