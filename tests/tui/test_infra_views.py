"""The infra-runs view needs no TUI code of its own: its list, its detail (plan diff, policy
verdicts, outputs) and its approve / deny dialogs come from the domain's declaration."""

from __future__ import annotations

import io
import json

from rich.console import Console

from tests.tui.fake_api import FakeApi, sample_infra_runs
from tests.tui.harness import RecordingApp, settle
from tests.tui.test_entity_detail_screen import SIZE, column, open_details
from tui.screens.action_screen import ActionScreen
from tui.screens.entity_detail_screen import EntityDetailScreen
from tui.widgets.detail_sections import DetailSections
from tui.widgets.entity_table import EntityTable


def sections_text(app: RecordingApp) -> str:
    console = Console(width=110, record=True, file=io.StringIO())
    console.print(app.screen.query_one(DetailSections).render())
    return console.export_text()


async def test_the_detail_shows_the_plan_diff_and_the_failed_policy(
    app: RecordingApp, api: FakeApi
) -> None:
    api.entities["infra-runs"] = sample_infra_runs()
    async with app.run_test(size=SIZE) as pilot:
        await open_details(pilot, "infra-runs", "ir-1")
        text = sections_text(app)
        assert "Plan: 1 to add, 1 to change, 0 to destroy" in text
        assert "+ temporalcloud_user.breakglass" in text
        assert "~ temporalcloud_namespace.payments  retention_days: 30 → 60" in text
        assert "Policy (rules)" in text
        lines = text.splitlines()
        failed = lines.index(next(line for line in lines if "✗ no-admin-principals" in line))
        passed = lines.index(next(line for line in lines if "✓ required-tags" in line))
        assert failed < passed  # failures first: they are what the approver must read
        assert "grants admin access" in lines[failed]


async def test_approve_asks_for_a_reason_and_sends_it(app: RecordingApp, api: FakeApi) -> None:
    api.entities["infra-runs"] = sample_infra_runs()
    async with app.run_test(size=SIZE) as pilot:
        await open_details(pilot, "infra-runs", "ir-1")
        await pilot.press("a")
        await settle(pilot)
        assert isinstance(app.screen, ActionScreen)
        await pilot.press("enter")  # no reason yet: refused in the dialog, nothing sent
        await settle(pilot)
        assert isinstance(app.screen, ActionScreen) and not api.action_calls("approve")
        await pilot.press(*"INC-42 break glass", "enter")
        await settle(pilot)
        [request] = api.action_calls("approve")
        assert request.url.path == "/api/v1/infra-runs/ir-1/approve"
        body = json.loads(request.content)
        assert body["reason"] == "INC-42 break glass" and body["actor"] == "carol"
        assert isinstance(app.screen, EntityDetailScreen)


async def test_the_list_shows_plan_and_policy_columns(app: RecordingApp, api: FakeApi) -> None:
    api.entities["infra-runs"] = sample_infra_runs()
    async with app.run_test(size=SIZE) as pilot:
        await open_details(pilot, "infra-runs", "ir-2")
        await pilot.press("escape")
        await settle(pilot)
        table = app.screen.query_one(EntityTable)
        assert column(table, "changes") == ["+1 ~1 -0", "+1 ~1 -0"]
        assert column(table, "policy_verdict") == ["1 failed", "passed"]
