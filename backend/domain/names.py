"""Validated string types shared by request bodies: names, actors, reasons."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import (
    BeforeValidator,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    StringConstraints,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema

from backend.domain.form import IDEMPOTENCY_KEY, ROUND

_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
"""Control characters (terminal escape sequences start with one) and bidirectional overrides,
which could make text read differently in a terminal than it is stored."""


def plain_text(value: str) -> str:
    """`value`, unless it holds control characters, escapes or bidirectional overrides."""
    found = _UNSAFE.search(value)
    if found is not None:
        raise ValueError(
            f"must not contain control characters, terminal escape sequences or bidirectional"
            f" overrides (found U+{ord(found.group()):04X})"
        )
    return value


SAFE_TEXT_PATTERN = (
    "^[^\\x00-\\x1f\\x7f-\\x9f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069]*$"
)
"""The same rule as a JSON-schema pattern (ECMA regex), so the OpenAPI schema says it too."""


class _PlainText:
    """Annotation: `plain_text` as a validator, and its pattern in the JSON schema."""

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(plain_text, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        json_schema["pattern"] = SAFE_TEXT_PATTERN
        return json_schema


PlainText = _PlainText()


def _whole_number(value: object) -> object:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be a whole number")
    return value


WholeNumber = Annotated[int, BeforeValidator(_whole_number)]
"""An integer, also when written `4.0` (JSON Schema's `integer` allows it); never `"4"`, `true`
or `4.5`."""

EntityName = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=63, pattern=r"^[a-z0-9][a-z0-9-]*$"
    ),
    Field(description="Lower-case letters, digits and dashes; starts with a letter or digit"),
]
Actor = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=64),
    PlainText,
    Field(description="Who acts: a user name or e-mail"),
]
Reason = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=500),
    PlainText,
    Field(description="Why: it goes to the audit log"),
]
Comment = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=2000),
    PlainText,
    Field(description="A note for the record"),
]

IdempotencyKey = Annotated[
    str | None,
    Field(
        min_length=1,
        max_length=128,
        pattern=r"^[!-~]+$",
        description="A fresh key per action; a retry with the same key gets the first answer",
    ),
    IDEMPOTENCY_KEY,
]
RoundId = Annotated[
    str | None,
    Field(
        min_length=1,
        max_length=64,
        description="The awaited round answered (progress.awaiting.request_id); default the current",
    ),
    ROUND,
]
Email = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
    ),
    Field(description="An e-mail address"),
]
