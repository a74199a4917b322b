"""Whether the backend answers, as the TUI knows it, and the messages that change that."""

from __future__ import annotations

from enum import StrEnum

from textual.message import Message


class ConnectionState(StrEnum):
    """Where the TUI stands with the backend."""

    CONNECTING = "connecting"
    CONNECTED = "connected"
    DISCONNECTED = "disconnected — retrying"


class BackendReached(Message):
    """A request got an answer (even an error status): the backend is up."""


class BackendLost(Message):
    """A request got no answer: the backend or the network is down."""

    def __init__(self, reason: str) -> None:
        super().__init__()
        self.reason = reason
