"""How a request model becomes a form: one `FormField` per field a person fills in, the value
the client fills in for the others, and validation errors as one line about one field.

Pure functions over pydantic models (no widgets), so every create form and action dialog of
every domain is built the same way from its declared request model.
"""

from __future__ import annotations

import enum
import re
import types
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails, PydanticUndefined

from backend.domain.form import filled_by
from tui.errors import one_line

FieldKind = Literal["choice", "bool", "int", "mapping", "text"]


@dataclass(frozen=True)
class FormField:
    """One field a person fills in."""

    name: str
    label: str
    kind: FieldKind
    required: bool
    default: Any
    """The default value (None when there is none)."""
    description: str
    choices: tuple[str, ...] = ()
    """For `choice` fields: the values, in declaration order."""


@dataclass(frozen=True)
class FormProblem:
    """Why the form cannot be sent: one line, and the field to put the cursor on."""

    field: str | None
    message: str


def form_fields(model: type[BaseModel]) -> list[FormField]:
    """The fields of `model` a person fills in (client-filled ones are left out), in order."""
    fields = []
    for name, info in model.model_fields.items():
        if filled_by(model, name) is not None:
            continue
        kind, choices = _kind_of(info.annotation)
        default = None if info.default is PydanticUndefined else info.default
        if isinstance(default, enum.Enum):
            default = default.value
        fields.append(
            FormField(
                name=name,
                label=name.replace("_", " "),
                kind=kind,
                required=info.is_required(),
                default=default,
                description=info.description or "",
                choices=choices,
            )
        )
    return fields


def client_filled(model: type[BaseModel], values: Mapping[str, Any]) -> dict[str, Any]:
    """The values of the fields the client fills, by field name, from values by role
    (`actor`, `idempotency_key`, `round`); roles without a value are left to the default."""
    filled = {}
    for name in model.model_fields:
        role = filled_by(model, name)
        if role is not None and values.get(role) is not None:
            filled[name] = values[role]
    return filled


def choice_label(value: str) -> str:
    """A choice as words: `request_changes` → `Request changes`; `us-east-1` stays as it is."""
    if value.replace("_", "").isalpha() and value.islower():
        return value.replace("_", " ").capitalize()
    return value


def choice_keys(labels: Sequence[str], taken: Sequence[str] = ()) -> list[str]:
    """One key per choice, none of `taken`: the first free initial of the label's words
    (`Request changes` → `r`, else `c`), else its first free letter or digit."""
    used = {key.lower() for key in taken}
    keys = []
    for label in labels:
        text = label.lower()
        initials = [word[0] for word in re.split(r"[^a-z0-9]+", text) if word]
        letters = [c for c in text if c.isalnum()]
        key = next((c for c in [*initials, *letters] if c not in used), None)
        if key is None:
            key = next(c for c in "123456789abcdefghijklmnopqrstuvwxyz" if c not in used)
        used.add(key)
        keys.append(key)
    return keys


def build(
    model: type[BaseModel],
    fields: Sequence[FormField],
    entered: Mapping[str, Any],
    filled: Mapping[str, Any],
) -> BaseModel | FormProblem:
    """Validate what was entered (text as typed; ints parsed here) plus the client-filled
    values against `model`; the model, or the first problem."""
    data: dict[str, Any] = dict(filled)
    for field in fields:
        value = entered.get(field.name)
        if field.kind == "int":
            text = str(value or "").strip()
            if not text:
                if field.required:
                    return FormProblem(field.name, f"{field.label}: enter a whole number")
                continue
            try:
                data[field.name] = int(text)
            except ValueError:
                return FormProblem(field.name, f"{field.label}: {text!r} is not a whole number")
        elif field.kind == "mapping":
            parsed = parse_mapping(str(value or ""))
            if isinstance(parsed, str):
                return FormProblem(field.name, f"{field.label}: {parsed}")
            if parsed or field.required:
                data[field.name] = parsed
        elif field.kind == "choice" and value is None:
            if field.required:
                return FormProblem(field.name, f"{field.label}: choose one")
        elif field.kind == "text" and not str(value or "").strip() and not field.required:
            continue  # empty optional text: the model's default
        else:
            data[field.name] = value
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        return problem_of(exc, fields)


def parse_mapping(text: str) -> dict[str, str] | str:
    """`k=v, k2=v2` as a dict (values may not hold commas); a one-line problem otherwise."""
    mapping: dict[str, str] = {}
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        key, equals, value = item.partition("=")
        if not equals or not key.strip():
            return f"{item!r} is not name=value (write name=value, name=value)"
        if key.strip() in mapping:
            return f"{key.strip()} is given twice"
        mapping[key.strip()] = value.strip()
    return mapping


def format_mapping(mapping: Mapping[str, Any]) -> str:
    """A dict as `parse_mapping` reads it back."""
    return ", ".join(f"{key}={value}" for key, value in mapping.items())


def problem_of(exc: ValidationError, fields: Sequence[FormField]) -> FormProblem:
    """The first validation error, said about the field it concerns."""
    by_name = {field.name: field for field in fields}
    errors = exc.errors(include_url=False)
    if not errors:
        return FormProblem(None, "invalid input")
    error = errors[0]
    loc = error.get("loc", ())
    name = str(loc[0]) if loc else None
    field = by_name.get(name or "")
    if field is None:
        return FormProblem(None, one_line(f"{name or 'form'}: {error.get('msg', 'invalid')}"))
    return FormProblem(field.name, one_line(f"{field.label}: {_explain(error, field)}"))


def _explain(error: ErrorDetails, field: FormField) -> str:
    kind = error.get("type", "")
    if kind in ("missing", "string_too_short") and not str(error.get("input") or "").strip():
        return "required"
    if kind == "string_pattern_mismatch" and field.description:
        return field.description[0].lower() + field.description[1:]
    return str(error.get("msg", "invalid value"))


def _kind_of(annotation: Any) -> tuple[FieldKind, tuple[str, ...]]:
    """The form control a field's type asks for (Optional and Annotated are looked through)."""
    hint = _unwrap(annotation)
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return "choice", tuple(str(member.value) for member in hint)
    if get_origin(hint) is Literal:
        return "choice", tuple(str(arg) for arg in get_args(hint))
    if hint is bool:
        return "bool", ()
    if get_origin(hint) is dict:
        return "mapping", ()
    if hint is int:
        return "int", ()
    return "text", ()


def _unwrap(annotation: Any) -> Any:
    origin = get_origin(annotation)
    if origin is Annotated:
        return _unwrap(get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        args = [arg for arg in get_args(annotation) if arg is not type(None)]
        if len(args) == 1:
            return _unwrap(args[0])
    return annotation
