"""Errors the TUI's API client raises, each carrying one line a person can read."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

_LOCATION_ROOTS = frozenset({"body", "query", "path", "header", "cookie"})


class FlightdeckError(Exception):
    """Anything that went wrong talking to the backend; `message` is one readable line."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ApiError(FlightdeckError):
    """The backend answered with an error status (4xx / 5xx) or an unreadable body."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status

    def __repr__(self) -> str:
        return f"ApiError(status={self.status!r}, message={self.message!r})"


class BackendUnreachable(FlightdeckError):
    """The backend did not answer: connection refused, reset or timed out."""

    def __repr__(self) -> str:
        return f"BackendUnreachable({self.message!r})"


def one_line(text: str, limit: int = 300) -> str:
    """Collapse whitespace and newlines so a message fits one notification line."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def format_validation_errors(errors: Iterable[Mapping[str, Any]]) -> str:
    """Turn pydantic / FastAPI validation errors into one line: `name: String should match ...`."""
    parts: list[str] = []
    for error in errors:
        location = _format_location(error.get("loc", ()))
        message = str(error.get("msg", "invalid value"))
        part = f"{location}: {message}" if location else message
        if part not in parts:
            parts.append(part)
    return one_line("; ".join(parts)) if parts else "invalid input"


def _format_location(loc: Any) -> str:
    if not isinstance(loc, Sequence) or isinstance(loc, str):
        return str(loc) if loc else ""
    items = list(loc)
    if items and items[0] in _LOCATION_ROOTS:
        items = items[1:]
    return ".".join(str(item) for item in items)
