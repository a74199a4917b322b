"""How the TUI writes things: percent bars, ages, durations and which progress it believes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from backend.domain.labs import LabStatus
from backend.domain.progress import ProgressSummary
from tests.tui.fake_api import make_lab
from tui.errors import format_validation_errors
from tui.live_progress import progress_view
from tui.time_format import format_age, format_duration
from tui.widgets.percent_bar import percent_bar


def test_percent_bar_fills_in_proportion_and_prints_the_number() -> None:
    assert percent_bar(70).plain == "███████░░░  70%"
    assert percent_bar(0).plain == "░░░░░░░░░░   0%"
    assert percent_bar(100).plain == "██████████ 100%"
    assert percent_bar(99, width=6).plain == "█████░  99%"


def test_percent_bar_clamps_and_shows_unknown() -> None:
    assert percent_bar(140).plain == "██████████ 100%"
    assert percent_bar(None).plain == "░░░░░░░░░░    —"


def test_percent_bar_takes_the_state_colour() -> None:
    bar = percent_bar(50, style="bold red")
    assert any(str(span.style) == "bold red" for span in bar.spans)


def test_ages_use_the_largest_whole_unit() -> None:
    now = datetime(2025, 1, 1, 12, tzinfo=UTC)
    assert format_age(now - timedelta(seconds=42), now) == "42s"
    assert format_age(now - timedelta(minutes=3, seconds=59), now) == "3m"
    assert format_age(now - timedelta(hours=2, minutes=30), now) == "2h"
    assert format_age(now - timedelta(days=3), now) == "3d"
    assert format_age(now + timedelta(seconds=5), now) == "0s"


def test_durations_read_to_the_second() -> None:
    assert format_duration(timedelta(milliseconds=850)) == "850ms"
    assert format_duration(timedelta(seconds=65)) == "1m 05s"
    assert format_duration(timedelta(hours=2, minutes=3)) == "2h 03m"


def test_exact_progress_wins_over_the_visibility_summary() -> None:
    lab = make_lab("lab-1", "a", LabStatus.AWAITING_REVIEW, percent=70, review_round="r-1")
    lab = lab.model_copy(update={"summary": ProgressSummary(phase="validating", percent=60)})
    view = progress_view(lab)
    assert (view.phase, view.percent, view.awaits_review, view.exact) == (
        "awaiting_review",
        70,
        True,
        True,
    )


def test_summary_is_used_when_there_is_no_exact_progress() -> None:
    lab = make_lab("lab-1", "a", LabStatus.PROVISIONING, percent=30)
    lab = lab.model_copy(
        update={"progress": None, "summary": ProgressSummary(phase="provisioning", percent=33)}
    )
    view = progress_view(lab)
    assert (view.phase, view.percent, view.awaiting_kind, view.exact) == (
        "provisioning",
        33,
        None,
        False,
    )


def test_validation_errors_drop_the_body_prefix_and_join_in_one_line() -> None:
    errors = [
        {"loc": ("body", "name"), "msg": "too long"},
        {"loc": ("body", "items", 0, "name"), "msg": "missing"},
        {"loc": (), "msg": "body required"},
    ]
    assert format_validation_errors(errors) == (
        "name: too long; items.0.name: missing; body required"
    )
