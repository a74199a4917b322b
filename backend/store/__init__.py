"""Flightdeck's own records in SQLite (aiosqlite, WAL): entities and the append-only audit log."""
