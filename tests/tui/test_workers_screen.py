"""Workers: the TAC worker registrations with their worker DIG's state and the pollers on their
task queue; a row turns ready (green) when a worker starts polling, Enter opens the worker DIG."""

from __future__ import annotations

from backend.domains.digs.spec import SPEC as DIG_SPEC
from backend.domains.labs.spec import SPEC as LAB_SPEC
from backend.domains.tac.spec import SPEC as HOOK_SPEC
from tests.tui.fake_api import BASE_URL, TOKEN, FakeApi, make_worker
from tests.tui.harness import RecordingApp, refresh, screen_text, settle, show_view
from tui.client import FlightdeckClient
from tui.screens.entity_detail_screen import EntityDetailScreen
from tui.screens.workers_screen import WorkersScreen
from tui.session import Session
from tui.tones import TONE_STYLES, Tone
from tui.widgets.keyed_table import KeyedTable
from tui.widgets.workers_table import WorkersTable

SIZE = (140, 30)
KEY = (
    "/v2/projects/payments/composite-apps/billing/v1/deployment-intent-groups/billing-prod"
    "/temporal-action-controller/pre-install/workers/"
)
GREEN = TONE_STYLES[Tone.GOOD]


def table(app: RecordingApp) -> WorkersTable:
    return app.screen.query_one(WorkersTable)


def style_of(app: RecordingApp, name: str, column: str) -> str:
    cells = dict(zip(table(app).column_keys, table(app).get_row(KEY + name), strict=True))
    return str(cells[column].style)


async def test_lists_registrations_with_their_dig_state_and_pollers(
    app: RecordingApp, api: FakeApi
) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await show_view(pilot, "workers")
        assert isinstance(app.screen, WorkersScreen)
        assert app.screen.title == "Flightdeck ▸ workers"
        assert table(app).row_keys == [KEY + n for n in ("migrate", "backfill", "orphan")]
        assert table(app).cells_of(KEY + "migrate") == {
            "name": "migrate",
            "queue": "MIGRATION_WORKFLOW",
            "dig": "migration-worker · payments/workers/v1",
            "state": "instantiated",
            "pollers": "2",
            "ready": "ready",
            "under": "billing-prod · pre-install",
        }
        assert style_of(app, "migrate", "ready") == GREEN
        backfill = table(app).cells_of(KEY + "backfill")
        assert (backfill["pollers"], backfill["ready"]) == ("0", "no poller")
        orphan = table(app).cells_of(KEY + "orphan")
        assert (orphan["state"], orphan["pollers"], orphan["ready"]) == (
            "not found",
            "?",
            "unknown",
        )
        text = screen_text(app)
        assert "Workers · 3 registered · 1 with a worker polling" in text
        assert "● connected" in text


async def test_a_row_turns_ready_when_a_worker_starts_polling(
    app: RecordingApp, api: FakeApi
) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await show_view(pilot, "workers")
        assert style_of(app, "backfill", "ready") != GREEN
        assert "green" not in style_of(app, "backfill", "name")
        api.workers[1] = make_worker(
            "backfill",
            "BACKFILL",
            pollers=1,
            worker_dig="backfill-worker",
            worker_dig_id="dig-2",
        )
        await refresh(pilot)
        backfill = table(app).cells_of(KEY + "backfill")
        assert (backfill["state"], backfill["pollers"], backfill["ready"]) == (
            "instantiated",
            "1",
            "ready",
        )
        assert style_of(app, "backfill", "ready") == GREEN
        assert GREEN in style_of(app, "backfill", "name")
        assert "2 with a worker polling" in screen_text(app)


async def test_text_from_the_api_is_shown_not_obeyed(app: RecordingApp, api: FakeApi) -> None:
    api.workers = [make_worker("evil", "Q\x1b[2J", pollers=0)]
    async with app.run_test(size=SIZE) as pilot:
        await show_view(pilot, "workers")
        assert table(app).cells_of(KEY + "evil")["queue"] == "Q␛[2J"


async def test_enter_opens_the_worker_dig_or_says_why_not(api: FakeApi) -> None:
    specs = (LAB_SPEC, DIG_SPEC)
    app = RecordingApp(BASE_URL, TOKEN, refresh_interval=3600, user="carol", specs=specs)
    async with app.run_test(size=SIZE) as pilot:
        await show_view(pilot, "workers")
        await pilot.press("down", "down", "enter")  # orphan: its DIG is not found
        await settle(pilot)
        assert isinstance(app.screen, WorkersScreen)
        [note] = app.notes_with("Worker DIG payments/workers/v1/gone is not found")
        assert note.severity == "warning"
        await pilot.press("up", "up", "enter")
        await settle(pilot)
        assert isinstance(app.screen, EntityDetailScreen)
        assert (app.screen.spec, app.screen.entity_id) == (DIG_SPEC, "dig-1")


async def test_errors_are_notified_and_an_empty_list_says_how_to_register(
    app: RecordingApp, api: FakeApi
) -> None:
    async with app.run_test(size=SIZE) as pilot:
        api.workers = []
        await show_view(pilot, "workers")
        assert "Workers · none registered — register one with POST" in screen_text(app)
        api.token = "rotated"
        await refresh(pilot)
        assert app.notes_with("Token refused")


async def test_the_view_fits_80x24(app: RecordingApp, api: FakeApi) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await show_view(pilot, "workers")
        await refresh(pilot)
        for shown in app.screen.query(KeyedTable):
            assert shown.compact
            assert shown.virtual_size.width <= shown.scrollable_content_region.width
        text = screen_text(app)
        assert max(len(line.rstrip()) for line in text.splitlines()) <= 80
        orphan = table(app).cells_of(KEY + "orphan")
        assert (orphan["dig"], orphan["ready"]) == ("gone", "?")


def test_workers_are_listed_after_the_digs_else_after_the_domains() -> None:
    client = FlightdeckClient(BASE_URL, TOKEN)
    with_digs = Session(client, "carol", 1.0, (LAB_SPEC, DIG_SPEC, HOOK_SPEC))
    assert with_digs.view_names == ["needs", "labs", "digs", "workers", "hook-runs", "audit"]
    without = Session(client, "carol", 1.0, (LAB_SPEC,))
    assert without.view_names == ["needs", "labs", "workers", "audit"]
    assert without.resolve_view("worker") == "workers"
