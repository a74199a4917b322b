"""The blocks a domain adds to its entities' detail view (an infra run's plan diff, policy
verdicts and outputs): titled lines, each in the colour of its tone."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

from backend.domain.entities import DetailSection
from tui.tones import MUTED_STYLE, TONE_STYLES


class DetailSections(Static):
    """Renders `sections`; nothing at all when the domain adds none."""

    sections: reactive[list[DetailSection]] = reactive(list, always_update=True)

    def watch_sections(self, sections: list[DetailSection]) -> None:
        self.display = bool(sections)

    def render(self) -> RenderableType:
        parts: list[RenderableType] = []
        for section in self.sections:
            parts.append(Text(section.title, style="bold"))
            if not section.lines:
                parts.append(Text(f"  {section.empty}", style=MUTED_STYLE))
            for line in section.lines:
                text = Text("  ")
                text.append(line.text, style=TONE_STYLES[line.tone])
                if line.note:
                    text.append(f"  {line.note}", style=MUTED_STYLE)
                parts.append(text)
            parts.append(Text(""))
        return Group(*parts)
