"""Driving the Flightdeck app in tests: an app that records notifications, and ways to wait."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from textual.notifications import SeverityLevel
from textual.pilot import Pilot

from tui.app import FlightdeckApp


@dataclass(frozen=True)
class Note:
    """One notification the app showed."""

    message: str
    title: str
    severity: SeverityLevel


class RecordingApp(FlightdeckApp):
    """The real app, remembering every notification it raised."""

    def __init__(self, api_url: str, token: str | None = None, **kwargs: Any) -> None:
        super().__init__(api_url, token, **kwargs)
        self.notes: list[Note] = []

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        self.notes.append(Note(message, title, severity))
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=markup)

    def notes_with(self, text: str) -> list[Note]:
        """Notifications whose title or message contains `text`."""
        return [note for note in self.notes if text in note.message or text in note.title]


async def settle(pilot: Pilot[None]) -> None:
    """Let running workers finish and the messages they posted be handled."""
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def wait_until(
    pilot: Pilot[None], condition: Callable[[], bool], *, attempts: int = 200, step: float = 0.01
) -> None:
    """Poll `condition` between short pauses; fail if it never holds."""
    for _ in range(attempts):
        if condition():
            return
        await pilot.pause(step)
    raise AssertionError("condition never became true")
