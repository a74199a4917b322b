"""A percent-complete bar as rich Text: `███████░░░  70%`, coloured by the lab's state."""

from __future__ import annotations

from rich.text import Text

FILLED = "█"
EMPTY = "░"


def percent_bar(percent: int | None, width: int = 10, style: str = "") -> Text:
    """Render `percent` (0-100, or None when unknown) as a bar `width` cells wide plus the number."""
    text = Text(no_wrap=True, end="")
    if percent is None:
        text.append(EMPTY * width, style="dim")
        text.append("    —", style="dim")
        return text
    clamped = max(0, min(100, percent))
    filled = clamped * width // 100
    text.append(FILLED * filled, style=style or None)
    text.append(EMPTY * (width - filled), style="dim")
    text.append(f" {clamped:>3d}%", style=style or None)
    return text
