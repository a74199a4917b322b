"""A lab's details: fields, live percent, steps, awaited review, last error and review history."""

from __future__ import annotations

import io

from rich.console import Console
from textual.pilot import Pilot

from backend.domain.labs import LabStatus
from tests.tui.fake_api import FakeApi, make_lab
from tests.tui.harness import RecordingApp, settle
from tui.screens.lab_detail_screen import LabDetailScreen
from tui.screens.review_screen import ReviewScreen
from tui.widgets.decisions_table import DecisionsTable
from tui.widgets.keyed_table import KeyedTable
from tui.widgets.lab_overview import LabOverview
from tui.widgets.labs_table import LabsTable
from tui.widgets.steps_table import StepsTable

SIZE = (120, 36)


def overview_text(app: RecordingApp) -> str:
    """The overview panel as plain text."""
    console = Console(width=110, record=True, file=io.StringIO())
    console.print(app.screen.query_one(LabOverview).render())
    return console.export_text()


def column(table: KeyedTable, key: str) -> list[str]:
    return [text.plain for text in table.get_column(key)]


async def open_details(pilot: Pilot[None], lab_id: str) -> None:
    await settle(pilot)
    while pilot.app.screen.query_one(LabsTable).selected_lab_id != lab_id:
        await pilot.press("down")
    await pilot.press("enter")
    await settle(pilot)
    assert isinstance(pilot.app.screen, LabDetailScreen)


async def test_details_show_steps_awaited_review_and_review_history(
    app: RecordingApp, api: FakeApi
) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await open_details(pilot, "lab-1")
        text = overview_text(app)
        assert "awaiting review" in text
        assert "round r-7" in text
        assert "Validation passed: approve to finalize" in text
        assert "phase awaiting review  " + "█" * 21 + "░" * 9 + "  70%" in text
        steps = app.screen.query_one(StepsTable)
        assert column(steps, "name")[:5] == [
            "LockLab",
            "GenerateBlueprint",
            "ProvisionEnvironment",
            "RunValidation",
            "RequestHumanReview",
        ]
        assert column(steps, "state")[3:5] == ["completed", "waiting"]
        assert column(steps, "duration")[0] == "15s"
        assert column(steps, "attempt")[4] == "2"
        decisions = app.screen.query_one(DecisionsTable)
        assert column(decisions, "decision") == ["request changes"]
        assert column(decisions, "actor") == ["bob"]
        assert column(decisions, "comment") == ["open port 22 too"]


async def test_details_show_the_last_error_of_a_failed_lab(app: RecordingApp, api: FakeApi) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await open_details(pilot, "lab-4")
        assert "last error RunValidation: smoke test failed (3 attempts)" in overview_text(app)


async def test_details_refresh_live(app: RecordingApp, api: FakeApi) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await open_details(pilot, "lab-2")
        api.replace(make_lab("lab-2", "search-canary", LabStatus.VALIDATING, percent=80))
        await pilot.press("f5")
        await settle(pilot)
        assert " 80%" in overview_text(app)
        assert api.get_route.calls.last.request.url.path == "/api/v1/labs/lab-2"


async def test_review_key_works_on_the_details(app: RecordingApp, api: FakeApi) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await open_details(pilot, "lab-1")
        await pilot.press("r")
        await settle(pilot)
        assert isinstance(app.screen, ReviewScreen)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, LabDetailScreen)


async def test_cancel_key_on_the_details_asks_first(app: RecordingApp, api: FakeApi) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await open_details(pilot, "lab-2")
        await pilot.press("c", *"not needed", "enter")
        await settle(pilot)
        assert api.cancel_route.calls.last.request.url.path == "/api/v1/labs/lab-2/cancel"
        assert isinstance(app.screen, LabDetailScreen)
