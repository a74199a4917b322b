"""The list view of any domain (one class, labs and tenants): columns from the declaration,
percent bars, notes, live ids, cursor stability, status filter and locally refused actions."""

from __future__ import annotations

from datetime import timedelta

from textual.pilot import Pilot

from backend.domains.labs.model import LabStatus
from backend.domains.tenants.model import TenantStatus
from tests.tui.fake_api import FakeApi, make_lab, make_tenant
from tests.tui.harness import RecordingApp, refresh, settle, show_view
from tui.screens.action_screen import ActionScreen
from tui.screens.entity_detail_screen import EntityDetailScreen
from tui.screens.entity_list_screen import EntityListScreen
from tui.widgets.entity_table import EntityTable

SIZE = (120, 36)


def table(app: RecordingApp) -> EntityTable:
    return app.screen.query_one(EntityTable)


async def select(pilot: Pilot[None], app: RecordingApp, entity_id: str) -> None:
    """Move the cursor to `entity_id`, as a user would."""
    await pilot.press("home")
    while table(app).selected_key != entity_id:
        await pilot.press("down")


async def open_list(pilot: Pilot[None], view: str) -> None:
    await settle(pilot)
    await show_view(pilot, view)
    assert isinstance(pilot.app.screen, EntityListScreen)
    await refresh(pilot)  # the rows on screen now carry exact progress


async def test_labs_show_their_declared_columns_with_percent_bars_and_notes(
    app: RecordingApp, api: FakeApi
) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await open_list(pilot, "labs")
        assert table(app).row_keys == ["lab-1", "lab-2", "lab-3", "lab-4", "lab-5", "lab-6"]
        assert table(app).cells_of("lab-1") == {
            "name": "payments-db",
            "severity": "high",
            "status": "awaiting review",
            "progress": "███████░░░  70%",
            "age": "42m",
            "note": "review 2m",
        }
        assert table(app).cells_of("lab-3")["progress"] == "██████████ 100%"
        assert table(app).cells_of("lab-4")["note"] == (
            "RunValidation: smoke test failed (3 attempts)"
        )
        assert table(app).cells_of("lab-5")["note"] == (
            "RunValidation attempt 2: smoke test failed: HTTP 502"
        )
        assert table(app).cells_of("lab-6")["note"] == "cancel by carol: superseded"
        status, note = table(app).get_row("lab-4")[2], table(app).get_row("lab-4")[5]
        assert "red" in str(status.style) and "red" in str(note.style)
        assert "yellow" in str(table(app).get_row("lab-1")[5].style)
        assert "critical" in table(app).cells_of("lab-4")["severity"]
        assert "red" in str(table(app).get_row("lab-4")[1].style)
        assert app.screen.title == "Flightdeck ▸ labs"


async def test_tenants_use_the_same_screen_with_their_own_columns(
    app: RecordingApp, api: FakeApi
) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await open_list(pilot, "tenants")
        assert type(app.screen) is EntityListScreen
        assert table(app).column_keys == [
            "name",
            "plan",
            "region",
            "status",
            "progress",
            "age",
            "note",
        ]
        assert table(app).cells_of("tn-2") == {
            "name": "globex",
            "plan": "standard",
            "region": "us-east-1",
            "status": "PROVISIONING",
            "progress": "█████░░░░░  55%",
            "age": "10m",
            "note": "intervention 5m",
        }
        assert table(app).cells_of("tn-3")["status"] == "ROLLING BACK"
        assert table(app).cells_of("tn-3")["note"] == "deployApplication: image pull failed"
        assert table(app).cells_of("tn-4")["status"] == "PROVISION FAILED"
        assert "purple" in str(table(app).get_row("tn-1")[1].style)  # enterprise is notable


async def test_a_failing_step_shows_in_the_list_without_exact_progress(
    app: RecordingApp, api: FakeApi
) -> None:
    api.replace(api.entity("lab-5").model_copy(update={"progress": None}))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await show_view(pilot, "labs")
        assert "live" not in api.list_calls("labs")[0].url.params  # nothing on screen yet
        assert table(app).cells_of("lab-5")["note"] == (
            "RunValidation attempt 2: smoke test failed: HTTP 502"
        )
        assert "red" in str(table(app).get_row("lab-5")[5].style)


async def test_rows_on_screen_and_the_selected_one_are_asked_live(
    app: RecordingApp, api: FakeApi
) -> None:
    async with app.run_test(size=(120, 9)) as pilot:
        await open_list(pilot, "labs")
        await select(pilot, app, "lab-6")
        await refresh(pilot)
        live = api.list_calls("labs")[-1].url.params["live"].split(",")
        assert live[0] == "lab-6"  # the selected row first
        assert set(live) >= {"lab-6", "lab-5"}
        assert "lab-1" not in live  # scrolled off the 9-line terminal
        assert api.list_calls("labs")[-1].headers["Authorization"] == "Bearer secret-token"


async def test_row_update_changes_cells_without_moving_the_cursor(
    app: RecordingApp, api: FakeApi
) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await open_list(pilot, "labs")
        await select(pilot, app, "lab-3")
        cursor_before = table(app).cursor_row
        api.replace(make_lab("lab-2", "search-canary", LabStatus.VALIDATING, percent=60))
        await refresh(pilot)
        assert table(app).cells_of("lab-2")["progress"] == "██████░░░░  60%"
        assert table(app).cells_of("lab-2")["status"] == "validating"
        assert table(app).cursor_row == cursor_before
        assert table(app).selected_key == "lab-3"


async def test_cursor_stays_on_its_row_when_rows_are_added_and_removed(
    app: RecordingApp, api: FakeApi
) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await open_list(pilot, "tenants")
        await select(pilot, app, "tn-3")
        newest = make_tenant("tn-9", "hooli", TenantStatus.PENDING, percent=0, age=timedelta())
        api.entities["tenants"] = [newest, *(t for t in api.entities["tenants"] if t.id != "tn-1")]
        await refresh(pilot)
        assert table(app).row_keys == ["tn-9", "tn-2", "tn-3", "tn-4"]
        assert table(app).selected_key == "tn-3"


async def test_vim_keys_move_the_cursor(app: RecordingApp, api: FakeApi) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await open_list(pilot, "tenants")
        keys = table(app).row_keys
        await pilot.press("G")
        assert table(app).selected_key == keys[-1]
        await pilot.press("k")
        assert table(app).selected_key == keys[-2]
        await pilot.press("g", "g")
        assert table(app).selected_key == keys[0]
        await pilot.press("j")
        assert table(app).selected_key == keys[1]


async def test_status_filter_cycles_over_the_declared_statuses(
    app: RecordingApp, api: FakeApi
) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await open_list(pilot, "tenants")
        await pilot.press("s")
        await settle(pilot)
        assert api.list_calls("tenants")[-1].url.params["status"] == "PENDING"
        assert table(app).row_keys == []
        await pilot.press("s", "s")
        await settle(pilot)
        assert api.list_calls("tenants")[-1].url.params["status"] == "ROLLING_BACK"
        assert table(app).row_keys == ["tn-3"]


async def test_an_action_the_entity_does_not_take_now_is_refused_locally(
    app: RecordingApp, api: FakeApi
) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await open_list(pilot, "tenants")
        await select(pilot, app, "tn-1")  # ACTIVE: no workflow runs
        await pilot.press("c")
        await settle(pilot)
        assert isinstance(app.screen, EntityListScreen)
        [note] = app.notes_with("tenant acme is ACTIVE: cancel is not possible now")
        assert note.severity == "warning"
        await select(pilot, app, "tn-2")  # provisioning, stuck: takes retry / resolve / cancel
        await pilot.press("d")
        await settle(pilot)
        assert app.notes_with("tenant globex is PROVISIONING: deprovision needs ACTIVE")
        await pilot.press("e")
        await settle(pilot)
        assert app.notes_with(
            "tenant globex is PROVISIONING: skip grace is not possible now"
            " (it takes: cancel, retry step, mark resolved)"
        )
        assert api.action_calls() == []


async def test_labs_review_is_refused_unless_awaited(app: RecordingApp, api: FakeApi) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await open_list(pilot, "labs")
        await select(pilot, app, "lab-2")
        await pilot.press("r")
        await settle(pilot)
        assert app.notes_with("lab search-canary is provisioning: review is not possible now")
        await select(pilot, app, "lab-6")
        await pilot.press("c")
        await settle(pilot)
        assert app.notes_with("lab old-sandbox is cancelled: cancel is not possible now")
        assert api.action_calls() == []


async def test_a_start_action_opens_from_an_allowed_status(app: RecordingApp, api: FakeApi) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await open_list(pilot, "tenants")
        await select(pilot, app, "tn-1")
        await pilot.press("d")
        await settle(pilot)
        assert isinstance(app.screen, ActionScreen)
        assert app.screen.action.name == "deprovision"


async def test_enter_opens_the_details_and_escape_goes_back(
    app: RecordingApp, api: FakeApi
) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await open_list(pilot, "tenants")
        await select(pilot, app, "tn-3")
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, EntityDetailScreen)
        assert app.screen.title == "Flightdeck ▸ tenants ▸ initech"
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, EntityListScreen)
        assert table(app).selected_key == "tn-3"


async def test_footer_keys_come_from_the_declared_actions(app: RecordingApp, api: FakeApi) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await open_list(pilot, "tenants")
        shown = {
            key: binding.binding.description
            for key, binding in app.screen.active_bindings.items()
            if binding.binding.show
        }
        assert {
            "n": "New",
            "s": "Filter",
            "c": "Cancel",
            "d": "Deprovision",
            "e": "Skip grace",
            "a": "Abort deprovision",
            "t": "Retry step",
            "m": "Mark resolved",
            "q": "Quit",
        }.items() <= shown.items()
