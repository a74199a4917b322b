"""Text from the API is shown, never obeyed: escapes become visible symbols, bidirectional
overrides are dropped, before any screen renders it."""

from __future__ import annotations

from backend.domains.labs.model import LabStatus
from tests.tui.fake_api import FakeApi, make_lab
from tests.tui.harness import RecordingApp, settle, show_view
from tests.tui.test_entity_detail_screen import SIZE, column
from tui.safe_text import defang, defang_text
from tui.widgets.entity_table import EntityTable


def test_controls_become_pictures_and_bidi_overrides_go() -> None:
    assert defang_text("ok\x1b[2Jgone") == "ok\u241b[2Jgone"
    assert defang_text("evil \u202egnp.exe") == "evil gnp.exe"
    assert defang_text("bell\x07 del\x7f c1\x9b") == "bell\u2407 del\u2421 c1\ufffd"
    assert defang_text("two\nlines\tok") == "two\nlines\tok"
    assert defang({"a\x1b": ["x\x1b", 3, None]}) == {"a\u241b": ["x\u241b", 3, None]}


async def test_an_escape_in_a_name_is_shown_not_obeyed(app: RecordingApp, api: FakeApi) -> None:
    hostile = make_lab("lab-9", "x", LabStatus.PROVISIONING, percent=10)
    api.entities["labs"].insert(0, hostile.model_copy(update={"requested_by": "\x1b[2Jmallory"}))
    async with app.run_test(size=SIZE) as pilot:
        await show_view(pilot, "labs")
        await settle(pilot)
        table = app.screen.query_one(EntityTable)
        row = next(e for e in table.entities if e.id == "lab-9")
        assert row.requested_by == "\u241b[2Jmallory"
        assert all("\x1b" not in cell for cell in column(table, "name"))
