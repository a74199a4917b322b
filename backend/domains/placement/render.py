"""Templates: `${name}` placeholders (`$name` too, `$$` for a dollar sign) filled with a
deployment's values and the built-in names; checked when a template or a deployment is written,
so rendering never fails later."""

from __future__ import annotations

import string
from collections.abc import Iterable, Mapping

BUILT_INS = ("deployment", "workload", "repo", "template", "target", "host", "replicas")
"""Names every rendering knows; a deployment's own values may not reuse them."""


class TemplateError(ValueError):
    """A template's text, or a deployment's values for it, cannot be rendered."""


def placeholders(text: str) -> list[str]:
    """The names the template's text uses, in first-use order; TemplateError for a `$` that
    starts no placeholder (write `$$` for a dollar sign)."""
    template = string.Template(text)
    if not template.is_valid():
        for match in template.pattern.finditer(text):
            if match.group("invalid") is not None:
                start = match.start()  # the `$` (the `invalid` group is empty, after it)
                line = text.count("\n", 0, start) + 1
                column = start - (text.rfind("\n", 0, start) + 1) + 1
                raise TemplateError(
                    f"line {line}, column {column}: `$` starts no placeholder"
                    " (write ${name}, or $$ for a dollar sign)"
                )
    return list(dict.fromkeys(template.get_identifiers()))


def check_values(names: Iterable[str], values: Mapping[str, str], template: str) -> None:
    """TemplateError when `values` reuse a built-in name or leave a placeholder unfilled."""
    reused = sorted(set(values) & set(BUILT_INS))
    if reused:
        raise TemplateError(f"values may not be named {', '.join(reused)} (built-in names)")
    missing = [name for name in names if name not in values and name not in BUILT_INS]
    if missing:
        raise TemplateError(f"template {template} needs values for {', '.join(missing)}")


def render(text: str, values: Mapping[str, str], built_ins: Mapping[str, str]) -> str:
    """The template's text with every placeholder filled (values checked beforehand)."""
    return string.Template(text).substitute({**values, **built_ins})
