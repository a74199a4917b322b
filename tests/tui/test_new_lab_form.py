"""The new-lab form: what it sends, and that errors keep what the user typed."""

from __future__ import annotations

import httpx
from textual.pilot import Pilot
from textual.widgets import Input

from tests.tui.fake_api import FakeApi, json_body
from tests.tui.harness import RecordingApp, settle
from tui.screens.labs_screen import LabsScreen
from tui.screens.new_lab_screen import NewLabScreen
from tui.widgets.labs_table import LabsTable

SIZE = (120, 36)


def field(app: RecordingApp, widget_id: str) -> str:
    return app.screen.query_one(f"#{widget_id}", Input).value


async def open_form(pilot: Pilot[None]) -> None:
    await settle(pilot)
    await pilot.press("n")
    await settle(pilot)
    assert isinstance(pilot.app.screen, NewLabScreen)


async def test_new_lab_form_submits_the_typed_lab_as_json(app: RecordingApp, api: FakeApi) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await open_form(pilot)
        await pilot.press(*"search-canary-2")
        await pilot.press("tab", "enter", "down", "enter")  # severity: medium -> high
        await pilot.press("tab", "backspace", "1", "2")  # ttl hours: 12
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert json_body(api.create_route.calls.last.request) == {
            "name": "search-canary-2",
            "requested_by": "carol",
            "severity": "high",
            "ttl_hours": 12,
        }
        assert isinstance(app.screen, LabsScreen)
        assert app.notes_with("Lab search-canary-2 created")
        assert app.screen.query_one(LabsTable).selected_lab_id == "lab-new"


async def test_enter_in_a_field_submits_the_form(app: RecordingApp, api: FakeApi) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await open_form(pilot)
        await pilot.press(*"quick-lab", "enter")
        await settle(pilot)
        assert json_body(api.create_route.calls.last.request)["name"] == "quick-lab"
        assert isinstance(app.screen, LabsScreen)


async def test_server_validation_error_is_shown_in_one_line_and_the_input_kept(
    app: RecordingApp, api: FakeApi
) -> None:
    api.create_response = httpx.Response(
        422,
        json={
            "detail": [
                {"loc": ["body", "name"], "msg": "Value error, name is reserved", "type": "x"},
                {"loc": ["body", "ttl_hours"], "msg": "Input should be at most 48", "type": "y"},
            ]
        },
    )
    async with app.run_test(size=SIZE) as pilot:
        await open_form(pilot)
        await pilot.press(*"admin", "enter")
        await settle(pilot)
        [note] = app.notes_with("Lab not created")
        assert note.message == (
            "name: Value error, name is reserved; ttl_hours: Input should be at most 48"
        )
        assert note.severity == "error"
        assert isinstance(app.screen, NewLabScreen)
        assert field(app, "name") == "admin"
        assert field(app, "ttl") == "8"


async def test_name_taken_conflict_shows_the_server_message(
    app: RecordingApp, api: FakeApi
) -> None:
    api.create_response = httpx.Response(
        409, json={"detail": "an active lab is already called payments-db"}
    )
    async with app.run_test(size=SIZE) as pilot:
        await open_form(pilot)
        await pilot.press(*"payments-db", "enter")
        await settle(pilot)
        assert app.notes_with("an active lab is already called payments-db")
        assert field(app, "name") == "payments-db"


async def test_name_breaking_the_contract_is_refused_before_sending(
    app: RecordingApp, api: FakeApi
) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await open_form(pilot)
        await pilot.press(*"Bad Name", "enter")
        await settle(pilot)
        [note] = app.notes_with("Check the form")
        assert note.message.startswith("name: String should match pattern")
        assert not api.create_route.called
        assert field(app, "name") == "Bad Name"


async def test_unreachable_backend_keeps_the_form_open(app: RecordingApp, api: FakeApi) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await open_form(pilot)
        api.reachable = False
        await pilot.press(*"offline-lab", "enter")
        await settle(pilot)
        [note] = app.notes_with("Lab not created")
        assert "cannot reach backend" in note.message
        assert isinstance(app.screen, NewLabScreen)
        assert field(app, "name") == "offline-lab"


async def test_escape_closes_the_form_without_sending(app: RecordingApp, api: FakeApi) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await open_form(pilot)
        await pilot.press(*"never-mind", "escape")
        await settle(pilot)
        assert isinstance(app.screen, LabsScreen)
        assert not api.create_route.called
