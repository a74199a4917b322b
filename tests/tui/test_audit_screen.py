"""The audit view: newest first, outcomes and sources shown (Temporal ones unauthenticated),
`/` filters by target id on the server, Esc clears, `]` / `[` page."""

from __future__ import annotations

from datetime import timedelta

from textual.widgets import Input

from backend.domain.audit import AuditEntry, AuditOutcome
from tests.tui.fake_api import FakeApi, now
from tests.tui.harness import RecordingApp, settle, show_view
from tui.screens.audit_screen import PAGE
from tui.widgets.audit_table import AuditTable

SIZE = (120, 36)


def table(app: RecordingApp) -> AuditTable:
    return app.screen.query_one(AuditTable)


async def test_shows_the_log_newest_first(app: RecordingApp, api: FakeApi) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await show_view(pilot, "audit")
        assert app.screen.title == "Flightdeck ▸ audit"
        assert table(app).row_keys == ["4", "3", "2", "1"]
        refused = table(app).cells_of("3")
        assert refused["actor"] == "mallory"
        assert refused["target"] == "lab payments-db"
        assert refused["outcome"] == "refused"
        assert refused["source"] == "temporal ⚠ unauthenticated"
        assert "red" in str(table(app).get_row("3")[4].style)
        assert table(app).cells_of("2")["message"] == (
            "“open port 22 too” — lab payments-db: review accepted"
        )


async def test_slash_filters_by_target_id_and_escape_clears(
    app: RecordingApp, api: FakeApi
) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await show_view(pilot, "audit")
        await pilot.press("slash")
        assert app.screen.query_one("#audit-filter", Input).has_focus
        await pilot.press(*"tn-2", "enter")
        await settle(pilot)
        assert api.audit_route.calls.last.request.url.params["target_id"] == "tn-2"
        assert table(app).row_keys == ["4"]
        assert table(app).has_focus
        await pilot.press("escape")
        await settle(pilot)
        assert "target_id" not in api.audit_route.calls.last.request.url.params
        assert table(app).row_count == 4
        assert app.screen.query_one("#audit-filter", Input).value == ""


async def test_pages_to_older_entries_and_back(app: RecordingApp, api: FakeApi) -> None:
    api.audit_entries = [
        AuditEntry(
            id=n,
            at=now() - timedelta(minutes=300 - n),
            actor="bot",
            action="create",
            target_kind="lab",
            target_id=f"lab-{n}",
            outcome=AuditOutcome.ACCEPTED,
        )
        for n in range(1, PAGE + 21)
    ]
    async with app.run_test(size=SIZE) as pilot:
        await show_view(pilot, "audit")
        assert table(app).row_keys[0] == str(PAGE + 20)
        await pilot.press("right_square_bracket")
        await settle(pilot)
        assert api.audit_route.calls.last.request.url.params["before_id"] == "21"
        assert table(app).row_keys == [str(n) for n in range(20, 0, -1)]
        await pilot.press("right_square_bracket")
        await settle(pilot)
        assert app.notes_with("No older entries")
        await pilot.press("left_square_bracket")
        await settle(pilot)
        assert "before_id" not in api.audit_route.calls.last.request.url.params
        assert table(app).row_keys[0] == str(PAGE + 20)
