"""Timestamps as the store writes them: UTC, ISO 8601."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now() -> datetime:
    """The current time in UTC."""
    return datetime.now(UTC)


def to_text(moment: datetime | None) -> str | None:
    """A timestamp for a TEXT column (UTC ISO 8601), or None."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat()


def from_text(value: str | None) -> datetime | None:
    """A timestamp read back from a TEXT column, or None."""
    return datetime.fromisoformat(value) if value else None
