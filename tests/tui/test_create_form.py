"""Create forms of every domain, built from its `create` model: what they send, that bad input is
refused before sending, and that errors keep what was typed."""

from __future__ import annotations

import httpx
from textual.pilot import Pilot
from textual.widgets import Input

from tests.tui.fake_api import FakeApi, json_body
from tests.tui.harness import RecordingApp, screen_text, settle, show_view
from tui.screens.create_screen import CreateScreen
from tui.screens.entity_list_screen import EntityListScreen
from tui.widgets.choice_selector import ChoiceSelector
from tui.widgets.entity_table import EntityTable

SIZE = (120, 36)


def field(app: RecordingApp, name: str) -> Input:
    return app.screen.query_one(f"#field-{name}", Input)


async def open_form(pilot: Pilot[None], view: str) -> None:
    await show_view(pilot, view)
    await pilot.press("n")
    await settle(pilot)
    assert isinstance(pilot.app.screen, CreateScreen)


async def test_new_lab_form_sends_the_typed_lab(app: RecordingApp, api: FakeApi) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await open_form(pilot, "labs")
        assert field(app, "name").has_focus
        assert field(app, "ttl-hours").value == "8"
        assert app.screen.query_one(ChoiceSelector).value == "medium"
        await pilot.press(*"search-canary-2", "tab", "h")
        rows = list(app.screen.query(".form-row"))
        assert [row.has_class("-focused") for row in rows] == [False, True, False]
        await pilot.press("tab", "backspace", "1", "2")
        await pilot.press("enter")
        await settle(pilot)
        assert json_body(api.create_route.calls.last.request) == {
            "name": "search-canary-2",
            "requested_by": "carol",
            "severity": "high",
            "ttl_hours": 12,
        }
        assert isinstance(app.screen, EntityListScreen)
        assert app.notes_with("lab search-canary-2 created")
        assert app.screen.query_one(EntityTable).selected_key == "lab-new"


async def test_new_tenant_form_is_built_from_its_model(app: RecordingApp, api: FakeApi) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await open_form(pilot, "tenants")
        text = screen_text(app)
        assert "New tenant" in text
        assert "◉ s Standard" in text and "◉ u us-east-1" in text
        assert "requested by" not in text  # filled by the client
        await pilot.press(*"hooli", "tab", "e", "tab", *"ops@hooli.example", "tab", "c")
        await pilot.press("enter")
        await settle(pilot)
        assert json_body(api.create_route.calls.last.request) == {
            "name": "hooli",
            "plan": "enterprise",
            "admin_email": "ops@hooli.example",
            "region": "eu-central-1",
            "requested_by": "carol",
        }
        assert isinstance(app.screen, EntityListScreen)
        assert app.screen.query_one(EntityTable).selected_key == "tn-new"


async def test_a_bad_name_is_refused_before_sending(app: RecordingApp, api: FakeApi) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await open_form(pilot, "tenants")
        await pilot.press(*"Bad Name", "tab", "tab", *"ops@x.example", "enter")
        await settle(pilot)
        [note] = app.notes_with("name: lower-case letters, digits and dashes")
        assert note.severity == "error"
        assert not api.create_route.called
        assert field(app, "name").has_focus
        assert field(app, "name").value == "Bad Name"
        assert field(app, "admin-email").value == "ops@x.example"


async def test_a_missing_required_field_is_named(app: RecordingApp, api: FakeApi) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await open_form(pilot, "tenants")
        await pilot.press(*"hooli", "enter")
        await settle(pilot)
        assert app.notes_with("admin email: required")
        assert field(app, "admin-email").has_focus
        assert not api.create_route.called


async def test_a_bad_number_is_refused_before_sending(app: RecordingApp, api: FakeApi) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await open_form(pilot, "labs")
        await pilot.press(*"quick-lab", "tab", "tab", "backspace", "0", "enter")
        await settle(pilot)
        assert app.notes_with("ttl hours: Input should be greater than or equal to 1")
        assert field(app, "ttl-hours").has_focus
        assert not api.create_route.called


async def test_server_errors_keep_the_form_and_what_was_typed(
    app: RecordingApp, api: FakeApi
) -> None:
    api.create_response = httpx.Response(
        409, json={"detail": "an active lab is already named 'quick-lab'"}
    )
    async with app.run_test(size=SIZE) as pilot:
        await open_form(pilot, "labs")
        await pilot.press(*"quick-lab", "enter")
        await settle(pilot)
        [note] = app.notes_with("an active lab is already named 'quick-lab'")
        assert note.severity == "error"
        assert isinstance(app.screen, CreateScreen)
        assert field(app, "name").value == "quick-lab"
        api.create_response = None
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, EntityListScreen)


async def test_escape_closes_the_form_without_sending(app: RecordingApp, api: FakeApi) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await open_form(pilot, "labs")
        await pilot.press(*"never", "escape")
        await settle(pilot)
        assert isinstance(app.screen, EntityListScreen)
        assert not api.create_route.called
