"""The connection line: a refused token is a lasting banner until a request succeeds; a lost
backend keeps the last data on screen, says so once and reconnects by itself."""

from __future__ import annotations

import httpx

from tests.tui.fake_api import BASE_URL, SPECS, TOKEN, FakeApi
from tests.tui.harness import RecordingApp, refresh, screen_text, settle, show_view, wait_until
from tui.connection import ConnectionState
from tui.widgets.connection_status import ConnectionStatus
from tui.widgets.entity_table import EntityTable

SIZE = (120, 36)
BANNER = "✗ token refused — check the API token (flightdeck tui --token-file)"


def status_line(app: RecordingApp) -> ConnectionStatus:
    return app.screen.query_one(ConnectionStatus)


async def test_a_refused_token_is_a_lasting_banner(app: RecordingApp, api: FakeApi) -> None:
    api.token = "another-token"
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.connection_state is ConnectionState.TOKEN_REFUSED
        for _ in range(3):
            await refresh(pilot)
        assert app.connection_state is ConnectionState.TOKEN_REFUSED
        assert BANNER in screen_text(app)
        assert status_line(app).has_class("-refused")
        assert app.sub_title.startswith(BANNER)
        assert "connected" not in str(status_line(app).render())
        [note] = app.notes_with("Token refused")
        assert "invalid token (check the API token)" in note.message
        assert not app.notes_with("not refreshed")  # the banner says it; no toast per poll

        api.token = TOKEN
        await refresh(pilot)
        assert app.connection_state is ConnectionState.CONNECTED
        assert BANNER not in screen_text(app)
        assert app.notes_with("The API token is accepted now")


async def test_the_banner_stays_across_views(app: RecordingApp, api: FakeApi) -> None:
    api.token = "another-token"
    async with app.run_test(size=SIZE) as pilot:
        await show_view(pilot, "audit")
        assert BANNER in screen_text(app)
        await show_view(pilot, "tenants")
        assert BANNER in screen_text(app)
        assert len(app.notes_with("Token refused")) == 1


async def test_unreachable_backend_keeps_the_data_says_so_once_and_recovers(
    app: RecordingApp, api: FakeApi
) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await show_view(pilot, "labs")
        api.reachable = False
        for _ in range(3):
            await refresh(pilot)
        assert app.connection_state is ConnectionState.DISCONNECTED
        assert "disconnected — retrying" in app.sub_title
        assert "○ disconnected — retrying · showing data from" in screen_text(app)
        assert len(app.notes_with("Backend unreachable")) == 1
        table = app.screen.query_one(EntityTable)
        assert table.row_count == 6
        assert table.cells_of("lab-1")["name"] == "payments-db"

        api.reachable = True
        await refresh(pilot)
        assert app.sub_title.startswith("connected")
        assert len(app.notes_with("Reconnected")) == 1


async def test_unreachable_at_start_opens_the_first_domain_and_retries(api: FakeApi) -> None:
    api.reachable = False
    app = RecordingApp(BASE_URL, TOKEN, refresh_interval=0.02, user="carol", specs=SPECS)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: "disconnected" in app.sub_title)
        await wait_until(pilot, lambda: app.screen.title == "Flightdeck ▸ labs")
        api.reachable = True
        await wait_until(pilot, lambda: app.sub_title.startswith("connected"))
        await wait_until(pilot, lambda: app.screen.query_one(EntityTable).row_count == 6)
        assert len(app.notes_with("Backend unreachable")) == 1


async def test_a_server_error_on_refresh_is_notified_once(app: RecordingApp, api: FakeApi) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await show_view(pilot, "labs")
        api.list_response = httpx.Response(500, json={"detail": "database is locked"})
        for _ in range(3):
            await refresh(pilot)
        [note] = app.notes_with("database is locked")
        assert (note.severity, note.title) == ("error", "Labs not refreshed")
        assert app.connection_state is ConnectionState.CONNECTED
        assert app.screen.query_one(EntityTable).row_count == 6
