"""Driving the Flightdeck app in tests: an app that records notifications, ways to wait, and
the screen as plain text."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from textual import events
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


def screen_text(app: FlightdeckApp) -> str:
    """What the terminal shows now, as plain text (dialogs over the screen beneath them)."""
    width, height = app.size
    console = Console(
        width=width, height=height, file=io.StringIO(), record=True, legacy_windows=False
    )
    console.print(
        app.screen._compositor.render_update(full=True, screen_stack=app._background_screens)
    )
    return console.export_text()


async def settle(pilot: Pilot[None]) -> None:
    """Let running workers finish and the messages they posted be handled."""
    for _ in range(3):
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


async def goto(pilot: Pilot[None], view: str) -> None:
    """Switch view as a user does: `:`, the name, Enter."""
    await pilot.press("colon", *view, "enter")
    await settle(pilot)


async def refresh(pilot: Pilot[None]) -> None:
    """Press f5 and wait for the answer."""
    await pilot.press("f5")
    await settle(pilot)


async def show_view(pilot: Pilot[None], view: str) -> None:
    """Switch view directly (what `:` + name + Enter does, without typing it)."""
    app = pilot.app
    assert isinstance(app, FlightdeckApp)
    await settle(pilot)
    app.open_view(view)
    await settle(pilot)


KEY_CHARACTERS = {"colon": ":", "enter": "\r", "tab": "\t", "space": " ", "escape": "\x1b"}


async def burst(pilot: Pilot[None], *keys: str) -> None:
    """Deliver keys all at once, as a fast typist over SSH does (no waiting between them)."""
    for key in keys:
        character = KEY_CHARACTERS.get(key, key if len(key) == 1 else None)
        pilot.app.post_message(events.Key(key, character))
    await settle(pilot)
