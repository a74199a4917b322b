"""Data from the API is shown, never obeyed: control characters (terminal escape sequences start
with one) become visible symbols and bidirectional overrides are dropped, before any screen sees
the text. The API refuses such text in what it takes; this covers what it did not take itself
(a signal sent with another Temporal client, a provider's error message, older rows)."""

from __future__ import annotations

import re
from typing import Any

_BIDI = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _picture(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x20:
        return chr(0x2400 + code)  # ␛ for ESC, ␀ for NUL, ...
    if code == 0x7F:
        return "\u2421"  # ␡
    return "\ufffd"  # C1 controls: �


def defang_text(text: str) -> str:
    """`text` safe to put on a terminal (tabs and newlines kept)."""
    if text.isprintable():
        return text
    return _CONTROL.sub(_picture, _BIDI.sub("", text))


def defang(value: Any) -> Any:
    """Every string inside a decoded JSON value made safe (keys too)."""
    if isinstance(value, str):
        return defang_text(value)
    if isinstance(value, list):
        return [defang(item) for item in value]
    if isinstance(value, dict):
        return {defang_text(str(key)): defang(item) for key, item in value.items()}
    return value
