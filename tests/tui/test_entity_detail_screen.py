"""Any entity's details: fields, live percent, what it awaits and which key answers it, steps
(compensations marked), decisions, the audit trail, live refresh and the action keys."""

from __future__ import annotations

import io
import re

from rich.console import Console
from textual.pilot import Pilot

from backend.domains.labs.model import LabStatus
from tests.tui.fake_api import BASE_URL, SPECS, TOKEN, FakeApi, make_lab
from tests.tui.harness import RecordingApp, refresh, settle, show_view, wait_until
from tui.screens.action_screen import ActionScreen
from tui.screens.entity_detail_screen import EntityDetailScreen
from tui.screens.entity_list_screen import EntityListScreen
from tui.widgets.audit_table import AuditTable
from tui.widgets.decisions_table import DecisionsTable
from tui.widgets.entity_overview import EntityOverview
from tui.widgets.entity_table import EntityTable
from tui.widgets.keyed_table import KeyedTable
from tui.widgets.steps_table import StepsTable

SIZE = (120, 36)


def overview_text(app: RecordingApp) -> str:
    """The overview panel as plain text."""
    console = Console(width=110, record=True, file=io.StringIO())
    console.print(app.screen.query_one(EntityOverview).render())
    return console.export_text()


def column(table: KeyedTable, key: str) -> list[str]:
    return [text.plain for text in table.get_column(key)]


async def open_details(pilot: Pilot[None], view: str, entity_id: str) -> None:
    await show_view(pilot, view)
    pilot.app.screen.query_one(EntityTable).select_key(entity_id)
    await pilot.press("enter")
    await settle(pilot)
    assert isinstance(pilot.app.screen, EntityDetailScreen)


async def test_lab_details_show_fields_awaited_review_and_the_answering_key(
    app: RecordingApp, api: FakeApi
) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await open_details(pilot, "labs", "lab-1")
        text = overview_text(app)
        assert re.search(r"severity\s+high", text) and re.search(r"ttl\s+8", text)
        assert "awaiting review since" in text and "round r-7" in text
        assert "Validation passed: approve to finalize" in text
        assert "press r Review" in text
        assert "phase awaiting review  " + "█" * 21 + "░" * 9 + "  70%" in text
        steps = app.screen.query_one(StepsTable)
        assert column(steps, "name")[:5] == [
            "LockLab",
            "GenerateBlueprint",
            "ProvisionEnvironment",
            "RunValidation",
            "RequestHumanReview",
        ]
        assert column(steps, "state")[3:5] == ["completed", "waiting"]
        assert column(steps, "duration")[0] == "15s"
        decisions = app.screen.query_one(DecisionsTable)
        assert column(decisions, "decision") == ["review: request changes", "review: approve"]
        assert column(decisions, "accepted") == ["accepted", "ignored"]
        assert column(decisions, "comment") == ["open port 22 too", "not waiting for review"]


async def test_tenant_details_mark_compensation_steps(app: RecordingApp, api: FakeApi) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await open_details(pilot, "tenants", "tn-3")
        text = overview_text(app)
        assert re.search(r"plan\s+premium", text) and re.search(r"region\s+us-east-1", text)
        assert "last error deployApplication: image pull failed" in text
        steps = app.screen.query_one(StepsTable)
        names = column(steps, "name")
        assert names[3:] == ["deployApplication", "↺ rollbackDeployment", "↺ destroyInfrastructure"]
        assert column(steps, "state")[3:] == ["failed", "completed", "running"]
        details = column(steps, "detail")
        assert details[3] == "image pull failed"
        assert details[4] == "undoes deployApplication"
        assert details[5] == "undoes provisionInfrastructure"


async def test_details_show_the_entity_audit_trail(app: RecordingApp, api: FakeApi) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await open_details(pilot, "labs", "lab-1")
        request = api.audit_route.calls.last.request
        assert request.url.params["target_id"] == "lab-1"
        assert request.url.params["target_kind"] == "lab"
        trail = app.screen.query_one(AuditTable)
        assert column(trail, "action") == ["review.approve", "review.request_changes", "create"]
        assert column(trail, "outcome") == ["refused", "accepted", "accepted"]
        assert column(trail, "source")[0] == "temporal ⚠ unauthenticated"


async def test_details_refresh_live(app: RecordingApp, api: FakeApi) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await open_details(pilot, "labs", "lab-2")
        api.replace(make_lab("lab-2", "search-canary", LabStatus.VALIDATING, percent=80))
        await refresh(pilot)
        assert " 80%" in overview_text(app)
        assert api.get_route.calls.last.request.url.path == "/api/v1/labs/lab-2"


async def test_action_keys_work_on_the_details(app: RecordingApp, api: FakeApi) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await open_details(pilot, "tenants", "tn-2")
        await pilot.press("m")
        await settle(pilot)
        assert isinstance(app.screen, ActionScreen)
        assert app.screen.query_one(".dialog").has_class("danger")  # resolve is destructive
        await pilot.press(*"fixed the zone by hand", "enter")
        await settle(pilot)
        [request] = api.action_calls("resolve")
        assert request.url.path == "/api/v1/tenants/tn-2/resolve"
        assert isinstance(app.screen, EntityDetailScreen)
        await pilot.press("d")
        await settle(pilot)
        assert app.notes_with("tenant globex is PROVISIONING: deprovision needs ACTIVE")
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, EntityListScreen)


async def test_list_stops_polling_while_the_details_cover_it(api: FakeApi) -> None:
    app = RecordingApp(BASE_URL, TOKEN, refresh_interval=0.02, user="carol", specs=SPECS)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.screen.title == "Flightdeck ▸ needs you")
        app.open_view("labs")
        await wait_until(pilot, lambda: isinstance(app.screen, EntityListScreen))
        await wait_until(pilot, lambda: len(api.list_calls("labs")) >= 2)
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, EntityDetailScreen))
        await wait_until(pilot, lambda: api.get_route.call_count >= 2)
        lists_while_covered = len(api.list_calls("labs"))
        await wait_until(pilot, lambda: api.get_route.call_count >= 6)
        assert len(api.list_calls("labs")) <= lists_while_covered + 1
        await pilot.press("escape")
        await wait_until(pilot, lambda: len(api.list_calls("labs")) > lists_while_covered + 1)
