"""TUI clients of the API: the TUI's own `FlightdeckClient`, polling as its screens do (every
kind's list with its live ids, then Needs you), counting what each refresh ended in."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from backend.domain.catalog import all_specs
from tests.faults.split import Monitor
from tui.client import FlightdeckClient
from tui.errors import ApiError, BackendUnreachable

REFRESH_SECONDS = 0.5
"""Between two refreshes (the TUI waits a second; faster here, so a short outage is seen)."""
LIVE_LIMIT = 50


class TuiPoller:
    """One TUI's refresh loop; every outcome counted, anything but the client's own errors kept
    as a crash."""

    def __init__(self, name: str, url: str, token: str, monitor: Monitor) -> None:
        self.name = name
        self.client = FlightdeckClient(url, token)
        self._monitor = monitor
        self.outcomes: Counter[str] = Counter()
        """`ok`, `unreachable`, or `api <status>` per request."""
        self.crashes: list[BaseException] = []
        """Exceptions a TUI would not have caught (none expected)."""
        self.unreachable_at: list[float] = []
        """When each BackendUnreachable was raised."""
        self.ok_at = 0.0
        """When a request last succeeded."""

    async def refresh(self) -> None:
        """One refresh of every list (in-flight entities as live ids) and of Needs you."""
        live = [t.id for t in self._monitor.in_flight()][:LIVE_LIMIT]
        for spec in all_specs():
            await self._call(self.client.list_entities(spec, live=live))
        await self._call(self.client.needs())

    async def _call(self, request: object) -> None:
        assert asyncio.iscoroutine(request)
        try:
            await request
        except BackendUnreachable:
            self.outcomes["unreachable"] += 1
            self.unreachable_at.append(time.monotonic())
        except ApiError as err:
            self.outcomes[f"api {err.status}"] += 1
        except Exception as err:  # what would crash the TUI
            self.outcomes["crash"] += 1
            self.crashes.append(err)
        else:
            self.outcomes["ok"] += 1
            self.ok_at = time.monotonic()

    async def run(self) -> None:
        while True:
            await self.refresh()
            await asyncio.sleep(REFRESH_SECONDS)


@asynccontextmanager
async def tui_clients(
    count: int, url: str, token: str, monitor: Monitor
) -> AsyncIterator[list[TuiPoller]]:
    """`count` TUIs refreshing in the background for the duration of the block."""
    pollers = [TuiPoller(f"tui-{n}", url, token, monitor) for n in range(count)]
    tasks = [asyncio.create_task(p.run(), name=p.name) for p in pollers]
    try:
        yield pollers
    finally:
        for poller, task in zip(pollers, tasks, strict=True):
            if task.done() and not task.cancelled() and task.exception() is not None:
                poller.crashes.append(task.exception())  # type: ignore[arg-type]
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for poller in pollers:
            await poller.client.aclose()
