"""Views and moving between them: the start view, `:` with completion, titles, back and quit."""

from __future__ import annotations

from textual.widgets import Input

from backend.domain.catalog import all_specs
from tests.tui.fake_api import BASE_URL, SPECS, TOKEN, FakeApi
from tests.tui.harness import RecordingApp, burst, goto, settle, wait_until
from tui.client import FlightdeckClient
from tui.screens.audit_screen import AuditScreen
from tui.screens.command_line_screen import CommandLineScreen
from tui.screens.deployments_screen import DeploymentsScreen
from tui.screens.entity_detail_screen import EntityDetailScreen
from tui.screens.entity_list_screen import EntityListScreen
from tui.screens.hosts_screen import HostsScreen
from tui.screens.needs_screen import NeedsScreen
from tui.screens.workers_screen import WorkersScreen
from tui.session import Session

SIZE = (120, 36)


def command_input(app: RecordingApp) -> Input:
    return app.screen.query_one("#command", Input)


async def test_starts_on_needs_you_when_something_waits(app: RecordingApp, api: FakeApi) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, NeedsScreen)
        assert app.screen.title == "Flightdeck ▸ needs you"
        assert app.sub_title.startswith("connected")


async def test_starts_on_the_first_domain_when_nothing_waits(
    app: RecordingApp, api: FakeApi
) -> None:
    api.clear_needs()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, EntityListScreen)
        assert app.screen.spec.plural == "labs"


async def test_colon_completes_a_view_name_with_tab(app: RecordingApp, api: FakeApi) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("colon")
        await settle(pilot)
        assert isinstance(app.screen, CommandLineScreen)
        await pilot.press("t", "e", "n")
        assert command_input(app)._suggestion == "tenants"  # shown greyed as you type
        await pilot.press("tab")
        assert command_input(app).value == "tenants"
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, EntityListScreen)
        assert app.screen.spec.plural == "tenants"
        assert app.screen.title == "Flightdeck ▸ tenants"


async def test_enter_takes_the_completion_and_singular_names_work(
    app: RecordingApp, api: FakeApi
) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await goto(pilot, "ten")
        assert isinstance(app.screen, EntityListScreen)
        assert app.screen.spec.plural == "tenants"
        await goto(pilot, "lab")
        assert isinstance(app.screen, EntityListScreen)
        assert app.screen.spec.plural == "labs"
        await goto(pilot, "au")
        assert isinstance(app.screen, AuditScreen)
        await goto(pilot, "w")
        assert isinstance(app.screen, WorkersScreen)
        await goto(pilot, "host")
        assert isinstance(app.screen, HostsScreen)
        await goto(pilot, "dep")
        assert isinstance(app.screen, DeploymentsScreen)
        await goto(pilot, "proc")
        assert isinstance(app.screen, EntityListScreen)
        assert app.screen.spec.plural == "processors"
        await goto(pilot, "needs")
        assert isinstance(app.screen, NeedsScreen)


async def test_an_unknown_view_is_named_and_escape_closes_the_line(
    app: RecordingApp, api: FakeApi
) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("colon", "x", "y", "z", "enter")
        await settle(pilot)
        [note] = app.notes_with("No view called 'xyz'")
        views = "needs, labs, tenants, infra-runs, hosts, deployments, processors, workers, audit"
        assert views in note.message
        assert isinstance(app.screen, CommandLineScreen)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, NeedsScreen)


async def test_switching_views_keeps_each_view_and_closes_details(
    app: RecordingApp, api: FakeApi
) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await goto(pilot, "labs")
        labs = app.screen
        await pilot.press("down", "enter")
        await settle(pilot)
        assert isinstance(app.screen, EntityDetailScreen)
        await goto(pilot, "tenants")
        await goto(pilot, "labs")
        assert app.screen is labs  # the same list, not a new one stacked on top
        assert len(app.screen_stack) == 1


async def test_views_not_shown_do_not_poll(api: FakeApi) -> None:
    app = RecordingApp(BASE_URL, TOKEN, refresh_interval=0.02, user="carol", specs=SPECS)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, NeedsScreen))
        app.open_view("labs")
        await wait_until(pilot, lambda: len(api.list_calls("labs")) >= 2)
        app.open_view("audit")
        await wait_until(pilot, lambda: api.audit_route.call_count >= 1)
        lists_before = len(api.list_calls("labs"))
        await pilot.pause(0.2)
        assert len(api.list_calls("labs")) <= lists_before + 1
        assert api.audit_route.call_count >= 3


async def test_q_quits_from_a_view(app: RecordingApp, api: FakeApi) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("q")
        await pilot.pause()
        assert app.return_code == 0
        assert not app.is_running


async def test_keys_typed_in_one_burst_reach_the_command_line(
    app: RecordingApp, api: FakeApi
) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await burst(pilot, "colon", "t", "e", "n", "enter")
        assert isinstance(app.screen, EntityListScreen)
        assert app.screen.spec.plural == "tenants"


def test_hosts_and_deployments_are_listed_before_the_change_processors() -> None:
    session = Session(FlightdeckClient(BASE_URL, TOKEN), "carol", 1.0, all_specs())
    names = session.view_names
    assert names.index("hook-runs") < names.index("hosts")
    assert names[names.index("hosts") :] == ["hosts", "deployments", "processors", "audit"]
    assert session.resolve_view("host") == "hosts"
    assert session.resolve_view("deployment") == "deployments"
    assert session.resolve_view("change-processor") == "processors"
    without = Session(FlightdeckClient(BASE_URL, TOKEN), "carol", 1.0, SPECS[:3])
    assert "hosts" not in without.view_names
