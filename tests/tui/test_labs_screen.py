"""The labs list: rows, live progress, cursor stability, review / cancel keys and lost backends."""

from __future__ import annotations

from datetime import timedelta

import httpx
from textual.pilot import Pilot

from backend.domain.labs import LabStatus
from tests.tui.fake_api import BASE_URL, FakeApi, json_body, make_lab
from tests.tui.harness import RecordingApp, settle, wait_until
from tui.screens.cancel_screen import CancelScreen
from tui.screens.lab_detail_screen import LabDetailScreen
from tui.screens.labs_screen import LabsScreen
from tui.screens.review_screen import ReviewScreen
from tui.widgets.labs_table import LabsTable

SIZE = (120, 36)


def table(app: RecordingApp) -> LabsTable:
    return app.screen.query_one(LabsTable)


def cells(app: RecordingApp, lab_id: str) -> dict[str, str]:
    """The plain text of a lab's row, by column."""
    row = table(app).get_row(lab_id)
    return {key: text.plain for key, text in zip(table(app).column_keys, row, strict=True)}


async def refresh(pilot: Pilot[None]) -> None:
    await pilot.press("f5")
    await settle(pilot)


async def select(pilot: Pilot[None], app: RecordingApp, lab_id: str) -> None:
    """Move the cursor down to `lab_id`, as a user would."""
    while table(app).selected_lab_id != lab_id:
        await pilot.press("down")


async def test_table_shows_each_lab_with_status_phase_and_percent_bar(
    app: RecordingApp, api: FakeApi
) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await refresh(pilot)
        assert table(app).row_keys == ["lab-1", "lab-2", "lab-3", "lab-4", "lab-5"]
        assert cells(app, "lab-1") == {
            "name": "payments-db",
            "severity": "high",
            "status": "awaiting review",
            "phase": "awaiting review",
            "progress": "███████░░░  70%",
            "age": "42m",
            "awaiting": "review 2m",
        }
        assert cells(app, "lab-3")["progress"] == "██████████ 100%"
        assert cells(app, "lab-2")["status"] == "provisioning"
        failed_status = table(app).get_row("lab-4")[2]
        assert "red" in str(failed_status.style)
        assert app.sub_title.startswith("connected")


async def test_rows_on_screen_are_asked_live_and_show_exact_progress(
    app: RecordingApp, api: FakeApi
) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "live" not in api.list_requests[0].url.params  # nothing on screen yet
        await refresh(pilot)
        live = api.list_requests[-1].url.params["live"].split(",")
        assert live[0] == "lab-1"
        assert set(live) == {"lab-1", "lab-2", "lab-3", "lab-4", "lab-5"}
        assert cells(app, "lab-1")["awaiting"] == "review 2m"
        assert api.list_requests[-1].headers["Authorization"] == "Bearer secret-token"


async def test_row_update_changes_cells_without_moving_the_cursor(
    app: RecordingApp, api: FakeApi
) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await select(pilot, app, "lab-3")
        cursor_before = table(app).cursor_row
        api.replace(make_lab("lab-2", "search-canary", LabStatus.VALIDATING, percent=60))
        await refresh(pilot)
        assert cells(app, "lab-2")["progress"] == "██████░░░░  60%"
        assert cells(app, "lab-2")["status"] == "validating"
        assert table(app).cursor_row == cursor_before
        assert table(app).selected_lab_id == "lab-3"


async def test_cursor_stays_on_its_lab_when_rows_are_added_and_removed(
    app: RecordingApp, api: FakeApi
) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await select(pilot, app, "lab-3")
        newest = make_lab("lab-9", "fresh-lab", LabStatus.QUEUED, percent=0, age=timedelta())
        api.labs = [newest, *(lab for lab in api.labs if lab.id != "lab-1")]
        await refresh(pilot)
        assert table(app).row_keys == ["lab-9", "lab-2", "lab-3", "lab-4", "lab-5"]
        assert table(app).selected_lab_id == "lab-3"


async def test_review_of_a_lab_not_awaiting_review_notifies_and_sends_nothing(
    app: RecordingApp, api: FakeApi
) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await select(pilot, app, "lab-2")
        await pilot.press("r")
        await settle(pilot)
        assert isinstance(app.screen, LabsScreen)
        assert app.notes_with("lab search-canary is not waiting for review (phase: provisioning)")
        assert not api.review_route.called


async def test_review_approve_sends_the_decision_with_the_awaited_request_id(
    app: RecordingApp, api: FakeApi
) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await refresh(pilot)  # the selected lab now carries exact progress
        await pilot.press("r")
        await settle(pilot)
        assert isinstance(app.screen, ReviewScreen)
        await pilot.press(*"looks good")
        await pilot.press("enter")
        await settle(pilot)
        assert api.review_route.call_count == 1
        request = api.review_route.calls.last.request
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
        assert isinstance(app.screen, LabsScreen)
        assert app.notes_with("review recorded: approve")


async def test_review_can_request_changes(app: RecordingApp, api: FakeApi) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("r")
        await settle(pilot)
        await pilot.press("shift+tab", "right", "enter", "tab")
        await pilot.press(*"open port 443")
        await pilot.press("ctrl+s")
        await settle(pilot)
        body = json_body(api.review_route.calls.last.request)
        assert body["decision"] == "request_changes"
        assert body["comment"] == "open port 443"


async def test_review_refused_by_the_server_shows_its_message(
    app: RecordingApp, api: FakeApi
) -> None:
    api.review_response = httpx.Response(
        409, json={"detail": "lab payments-db is not waiting for review (phase: finalizing)"}
    )
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("r", "enter")
        await settle(pilot)
        [note] = app.notes_with("not waiting for review (phase: finalizing)")
        assert note.severity == "error"
        assert isinstance(app.screen, LabsScreen)


async def test_cancel_asks_for_confirmation_and_a_reason_then_sends_it(
    app: RecordingApp, api: FakeApi
) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await select(pilot, app, "lab-2")
        await pilot.press("c")
        await settle(pilot)
        assert isinstance(app.screen, CancelScreen)
        await pilot.press("enter")  # no reason yet
        await settle(pilot)
        assert app.notes_with("Reason required")
        assert not api.cancel_route.called
        await pilot.press(*"wrong blueprint")
        await pilot.press("enter")
        await settle(pilot)
        request = api.cancel_route.calls.last.request
        assert request.url.path == "/api/v1/labs/lab-2/cancel"
        body = json_body(request)
        assert body["reason"] == "wrong blueprint"
        assert body["actor"] == "carol"
        assert body["idempotency_key"]
        assert isinstance(app.screen, LabsScreen)


async def test_cancel_backs_out_with_escape_or_n(app: RecordingApp, api: FakeApi) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("c")
        await settle(pilot)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, LabsScreen)
        await pilot.press("c", "tab", "n")  # n works once focus leaves the reason input
        await settle(pilot)
        assert isinstance(app.screen, LabsScreen)
        assert not api.cancel_route.called


async def test_cancel_of_an_ended_lab_notifies_instead_of_asking(
    app: RecordingApp, api: FakeApi
) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await select(pilot, app, "lab-5")
        await pilot.press("c")
        await settle(pilot)
        assert isinstance(app.screen, LabsScreen)
        assert app.notes_with("lab old-sandbox has already ended (status: cancelled)")


async def test_unreachable_backend_keeps_the_data_says_disconnected_once_and_recovers(
    app: RecordingApp, api: FakeApi
) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        api.reachable = False
        for _ in range(3):
            await refresh(pilot)
        assert "disconnected — retrying" in app.sub_title
        assert len(app.notes_with("Backend unreachable")) == 1
        assert table(app).row_count == 5
        assert cells(app, "lab-1")["name"] == "payments-db"

        api.reachable = True
        await refresh(pilot)
        assert app.sub_title.startswith("connected")
        assert len(app.notes_with("Reconnected")) == 1


async def test_polling_reconnects_by_itself(api: FakeApi) -> None:
    app = RecordingApp(BASE_URL, "t", refresh_interval=0.02, user="carol")
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.sub_title.startswith("connected"))
        api.reachable = False
        await wait_until(pilot, lambda: "disconnected" in app.sub_title)
        api.reachable = True
        await wait_until(pilot, lambda: app.sub_title.startswith("connected"))
        assert len(app.notes_with("Backend unreachable")) == 1


async def test_server_error_on_refresh_is_notified_once(app: RecordingApp, api: FakeApi) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        api.list_response = httpx.Response(500, json={"detail": "visibility query failed"})
        for _ in range(3):
            await refresh(pilot)
        [note] = app.notes_with("visibility query failed")
        assert note.severity == "error"
        assert table(app).row_count == 5


async def test_enter_opens_the_lab_details_and_escape_goes_back(
    app: RecordingApp, api: FakeApi
) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, LabDetailScreen)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, LabsScreen)


async def test_status_filter_asks_the_api_for_one_status(app: RecordingApp, api: FakeApi) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("s")
        await settle(pilot)
        assert api.list_requests[-1].url.params["status"] == "awaiting_review"
        assert table(app).row_keys == ["lab-1"]


async def test_list_stops_polling_while_the_details_cover_it(api: FakeApi) -> None:
    app = RecordingApp(BASE_URL, "t", refresh_interval=0.02, user="carol")
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: table(app).row_count == 5)
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, LabDetailScreen))
        await wait_until(pilot, lambda: api.get_route.call_count >= 2)
        lists_while_covered = len(api.list_requests)
        await wait_until(pilot, lambda: api.get_route.call_count >= 6)
        assert len(api.list_requests) <= lists_while_covered + 1
        await pilot.press("escape")
        await wait_until(pilot, lambda: len(api.list_requests) > lists_while_covered + 1)
