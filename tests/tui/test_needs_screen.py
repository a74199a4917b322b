"""Needs you: everything waiting for a person across domains, oldest first, answered in place
with the keys of the item's own domain, opening the same dialogs as everywhere else."""

from __future__ import annotations

from tests.tui.fake_api import FakeApi, json_body
from tests.tui.harness import RecordingApp, settle
from tui.screens.action_screen import ActionScreen
from tui.screens.entity_detail_screen import EntityDetailScreen
from tui.screens.needs_screen import NeedsScreen
from tui.widgets.needs_table import NeedsTable

SIZE = (120, 36)


def table(app: RecordingApp) -> NeedsTable:
    return app.screen.query_one(NeedsTable)


def shown_keys(app: RecordingApp) -> dict[str, str]:
    return {
        key: active.binding.description
        for key, active in app.screen.active_bindings.items()
        if active.binding.show and active.enabled
    }


async def test_lists_what_waits_across_domains_oldest_first(
    app: RecordingApp, api: FakeApi
) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, NeedsScreen)
        assert table(app).row_keys == ["tenant:tn-2", "lab:lab-1"]
        assert table(app).cells_of("tenant:tn-2") == {
            "kind": "tenant",
            "name": "globex",
            "awaiting": "intervention",
            "age": "5m",
            "keys": "t retry step · m mark resolved · c cancel",
            "prompt": "configureDns failed 5 times: SERVFAIL; retry or mark resolved",
        }
        assert table(app).cells_of("lab:lab-1")["keys"] == "r review · c cancel"


async def test_the_footer_offers_the_selected_items_keys(app: RecordingApp, api: FakeApi) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        keys = shown_keys(app)
        assert (keys.get("t"), keys.get("m"), keys.get("c")) == (
            "Retry step",
            "Mark resolved",
            "Cancel",
        )
        assert "r" not in keys
        await pilot.press("down")
        await settle(pilot)
        keys = shown_keys(app)
        assert (keys.get("r"), keys.get("c")) == ("Review", "Cancel")
        assert "t" not in keys


async def test_a_lab_review_is_answered_in_place(app: RecordingApp, api: FakeApi) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("down", "r")
        await settle(pilot)
        assert isinstance(app.screen, ActionScreen)
        await pilot.press("a", "enter")
        await settle(pilot)
        [request] = api.action_calls("review")
        assert request.url.path == "/api/v1/labs/lab-1/review"
        assert json_body(request)["request_id"] == "r-7"
        assert isinstance(app.screen, NeedsScreen)
        assert api.needs_route.call_count >= 3  # refreshed after the answer


async def test_a_stuck_tenant_step_is_retried_in_place(app: RecordingApp, api: FakeApi) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("t")
        await settle(pilot)
        assert isinstance(app.screen, ActionScreen)
        assert app.screen.action.name == "retry"
        await pilot.press(*"zone fixed", "enter")
        await settle(pilot)
        [request] = api.action_calls("retry")
        assert request.url.path == "/api/v1/tenants/tn-2/retry"
        body = json_body(request)
        assert (body["comment"], body["request_id"], body["actor"]) == (
            "zone fixed",
            "i-1",
            "carol",
        )


async def test_a_key_of_another_domain_does_nothing(app: RecordingApp, api: FakeApi) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("r")  # the selected item is a tenant: r is a lab key
        await settle(pilot)
        assert isinstance(app.screen, NeedsScreen)
        assert api.action_calls() == []


async def test_enter_opens_the_entity_details(app: RecordingApp, api: FakeApi) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, EntityDetailScreen)
        assert app.screen.title == "Flightdeck ▸ tenants ▸ globex"
        assert api.get_route.calls.last.request.url.path == "/api/v1/tenants/tn-2"
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, NeedsScreen)


async def test_nothing_waiting_says_so(app: RecordingApp, api: FakeApi) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        api.clear_needs()
        await pilot.press("f5")
        await settle(pilot)
        assert table(app).row_count == 0
        heading = str(app.screen.query_one("#needs-heading").render())
        assert "nothing waits for a person — :labs :tenants" in heading
