"""The data dir is private to its user: directories 0700 and the database, its WAL and the
keys 0600, also when the directory existed before with wider permissions."""

from __future__ import annotations

from pathlib import Path

from backend.config import Settings
from backend.store.database import Database


async def test_the_data_dir_is_private_even_when_it_existed(tmp_path: Path) -> None:
    data = tmp_path / "shared"
    data.mkdir(mode=0o755)
    (data / "flightdeck.db").touch(mode=0o644)
    settings = Settings(data_dir=data)
    settings.paths.ensure()
    database = await Database.open(settings.paths.db)
    await database.close()
    assert oct(data.stat().st_mode & 0o777) == "0o700"
    for name in ("flightdeck.db", "flightdeck.db-wal", "audit-key"):
        path = data / name
        if path.exists():
            assert oct(path.stat().st_mode & 0o777) == "0o600", name
