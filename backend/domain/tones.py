"""What a value means, so every view colours it the same way (the TUI maps tones to styles)."""

from __future__ import annotations

from enum import StrEnum


class Tone(StrEnum):
    """What a status or value means, so every view colours it the same way."""

    NEUTRAL = "neutral"
    WORKING = "working"
    WAITING = "waiting"
    GOOD = "good"
    ENDED = "ended"
    BAD = "bad"
    NOTABLE = "notable"
