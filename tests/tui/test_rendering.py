"""How the TUI writes things: percent bars, ages, notes, action refusals, and that every view
fits 80x24 without sideways scrolling."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from backend.domain.catalog import all_specs
from backend.domains.labs.model import LabStatus
from backend.domains.labs.spec import SPEC as LABS
from backend.domains.tenants.spec import SPEC as TENANTS
from tests.tui.fake_api import FakeApi, make_lab, now, sample_tenants
from tests.tui.harness import RecordingApp, refresh, screen_text, settle, show_view
from tui.action_rules import ActionTarget, confirmation, refusal
from tui.errors import format_validation_errors
from tui.live_progress import live_state, note
from tui.time_format import format_age, format_duration
from tui.widgets.keyed_table import KeyedTable
from tui.widgets.percent_bar import percent_bar


def test_percent_bar_fills_in_proportion_and_prints_the_number() -> None:
    assert percent_bar(70).plain == "███████░░░  70%"
    assert percent_bar(0).plain == "░░░░░░░░░░   0%"
    assert percent_bar(100).plain == "██████████ 100%"
    assert percent_bar(99, width=6).plain == "█████░  99%"
    assert percent_bar(140).plain == "██████████ 100%"
    assert percent_bar(None).plain == "░░░░░░░░░░    —"


def test_ages_and_durations() -> None:
    now = datetime(2025, 1, 1, 12, tzinfo=UTC)
    assert format_age(now - timedelta(seconds=42), now) == "42s"
    assert format_age(now - timedelta(minutes=3, seconds=59), now) == "3m"
    assert format_age(now - timedelta(hours=2, minutes=30), now) == "2h"
    assert format_age(now - timedelta(days=3), now) == "3d"
    assert format_duration(timedelta(milliseconds=850)) == "850ms"
    assert format_duration(timedelta(seconds=65)) == "1m 05s"


def test_exact_progress_wins_over_the_last_report() -> None:
    lab = make_lab("lab-1", "a", LabStatus.AWAITING_REVIEW, percent=70, review_round="r-1")
    reported = lab.model_copy(update={"percent": 60})
    state = live_state(reported)
    assert (state.percent, state.exact, state.awaiting is not None) == (70, True, True)
    state = live_state(reported.model_copy(update={"progress": None}))
    assert (state.percent, state.exact, state.accepts) == (60, False, ("review", "cancel"))


def test_a_waiting_note_keeps_its_age_when_narrow() -> None:
    tenant = sample_tenants()[1]
    assert note(TENANTS, tenant, now()).plain == "intervention 5m"
    assert note(TENANTS, tenant, now(), width=12).plain == "interven… 5m"


def test_refusals_say_what_the_entity_takes() -> None:
    acme, globex = sample_tenants()[:2]
    cancel, deprovision = TENANTS.action("cancel"), TENANTS.action("deprovision")
    assert cancel is not None and deprovision is not None
    assert refusal(TENANTS, cancel, ActionTarget.of_entity(acme)) == (
        "tenant acme is ACTIVE: cancel is not possible now"
    )
    assert refusal(TENANTS, deprovision, ActionTarget.of_entity(acme)) is None
    assert refusal(TENANTS, cancel, ActionTarget.of_entity(globex)) is None
    assert confirmation(TENANTS, cancel, ActionTarget.of_entity(globex)) == (
        "Cancel provisioning of tenant globex? What was made so far is rolled back."
    )
    review = LABS.action("review")
    assert review is not None
    lab = make_lab("lab-1", "a", LabStatus.AWAITING_REVIEW, percent=70, review_round="r-1")
    assert ActionTarget.of_entity(lab).round_for(review) == "r-1"


def test_validation_errors_drop_the_body_prefix_and_join_in_one_line() -> None:
    errors = [
        {"loc": ("body", "name"), "msg": "too long"},
        {"loc": ("body", "items", 0, "name"), "msg": "missing"},
        {"loc": (), "msg": "body required"},
    ]
    assert format_validation_errors(errors) == (
        "name: too long; items.0.name: missing; body required"
    )


@pytest.mark.parametrize("view", ["needs", "labs", "tenants", "audit"])
async def test_every_view_fits_80x24(app: RecordingApp, api: FakeApi, view: str) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await show_view(pilot, view)
        await refresh(pilot)
        for table in app.screen.query(KeyedTable):
            assert table.compact
            assert table.virtual_size.width <= table.scrollable_content_region.width, view
        text = screen_text(app)
        assert "● connected" in text
        assert max(len(line.rstrip()) for line in text.splitlines()) <= 80


async def test_details_fit_80_columns(app: RecordingApp, api: FakeApi) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await show_view(pilot, "tenants")
        await pilot.press("down", "down", "enter")
        await settle(pilot)
        for table in app.screen.query(KeyedTable):
            assert table.virtual_size.width <= table.scrollable_content_region.width
        assert "Flightdeck ▸ tenants ▸ initech" in screen_text(app)


async def test_wide_tables_stretch_the_last_column_instead_of_scrolling(
    app: RecordingApp, api: FakeApi
) -> None:
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        for table in app.screen.query(KeyedTable):
            assert not table.compact
            assert table.virtual_size.width <= table.scrollable_content_region.width
        assert re.search(r"configureDns failed 5 times: \S+…", screen_text(app))


def test_declared_action_keys_are_free_on_every_screen() -> None:
    reserved = {"n", "s", "q", "f5", "enter", "escape", "colon", "slash"}
    for spec in (*all_specs(), LABS, TENANTS):
        keys = [action.key for action in spec.actions]
        assert len(set(keys)) == len(keys), spec.kind
        assert not set(keys) & reserved, spec.kind


def test_a_retrying_step_without_an_error_is_named() -> None:
    lab = make_lab("lab-5", "flaky", LabStatus.VALIDATING, percent=60, attempt=3)
    assert note(LABS, lab, now()).plain == "RunValidation attempt 3: working"
    assert "red" in str(note(LABS, lab, now()).style)
