"""Personal API tokens (`flightdeck token add NAME --role R`): stored as SHA-256 hashes, so the
database never holds a usable token; a token is shown once, when it is made."""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
from dataclasses import dataclass
from datetime import datetime

from backend.domain.identity import Principal, Role
from backend.store.clock import from_text, to_text, utc_now
from backend.store.database import Database

TOKEN_PREFIX = "fdt_"
"""Personal tokens start with this, so they are recognisable (e.g. by secret scanners)."""


class TokenExists(Exception):
    """A token with this name exists (revoke it first)."""


@dataclass(frozen=True)
class TokenInfo:
    """A token as `token list` shows it (never the token itself)."""

    name: str
    roles: list[Role]
    created_at: datetime
    revoked_at: datetime | None


def token_hash(token: str) -> str:
    """The stored form of a token."""
    return hashlib.sha256(token.encode()).hexdigest()


class TokenRepository:
    """Add, list, revoke and look up personal tokens."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def add(self, name: str, roles: list[Role]) -> str:
        """Make a token for `name` with `roles`; the token (shown once). TokenExists when the
        name has a token that is not revoked."""
        Principal(name=name, roles=roles, via="token")  # ValueError for an unusable name
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        try:
            async with self._db.transaction() as conn:
                await conn.execute(
                    "DELETE FROM api_tokens WHERE name = ? AND revoked_at IS NOT NULL", (name,)
                )
                await conn.execute(
                    "INSERT INTO api_tokens (name, roles, token_hash, created_at)"
                    " VALUES (?, ?, ?, ?)",
                    (name, ",".join(roles), token_hash(token), to_text(utc_now())),
                )
        except sqlite3.IntegrityError:
            raise TokenExists(name) from None
        return token

    async def list(self) -> list[TokenInfo]:
        """Every token, by name."""
        async with self._db.connection.execute("SELECT * FROM api_tokens ORDER BY name") as cur:
            rows = await cur.fetchall()
        return [
            TokenInfo(
                name=row["name"],
                roles=[Role(r) for r in row["roles"].split(",") if r],
                created_at=from_text(row["created_at"]) or utc_now(),
                revoked_at=from_text(row["revoked_at"]),
            )
            for row in rows
        ]

    async def revoke(self, name: str) -> bool:
        """Revoke `name`'s token; False when it has none in force."""
        async with self._db.transaction() as conn:
            cursor = await conn.execute(
                "UPDATE api_tokens SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL",
                (to_text(utc_now()), name),
            )
        return cursor.rowcount > 0

    async def principal(self, token: str) -> Principal | None:
        """The person a token in force belongs to."""
        async with self._db.connection.execute(
            "SELECT name, roles FROM api_tokens WHERE token_hash = ? AND revoked_at IS NULL",
            (token_hash(token),),
        ) as cur:
            row = await cur.fetchone()
        if row is None:
            return None
        roles = [Role(r) for r in row["roles"].split(",") if r]
        return Principal(name=row["name"], roles=roles, via="token")
