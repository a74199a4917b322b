"""How the TUI writes times: short ages (`3m`), durations (`1m 05s`) and local clock times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def utc_now() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def format_age(since: datetime, now: datetime) -> str:
    """How long ago `since` was, in the largest whole unit: `45s`, `3m`, `2h`, `4d`."""
    seconds = max(0, int((_aware(now) - _aware(since)).total_seconds()))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m"
    if seconds < 48 * 3600:
        return f"{seconds // 3600}h"
    return f"{seconds // 86400}d"


def format_duration(length: timedelta) -> str:
    """A duration to the second: `850ms`, `12s`, `1m 05s`, `2h 03m`."""
    seconds = length.total_seconds()
    if seconds < 1:
        return f"{max(0, int(seconds * 1000))}ms"
    whole = int(seconds)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m {whole % 60:02d}s"
    return f"{whole // 3600}h {whole % 3600 // 60:02d}m"


def format_clock(moment: datetime | None, now: datetime) -> str:
    """A moment in local time: `14:03:09` today, `2025-11-21 14:03` otherwise, `—` if unknown."""
    if moment is None:
        return "—"
    local = _aware(moment).astimezone()
    if local.date() == _aware(now).astimezone().date():
        return local.strftime("%H:%M:%S")
    return local.strftime("%Y-%m-%d %H:%M")


def elapsed(started: datetime | None, finished: datetime | None, now: datetime) -> timedelta | None:
    """How long a step ran (or has been running), if it started."""
    if started is None:
        return None
    return _aware(finished or now) - _aware(started)
