"""In-process wake-ups for actions waiting on a workflow's verdict or on another request's answer.

Status reports (from this process's worker, or a remote one through the internal API) note a
workflow's verdict in the store and ring here, so the action that sent the signal answers at once
instead of polling Temporal.
"""

from __future__ import annotations

import asyncio


class Bell:
    """Named events: `wait(key, timeout)` returns early when `ring(key)` is called."""

    def __init__(self) -> None:
        self._events: dict[str, asyncio.Event] = {}
        self._waiters: dict[str, int] = {}

    def ring(self, key: str) -> None:
        """Wake whoever waits on `key`."""
        event = self._events.get(key)
        if event is not None:
            event.set()

    async def wait(self, key: str, seconds: float) -> bool:
        """Wait up to `seconds` for `key` to ring; True when it did."""
        event = self._events.setdefault(key, asyncio.Event())
        self._waiters[key] = self._waiters.get(key, 0) + 1
        try:
            await asyncio.wait_for(event.wait(), seconds)
            return True
        except TimeoutError:
            return False
        finally:
            self._waiters[key] -= 1
            if self._waiters[key] == 0:
                del self._waiters[key]
                self._events.pop(key, None)
