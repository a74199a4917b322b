"""The TUI against the real backend (app, store, worker, dev server), in-process over ASGI:
create a lab with `n`, watch it reach review, approve it with `r`, see it running."""

from __future__ import annotations

import httpx
from textual.widgets import DataTable

from backend.api.app import create_app
from backend.domain.labs import LabStatus
from tests.api.conftest import TOKEN, api_context
from tests.stack import LabStack
from tests.tui.harness import RecordingApp, settle, wait_until
from tui.screens.labs_screen import LabsScreen
from tui.screens.review_screen import ReviewScreen


async def test_create_and_approve_a_lab_from_the_keyboard(stack: LabStack) -> None:
    transport = httpx.ASGITransport(app=create_app(api_context(stack)))
    app = RecordingApp(
        "http://flightdeck", TOKEN, transport=transport, refresh_interval=0.2, user="oncall"
    )
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        await pilot.press(*"tui-lab", "enter")
        await settle(pilot)
        assert isinstance(app.screen, LabsScreen), app.notes
        records, total = await stack.labs.list()
        assert total == 1 and records[0].name == "tui-lab" and records[0].requested_by == "oncall"
        lab_id = records[0].id

        table = app.screen.query_one(DataTable)
        await wait_until(
            pilot, lambda: "awaiting" in str(table.get_row(lab_id)), attempts=300, step=0.05
        )
        await wait_until(
            pilot,
            lambda: (
                (lab := app.screen.selected_lab) is not None  # type: ignore[attr-defined]
                and lab.progress is not None
                and lab.progress.awaiting is not None
            ),
            attempts=300,
            step=0.05,
        )
        await pilot.press("r")
        await settle(pilot)
        assert isinstance(app.screen, ReviewScreen), app.notes
        await pilot.press(*"ship it", "enter")
        await settle(pilot)
        record = await stack.labs.get(lab_id)
        for _ in range(300):
            record = await stack.labs.get(lab_id)
            if record is not None and record.status == LabStatus.RUNNING:
                break
            await pilot.pause(0.05)
        assert record is not None and record.status == LabStatus.RUNNING
        await wait_until(
            pilot,
            lambda: (
                "running" in str(table.get_row(lab_id)) and "100%" in str(table.get_row(lab_id))
            ),
            attempts=300,
            step=0.05,
        )
        assert "100%" in str(table.get_row(lab_id))
    entries = await stack.audit.list()
    assert [(e.action, e.actor) for e in entries] == [
        ("review.approve", "oncall"),
        ("create", "oncall"),
    ]
    assert entries[0].reason == "ship it"
