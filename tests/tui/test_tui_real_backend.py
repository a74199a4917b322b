"""The TUI against the real backend (API, store, worker, Temporal dev server), in-process over
ASGI: create a lab with `n`, watch it reach review, approve it with `r`, see it running."""

from __future__ import annotations

import httpx

from backend.api.app import create_app
from backend.domains.labs.model import LabStatus
from tests.api.conftest import TOKEN, api_context
from tests.stack import Stack
from tests.tui.harness import RecordingApp, settle, wait_until
from tui.screens.action_screen import ActionScreen
from tui.screens.create_screen import CreateScreen
from tui.screens.entity_list_screen import EntityListScreen
from tui.widgets.entity_table import EntityTable

PATIENCE = {"attempts": 600, "step": 0.05}
"""Up to 30 s for the workflow to move (each wait ends as soon as the condition holds)."""


async def test_create_and_approve_a_lab_from_the_keyboard(stack: Stack) -> None:
    transport = httpx.ASGITransport(app=create_app(api_context(stack)))
    app = RecordingApp(
        "http://flightdeck", TOKEN, transport=transport, refresh_interval=0.1, user="oncall"
    )
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, EntityListScreen))
        assert app.screen.title == "Flightdeck ▸ labs"  # nothing waits yet: the first domain
        await pilot.press("n")
        await wait_until(pilot, lambda: isinstance(app.screen, CreateScreen))
        await pilot.press(*"tui-lab", "enter")
        await wait_until(pilot, lambda: isinstance(app.screen, EntityListScreen), **PATIENCE)
        assert app.notes_with("lab tui-lab created"), app.notes
        table = app.screen.query_one(EntityTable)
        await wait_until(pilot, lambda: table.selected_key is not None, **PATIENCE)
        lab_id = table.selected_key
        assert lab_id is not None
        record = await stack.record("lab", lab_id)
        assert (record.name, record.requested_by) == ("tui-lab", "oncall")

        def awaiting_review() -> bool:
            cells = table.cells_of(lab_id) if lab_id in table.rows else {}
            return cells.get("status") == "awaiting review" and "review" in cells.get("note", "")

        await wait_until(pilot, awaiting_review, **PATIENCE)
        await wait_until(pilot, lambda: table.entities[0].progress is not None, **PATIENCE)
        await pilot.press("r")
        await wait_until(pilot, lambda: isinstance(app.screen, ActionScreen))
        await pilot.press("a", "tab", *"ship it", "enter")
        await wait_until(pilot, lambda: isinstance(app.screen, EntityListScreen), **PATIENCE)
        assert app.notes_with("lab tui-lab reviewed: approve (review-1)"), app.notes

        await stack.wait_status("lab", lab_id, LabStatus.RUNNING)
        await wait_until(
            pilot,
            lambda: (
                table.cells_of(lab_id)["status"] == "running"
                and table.cells_of(lab_id)["progress"].endswith("100%")
            ),
            **PATIENCE,
        )
        await settle(pilot)
    entries = await stack.services.audit.list()
    assert [(e.action, e.actor) for e in entries] == [
        ("review.approve", "oncall"),
        ("create", "oncall"),
    ]
    assert entries[0].reason == "ship it"
