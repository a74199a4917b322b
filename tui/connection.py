"""Whether the backend answers and takes our token, as the TUI knows it, and the messages that
change that. Screens post one of these after every request; the app keeps the state."""

from __future__ import annotations

from enum import StrEnum

from textual.message import Message

from tui.errors import ApiError, BackendUnreachable, FlightdeckError

UNAUTHORIZED = 401


class ConnectionState(StrEnum):
    """Where the TUI stands with the backend."""

    CONNECTING = "connecting"
    CONNECTED = "connected"
    DISCONNECTED = "disconnected — retrying"
    TOKEN_REFUSED = "✗ token refused — check the API token (flightdeck tui --token-file)"


class BackendReached(Message):
    """A request was answered with the token accepted (even with an error status)."""


class BackendLost(Message):
    """A request got no answer: the backend or the network is down."""

    def __init__(self, reason: str) -> None:
        super().__init__()
        self.reason = reason


class TokenRefused(Message):
    """The backend answered 401: the token is wrong; nothing works until it is fixed."""

    def __init__(self, reason: str) -> None:
        super().__init__()
        self.reason = reason


def connection_message(error: FlightdeckError | None) -> Message:
    """What a request's fate says about the connection (None: it succeeded)."""
    if isinstance(error, BackendUnreachable):
        return BackendLost(error.message)
    if isinstance(error, ApiError) and error.status == UNAUTHORIZED:
        return TokenRefused(error.message)
    if isinstance(error, ApiError) and error.status == 0:
        return BackendLost(error.message)
    return BackendReached()


def is_connection_problem(error: FlightdeckError) -> bool:
    """True for errors the connection line already shows (so screens do not toast them too)."""
    return not isinstance(connection_message(error), BackendReached)
