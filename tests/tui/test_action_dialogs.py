"""Action dialogs, built from each action's request model: keys, what is sent (decision, round,
who, one idempotency key per dialog), destructive confirmations and the server's answers."""

from __future__ import annotations

import httpx
from textual.pilot import Pilot
from textual.widgets import Input, Static

from tests.tui.fake_api import FakeApi, json_body
from tests.tui.harness import RecordingApp, burst, refresh, screen_text, settle, show_view
from tui.screens.action_screen import ActionScreen
from tui.screens.entity_list_screen import EntityListScreen
from tui.widgets.choice_selector import ChoiceSelector
from tui.widgets.entity_table import EntityTable

SIZE = (120, 36)


def help_line(app: RecordingApp) -> str:
    return str(app.screen.query_one("#dialog-help", Static).render())


async def open_dialog(pilot: Pilot[None], view: str, entity_id: str, key: str) -> ActionScreen:
    """In `view`, select `entity_id` and press the action's key."""
    await show_view(pilot, view)
    await refresh(pilot)
    table = pilot.app.screen.query_one(EntityTable)
    table.select_key(entity_id)
    await pilot.press(key)
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, ActionScreen), getattr(pilot.app, "notes", None)
    return screen


async def test_review_keys_choose_and_name_the_decision(app: RecordingApp, api: FakeApi) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await open_dialog(pilot, "labs", "lab-1", "r")
        selector = app.screen.query_one(ChoiceSelector)
        assert selector.has_focus
        assert selector.keys == ["a", "c"]  # r opened the dialog, so it chooses nothing
        assert help_line(app) == "a/c or ←→ choose · tab field · enter send · esc back"
        assert "○ a Approve   ○ c Request changes" in screen_text(app)
        await pilot.press("c")
        assert selector.value == "request_changes"
        assert "◉ c Request changes" in screen_text(app)
        await pilot.press("a")
        assert selector.value == "approve"
        assert "◉ a Approve" in screen_text(app)
        await pilot.press("right")
        assert selector.value == "request_changes"
        await pilot.press("tab")
        assert help_line(app) == "type the value · tab field · enter send · esc back"


async def test_review_sends_decision_round_reviewer_and_a_key(
    app: RecordingApp, api: FakeApi
) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await open_dialog(pilot, "labs", "lab-1", "r")
        await pilot.press("a", "tab", *"looks good", "enter")
        await settle(pilot)
        [request] = api.action_calls("review")
        assert request.url.path == "/api/v1/labs/lab-1/review"
        body = json_body(request)
        assert body == {
            "decision": "approve",
            "reviewer": "carol",
            "comment": "looks good",
            "request_id": "r-7",
            "idempotency_key": body["idempotency_key"],
        }
        assert len(body["idempotency_key"]) >= 16
        assert isinstance(app.screen, EntityListScreen)
        [note] = app.notes_with("lab lab-1: review accepted")
        assert note.severity == "information"


async def test_review_without_a_decision_says_which_keys_choose(
    app: RecordingApp, api: FakeApi
) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await open_dialog(pilot, "labs", "lab-1", "r")
        await pilot.press("tab", *"hmm", "enter")
        await settle(pilot)
        assert app.notes_with("decision: choose one")
        assert app.screen.query_one(ChoiceSelector).has_focus
        assert app.screen.query_one("#field-comment", Input).value == "hmm"
        assert api.action_calls() == []


async def test_cancel_is_a_danger_dialog_that_needs_a_reason(
    app: RecordingApp, api: FakeApi
) -> None:
    async with app.run_test(size=SIZE) as pilot:
        dialog = await open_dialog(pilot, "labs", "lab-2", "c")
        assert dialog.query_one(".dialog").has_class("danger")
        assert "Cancel lab search-canary? Its environment will be torn down." in screen_text(app)
        assert help_line(app) == "type the value · enter confirm · esc back"
        await pilot.press("enter")
        await settle(pilot)
        assert app.notes_with("reason: required")
        assert api.action_calls() == []
        await pilot.press(*"wrong blueprint", "enter")
        await settle(pilot)
        [request] = api.action_calls("cancel")
        assert request.url.path == "/api/v1/labs/lab-2/cancel"
        body = json_body(request)
        assert (body["reason"], body["actor"]) == ("wrong blueprint", "carol")
        assert body["idempotency_key"]
        assert isinstance(app.screen, EntityListScreen)


async def test_escape_backs_out_of_a_dialog_and_sends_nothing(
    app: RecordingApp, api: FakeApi
) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await open_dialog(pilot, "labs", "lab-2", "c")
        await pilot.press(*"second thoughts", "escape")
        await settle(pilot)
        assert isinstance(app.screen, EntityListScreen)
        assert api.action_calls() == []


async def test_409_shows_the_server_reason_and_closes(app: RecordingApp, api: FakeApi) -> None:
    api.action_response = httpx.Response(
        409, json={"detail": "lab payments-db is not waiting for review (phase: finalizing)"}
    )
    async with app.run_test(size=SIZE) as pilot:
        await open_dialog(pilot, "labs", "lab-1", "r")
        await pilot.press("a", "enter")
        await settle(pilot)
        [note] = app.notes_with("not waiting for review (phase: finalizing)")
        assert note.severity == "error"
        assert isinstance(app.screen, EntityListScreen)


async def test_422_keeps_the_dialog_open_with_the_message(app: RecordingApp, api: FakeApi) -> None:
    api.action_response = httpx.Response(422, json={"detail": "reason: too long"})
    async with app.run_test(size=SIZE) as pilot:
        await open_dialog(pilot, "labs", "lab-2", "c")
        await pilot.press(*"because", "enter")
        await settle(pilot)
        assert app.notes_with("reason: too long")
        assert isinstance(app.screen, ActionScreen)
        assert app.screen.query_one("#field-reason", Input).value == "because"


async def test_a_resend_after_a_network_error_uses_the_same_key(
    app: RecordingApp, api: FakeApi
) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await open_dialog(pilot, "tenants", "tn-2", "t")
        api.reachable = False
        await pilot.press(*"dns fixed", "enter")
        await settle(pilot)
        assert isinstance(app.screen, ActionScreen)
        assert app.notes_with("cannot reach backend")
        api.reachable = True
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, EntityListScreen)
        first, second = api.action_calls("retry")
        assert json_body(first)["idempotency_key"] == json_body(second)["idempotency_key"]
        assert json_body(second) == {
            "comment": "dns fixed",
            "actor": "carol",
            "request_id": "i-1",
            "idempotency_key": json_body(first)["idempotency_key"],
        }


async def test_each_dialog_gets_its_own_key(app: RecordingApp, api: FakeApi) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await open_dialog(pilot, "labs", "lab-2", "c")
        await pilot.press(*"one", "enter")
        await settle(pilot)
        await pilot.press("c", *"two", "enter")
        await settle(pilot)
        keys = [json_body(r)["idempotency_key"] for r in api.action_calls("cancel")]
        assert len(keys) == 2 and keys[0] != keys[1]


async def test_deprovision_form_has_an_integer_and_switches(
    app: RecordingApp, api: FakeApi
) -> None:
    async with app.run_test(size=SIZE) as pilot:
        dialog = await open_dialog(pilot, "tenants", "tn-1", "d")
        assert dialog.query_one(".dialog").has_class("danger")
        assert "Deprovision tenant acme?" in screen_text(app)
        grace = dialog.query_one("#field-grace-period-hours", Input)
        assert (grace.value, grace.type) == ("0", "integer")
        await pilot.press("backspace", "4", "8", "tab")
        assert help_line(app) == "space yes / no · tab field · enter confirm · esc back"
        await pilot.press("space", "enter")
        await settle(pilot)
        [request] = api.action_calls("deprovision")
        assert request.url.path == "/api/v1/tenants/tn-1/deprovision"
        body = json_body(request)
        assert body == {
            "grace_period_hours": 48,
            "backup": False,
            "notify_users": True,
            "actor": "carol",
            "idempotency_key": body["idempotency_key"],
        }


async def test_names_from_data_are_not_read_as_markup(app: RecordingApp, api: FakeApi) -> None:
    lab = api.entity("lab-2").model_copy(update={"name": "[bold red]x[/]"})
    api.replace(lab)
    async with app.run_test(size=SIZE) as pilot:
        await open_dialog(pilot, "labs", "lab-2", "c")
        assert "Cancel · lab [bold red]x[/]" in screen_text(app)
        assert "Cancel lab [bold red]x[/]?" in screen_text(app)


async def test_keys_typed_in_one_burst_fill_the_dialog_in_order(
    app: RecordingApp, api: FakeApi
) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await show_view(pilot, "labs")
        await burst(pilot, "r", "c", "tab", "n", "o", "enter")
        [request] = api.action_calls("review")
        body = json_body(request)
        assert (body["decision"], body["comment"]) == ("request_changes", "no")
        await show_view(pilot, "tenants")
        await burst(pilot, "n", "a", "c", "m", "e", "tab", "e", "tab", *"a@b.io", "enter")
        assert json_body(api.create_route.calls.last.request)["plan"] == "enterprise"
        assert json_body(api.create_route.calls.last.request)["admin_email"] == "a@b.io"


async def test_keys_the_role_may_not_use_are_hidden_and_refused(api: FakeApi) -> None:
    """A viewer sees no action keys; pressing one says why; the API is not asked."""
    from backend.domain.identity import Me, Role
    from tests.tui.fake_api import BASE_URL, SPECS, TOKEN
    from tests.tui.harness import RecordingApp, settle, show_view
    from tui.screens.entity_list_screen import EntityListScreen

    api.me = Me(name="vic", roles=[Role.VIEWER], via="token", four_eyes=True)
    app = RecordingApp(BASE_URL, TOKEN, refresh_interval=3600, user="carol", specs=SPECS)
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        await show_view(pilot, "labs")
        assert isinstance(app.screen, EntityListScreen)
        shown = {key for key, active in app.screen.active_bindings.items() if active.enabled}
        assert "r" not in shown and "c" not in shown
        assert "vic (viewer)" in (app.sub_title or "")
        await pilot.press("r")
        await settle(pilot)
        assert not api.action_calls()
