"""Hosts and deployments (placement): the hosts with their deployments and how many they run
(green when all, orange while behind); Enter opens a host with each assignment's end-to-end
state (committed, event sent, deployed); Enter on an assignment opens the deployment, with its
workload, template, target, values and its state on every host."""

from __future__ import annotations

import re

import httpx

from tests.tui.fake_api import FakeApi, now
from tests.tui.harness import RecordingApp, refresh, screen_text, settle, show_view
from tui.screens.deployment_screen import DeploymentScreen
from tui.screens.deployments_screen import DeploymentsScreen
from tui.screens.host_screen import HostScreen
from tui.screens.hosts_screen import HostsScreen
from tui.tones import MUTED_STYLE, TONE_STYLES, Tone
from tui.widgets.assignments_table import AssignmentsTable
from tui.widgets.deployments_table import DeploymentsTable
from tui.widgets.hosts_table import HostsTable
from tui.widgets.keyed_table import KeyedTable

SIZE = (140, 30)
GREEN = TONE_STYLES[Tone.GOOD]
ORANGE = TONE_STYLES[Tone.WAITING]
WORKING = TONE_STYLES[Tone.WORKING]


def hosts(app: RecordingApp) -> HostsTable:
    return app.screen.query_one(HostsTable)


def assignments(app: RecordingApp) -> AssignmentsTable:
    return app.screen.query_one(AssignmentsTable)


def style_of(table: KeyedTable, key: str, column: str) -> str:
    cells = dict(zip(table.column_keys, table.get_row(key), strict=True))
    return str(cells[column].style)


async def test_lists_hosts_with_their_counts(app: RecordingApp, api: FakeApi) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await show_view(pilot, "hosts")
        assert isinstance(app.screen, HostsScreen)
        assert app.screen.title == "Flightdeck ▸ hosts"
        assert hosts(app).row_keys == ["edge-01", "edge-02", "lab-nuc", "tim-pi"]
        tim = hosts(app).cells_of("tim-pi")
        assert {k: tim[k] for k in ("name", "labels", "deployments", "deployed")} == {
            "name": "tim-pi",
            "labels": "name=tim-pi,platform=kubernetes",
            "deployments": "2",
            "deployed": "1/2",
        }
        assert re.fullmatch(r"create deployment metrics · \d+s ago", tim["change"])
        assert re.fullmatch(r"seen \d+s ago", tim["agent"])
        assert style_of(hosts(app), "tim-pi", "deployed") == ORANGE
        assert hosts(app).cells_of("edge-01")["deployed"] == "1/1"
        assert style_of(hosts(app), "edge-01", "deployed") == GREEN
        nuc = hosts(app).cells_of("lab-nuc")
        assert (nuc["deployments"], nuc["deployed"], nuc["agent"]) == ("0", "0/0", "no agent")
        assert style_of(hosts(app), "lab-nuc", "deployed") == MUTED_STYLE
        text = screen_text(app)
        assert "Hosts · 4 · change processor at #13 of #14 (lag 1)" in text
        assert "● connected" in text


async def test_a_host_turns_green_when_its_agent_reports_deployed(
    app: RecordingApp, api: FakeApi
) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await show_view(pilot, "hosts")
        api.placement.deploy("metrics", "tim-pi")
        api.placement.processed = 14
        await refresh(pilot)
        assert hosts(app).cells_of("tim-pi")["deployed"] == "2/2"
        assert style_of(hosts(app), "tim-pi", "deployed") == GREEN
        assert GREEN in style_of(hosts(app), "tim-pi", "name")
        assert "change processor at #14 of #14 (lag 0)" in screen_text(app)


async def test_enter_opens_the_host_with_each_assignments_state(
    app: RecordingApp, api: FakeApi
) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await show_view(pilot, "hosts")
        await pilot.press("down", "down", "down", "enter")
        await settle(pilot)
        assert isinstance(app.screen, HostScreen)
        assert app.screen.title == "Flightdeck ▸ hosts ▸ tim-pi"
        table = assignments(app)
        assert table.row_keys == ["metrics", "prod"]
        metrics = table.cells_of("metrics")
        assert (metrics["state"], metrics["revision"], metrics["deployed"]) == (
            "committed",
            "#14",
            "—",
        )
        assert style_of(table, "metrics", "state") == ORANGE
        prod = table.cells_of("prod")
        assert (prod["state"], prod["revision"], prod["deployed"]) == ("deployed", "#12", "#12")
        assert style_of(table, "prod", "state") == GREEN
        text = screen_text(app)
        assert "name=tim-pi,platform=kubernetes" in text
        assert "1/2 deployed" in text
        assert "1 deployed · 1 committed" in text
        assert "at bookmark #13" in text
        assert "Deployments · 2 · enter: deployment" in text
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, HostsScreen)


async def test_enter_on_an_assignment_opens_the_deployment(app: RecordingApp, api: FakeApi) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await show_view(pilot, "hosts")
        await pilot.press("down", "enter")  # edge-02
        await settle(pilot)
        assert isinstance(app.screen, HostScreen)
        assert assignments(app).cells_of("prod")["state"] == "event sent"
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, DeploymentScreen)
        assert app.screen.title == "Flightdeck ▸ deployments ▸ prod"
        table = assignments(app)
        assert table.row_keys == ["edge-01", "edge-02", "tim-pi"]
        assert [table.cells_of(host)["state"] for host in table.row_keys] == [
            "deployed",
            "event sent",
            "deployed",
        ]
        assert style_of(table, "edge-02", "state") == WORKING
        assert table.cells_of("edge-02")["deployed"] == "#9"
        assert "(runs #9)" in table.cells_of("edge-02")["note"]
        text = screen_text(app)
        for shown in (
            "temperature-sensor",
            "https://github.com/timfpark/temp-sensor",
            "device-service",
            "k8s · platform=kubernetes",
            "port=80",
            "all matching hosts",
            "3 matching · 3 assigned",
            "2/3 deployed",
            "Hosts · 3 assigned of 3 matching",
        ):
            assert shown in text, shown
        await pilot.press("down", "down", "enter")  # back to a host, from the deployment
        await settle(pilot)
        assert isinstance(app.screen, HostScreen)
        assert app.screen.host_name == "tim-pi"
        await pilot.press("escape", "escape", "escape")
        await settle(pilot)
        assert isinstance(app.screen, HostsScreen)


async def test_deployments_are_listed_and_open_their_details(
    app: RecordingApp, api: FakeApi
) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await show_view(pilot, "hosts")
        await pilot.press("d")
        await settle(pilot)
        assert isinstance(app.screen, DeploymentsScreen)
        table = app.screen.query_one(DeploymentsTable)
        assert table.row_keys == ["metrics", "prod"]
        metrics = table.cells_of("metrics")
        assert {k: metrics[k] for k in ("workload", "template", "target", "replicas")} == {
            "workload": "node-exporter",
            "template": "device-service",
            "target": "k8s",
            "replicas": "1",
        }
        assert (metrics["revision"], metrics["values"]) == ("#14", "port=9100")
        assert table.cells_of("prod")["replicas"] == "all"
        assert "Deployments · 2 · enter: deployment" in screen_text(app)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, DeploymentScreen)
        text = screen_text(app)
        assert "1 of the matching hosts" in text
        assert "3 matching · 1 assigned" in text
        assert assignments(app).cells_of("tim-pi")["state"] == "committed"
        await pilot.press("escape", "h")
        await settle(pilot)
        assert isinstance(app.screen, HostsScreen)


async def test_a_missing_target_or_workload_still_shows_the_deployment(
    app: RecordingApp, api: FakeApi
) -> None:
    api.placement.targets = []
    async with app.run_test(size=SIZE) as pilot:
        await show_view(pilot, "deployments")
        await pilot.press("down", "enter")
        await settle(pilot)
        assert isinstance(app.screen, DeploymentScreen)
        text = screen_text(app)
        assert "https://github.com/timfpark/temp-sensor" in text
        assert "k8s · " not in text
        assert not app.notes_with("not refreshed")


async def test_api_errors_are_notified_not_fatal(app: RecordingApp, api: FakeApi) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await show_view(pilot, "hosts")
        await pilot.press("enter")  # edge-01
        await settle(pilot)
        assert isinstance(app.screen, HostScreen)
        api.placement.hosts = [h for h in api.placement.hosts if h.name != "edge-01"]
        await refresh(pilot)
        [note] = app.notes_with("Host edge-01 not refreshed")
        assert (note.message, note.severity) == ("no host named edge-01", "error")
        assert isinstance(app.screen, HostScreen)
        await pilot.press("escape")
        await settle(pilot)
        assert hosts(app).row_keys == ["edge-02", "lab-nuc", "tim-pi"]
        api.placement_response = httpx.Response(500, json={"detail": "database is locked"})
        await refresh(pilot)
        [note] = app.notes_with("Hosts not refreshed")
        assert note.message == "database is locked"
        assert isinstance(app.screen, HostsScreen)
        assert hosts(app).row_keys == ["edge-02", "lab-nuc", "tim-pi"]  # the last answer stays


async def test_text_from_the_api_is_shown_not_obeyed(app: RecordingApp, api: FakeApi) -> None:
    api.placement.last_changes["lab-nuc"] = ("update host \x1b[2Jlab-nuc", now())
    async with app.run_test(size=SIZE) as pilot:
        await show_view(pilot, "hosts")
        change = hosts(app).cells_of("lab-nuc")["change"]
        assert change.startswith("update host ␛[2Jlab-nuc · ")


async def test_an_empty_placement_says_how_to_add_a_host(app: RecordingApp, api: FakeApi) -> None:
    api.placement.hosts = []
    api.placement.deployments = []
    async with app.run_test(size=SIZE) as pilot:
        await show_view(pilot, "hosts")
        assert "Hosts · none — add one with `flightdeck create host NAME" in screen_text(app)
        await show_view(pilot, "deployments")
        assert "Deployments · none — add one with" in screen_text(app)


async def test_the_views_fit_80x24(app: RecordingApp, api: FakeApi) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await show_view(pilot, "hosts")
        await refresh(pilot)
        for view in ("hosts", "host", "deployment", "deployments"):
            if view in ("host", "deployment"):
                await pilot.press("enter")
            elif view == "deployments":
                await show_view(pilot, "deployments")
            await settle(pilot)
            for shown in app.screen.query(KeyedTable):
                assert shown.compact, view
                assert shown.virtual_size.width <= shown.scrollable_content_region.width, view
            text = screen_text(app)
            assert max(len(line.rstrip()) for line in text.splitlines()) <= 80, view


async def test_a_detail_closed_while_its_refresh_is_on_its_way_does_not_crash(
    app: RecordingApp, api: FakeApi
) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await show_view(pilot, "hosts")
        await pilot.press("down", "enter")
        await settle(pilot)
        detail = app.screen
        assert isinstance(detail, HostScreen)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, HostsScreen)
        # The answer of a refresh started just before esc arrives after the screen is gone.
        worker = detail.reload()
        await worker.wait()
        await settle(pilot)
        assert app.is_running and isinstance(app.screen, HostsScreen)
