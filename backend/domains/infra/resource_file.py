"""The sandbox runner's configuration: one declarative resource file per directory.

`resources.yaml` (or `.yml`, or `resources.json`) declares variables with defaults, resources
(`type`, `name`, `attributes`, `tags`) and outputs. Strings may hold `${var.NAME}`; outputs may
also hold `${TYPE.NAME.ATTRIBUTE}`, resolved against the sandbox's state after apply. Every
problem is an `InvalidConfiguration` with a one-line message naming the file and the place.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from backend.domains.infra.providers import InvalidConfiguration

RESOURCE_FILE_NAMES = ("resources.yaml", "resources.yml", "resources.json")
"""The names the sandbox looks for in a configuration directory (exactly one must exist)."""

_REFERENCE = re.compile(r"\$\{([^}]*)\}")
_TYPE_PATTERN = r"[a-z][a-z0-9_]*"
_NAME_PATTERN = r"[A-Za-z_][A-Za-z0-9_-]*"
_TYPE = re.compile(_TYPE_PATTERN)
_NAME = re.compile(_NAME_PATTERN)
_VARIABLE_REF = re.compile(rf"var\.({_NAME_PATTERN})")
_RESOURCE_REF = re.compile(rf"({_TYPE_PATTERN})\.({_NAME_PATTERN})\.([A-Za-z_][A-Za-z0-9_]*)")
_TOP_LEVEL_KEYS = frozenset({"description", "variables", "resources", "outputs"})
_RESOURCE_KEYS = frozenset({"type", "name", "attributes", "tags"})
_OUTPUT_KEYS = frozenset({"value", "sensitive", "description"})
_VARIABLE_KEYS = frozenset({"default", "description"})


@dataclass(frozen=True)
class VariableSpec:
    """A declared variable: its default (None: it must be given) and what it is for."""

    name: str
    default: str | None = None
    description: str = ""


@dataclass(frozen=True)
class ResourceSpec:
    """A declared resource, before variables are substituted."""

    type: str
    name: str
    attributes: dict[str, Any]
    tags: dict[str, Any]

    @property
    def address(self) -> str:
        """`type.name`, as terraform addresses it."""
        return f"{self.type}.{self.name}"

    def desired(self, variables: Mapping[str, str]) -> dict[str, Any]:
        """Its attributes with variables substituted and the tags under `tags` (the shape of
        terraform's `change.after`, so policy reads `after.tags` from either runner)."""
        after: dict[str, Any] = substitute(self.attributes, variables)
        if self.tags:
            after["tags"] = substitute(self.tags, variables)
        return after


@dataclass(frozen=True)
class OutputSpec:
    """A declared output: its value expression and whether it is sensitive."""

    name: str
    value: Any
    sensitive: bool = False


@dataclass(frozen=True)
class ResourceFile:
    """A parsed, validated resource file (every reference points at something declared)."""

    path: Path
    description: str
    variables: dict[str, VariableSpec]
    resources: list[ResourceSpec]
    outputs: list[OutputSpec]

    def effective_variables(self, given: Mapping[str, str]) -> dict[str, str]:
        """The variables after defaults; InvalidConfiguration for an unknown or missing one."""
        unknown = sorted(set(given) - set(self.variables))
        if unknown:
            declared = ", ".join(sorted(self.variables)) or "none"
            raise InvalidConfiguration(
                f"{self.path.name}: unknown variable {unknown[0]!r} (declared: {declared})"
            )
        values: dict[str, str] = {}
        for name, spec in self.variables.items():
            if name in given:
                values[name] = str(given[name])
            elif spec.default is not None:
                values[name] = spec.default
            else:
                raise InvalidConfiguration(
                    f"{self.path.name}: variable {name!r} has no default and was not given"
                )
        return values

    def resolve_outputs(
        self, variables: Mapping[str, str], attribute: Callable[[str, str], Any]
    ) -> dict[str, Any]:
        """Every output's value: variables substituted, `${TYPE.NAME.ATTR}` through `attribute`
        (address, attribute name) → value."""
        return {o.name: substitute(o.value, variables, attribute) for o in self.outputs}


def computed_attributes(
    type_: str, name: str, attributes: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """What the sandbox's pretend provider computes for a resource once it exists: always an
    `id`, plus an `endpoint` for namespaces (from their `name` attribute) and a `token` for API
    keys. Deterministic, so outputs can be checked before apply and plans stay stable."""
    digest = hashlib.sha256(f"{type_}.{name}".encode()).hexdigest()
    computed: dict[str, Any] = {"id": f"{type_}-{name}-{digest[:8]}"}
    if type_ == "temporalcloud_namespace":
        namespace = (attributes or {}).get("name") or name
        computed["endpoint"] = f"{namespace}.sandbox.tmprl.cloud:7233"
    if type_ == "temporalcloud_apikey":
        computed["token"] = f"tcsk-{digest[8:40]}"
    return computed


def find_resource_file(directory: Path) -> Path:
    """The directory's resource file; InvalidConfiguration when there is none or more than one."""
    if not directory.is_dir():
        raise InvalidConfiguration(f"configuration directory {directory} does not exist")
    found = [directory / n for n in RESOURCE_FILE_NAMES if (directory / n).is_file()]
    if not found:
        names = ", ".join(RESOURCE_FILE_NAMES)
        raise InvalidConfiguration(f"no resource file ({names}) in {directory}")
    if len(found) > 1:
        raise InvalidConfiguration(
            f"{found[0].name} and {found[1].name} both in {directory}: keep one"
        )
    return found[0]


def load_resource_file(directory: Path) -> ResourceFile:
    """Find, read, parse and validate the directory's resource file (blocking: run in a thread)."""
    path = find_resource_file(directory)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise InvalidConfiguration(f"cannot read {path}: {error}") from error
    return parse_resource_file(text, path)


def parse_resource_file(text: str, path: Path) -> ResourceFile:
    """Parse and validate a resource file's text (`path` names it in messages and picks JSON)."""
    document = _load_document(text, path)
    file = path.name
    if not isinstance(document, dict):
        raise InvalidConfiguration(f"{file}: expected a mapping with variables, resources, outputs")
    _no_unknown_keys(document, _TOP_LEVEL_KEYS, file)
    variables = _parse_variables(document.get("variables"), file)
    resources = _parse_resources(document.get("resources"), file)
    outputs = _parse_outputs(document.get("outputs"), file)
    parsed = ResourceFile(
        path=path,
        description=str(document.get("description") or ""),
        variables=variables,
        resources=resources,
        outputs=outputs,
    )
    _check_references(parsed)
    return parsed


def substitute(
    value: Any,
    variables: Mapping[str, str],
    attribute: Callable[[str, str], Any] | None = None,
) -> Any:
    """`value` with every `${var.NAME}` (and, given `attribute`, `${TYPE.NAME.ATTR}`) replaced,
    through nested lists and mappings. A string that is one whole reference becomes the value
    itself (a list stays a list); references inside longer strings are spliced in as text."""
    if isinstance(value, dict):
        return {k: substitute(v, variables, attribute) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, variables, attribute) for v in value]
    if not isinstance(value, str):
        return value

    def lookup(expression: str) -> Any:
        variable = _VARIABLE_REF.fullmatch(expression)
        if variable:
            return variables[variable.group(1)]
        resource = _RESOURCE_REF.fullmatch(expression)
        if resource and attribute is not None:
            type_, name, attr = resource.groups()
            return attribute(f"{type_}.{name}", attr)
        return "${" + expression + "}"

    whole = _REFERENCE.fullmatch(value)
    if whole:
        return lookup(whole.group(1))
    return _REFERENCE.sub(lambda m: _as_text(lookup(m.group(1))), value)


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value)


def _load_document(text: str, path: Path) -> Any:
    if path.suffix == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as error:
            raise InvalidConfiguration(
                f"{path.name}: not valid JSON: {error.msg} (line {error.lineno})"
            ) from error
    try:
        return yaml.safe_load(text)
    except yaml.MarkedYAMLError as error:
        line = f" (line {error.problem_mark.line + 1})" if error.problem_mark else ""
        raise InvalidConfiguration(f"{path.name}: not valid YAML: {error.problem}{line}") from error
    except yaml.YAMLError as error:
        raise InvalidConfiguration(f"{path.name}: not valid YAML: {error}") from error


def _no_unknown_keys(mapping: Mapping[str, Any], allowed: frozenset[str], where: str) -> None:
    unknown = sorted(str(k) for k in mapping if k not in allowed)
    if unknown:
        expected = ", ".join(sorted(allowed))
        raise InvalidConfiguration(f"{where}: unknown key {unknown[0]!r} (expected {expected})")


def _parse_variables(raw: Any, file: str) -> dict[str, VariableSpec]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise InvalidConfiguration(f"{file}: variables must be a mapping of name to settings")
    variables: dict[str, VariableSpec] = {}
    for name, settings in raw.items():
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise InvalidConfiguration(f"{file}: bad variable name {name!r}")
        where = f"{file}: variable {name}"
        if settings is None:
            variables[name] = VariableSpec(name)
        elif isinstance(settings, dict):
            _no_unknown_keys(settings, _VARIABLE_KEYS, where)
            default = settings.get("default")
            if isinstance(default, dict | list):
                raise InvalidConfiguration(f"{where}: the default must be a single value")
            variables[name] = VariableSpec(
                name,
                default=None if default is None else str(default),
                description=str(settings.get("description") or ""),
            )
        elif isinstance(settings, list):
            raise InvalidConfiguration(f"{where}: expected {{default: ..., description: ...}}")
        else:
            variables[name] = VariableSpec(name, default=str(settings))
    return variables


def _parse_resources(raw: Any, file: str) -> list[ResourceSpec]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise InvalidConfiguration(f"{file}: resources must be a list")
    resources: list[ResourceSpec] = []
    seen: set[str] = set()
    for index, item in enumerate(raw):
        where = f"{file}: resources[{index}]"
        if not isinstance(item, dict):
            raise InvalidConfiguration(f"{where}: expected a mapping with type and name")
        _no_unknown_keys(item, _RESOURCE_KEYS, where)
        type_, name = item.get("type"), item.get("name")
        if not isinstance(type_, str) or not _TYPE.fullmatch(type_):
            raise InvalidConfiguration(f"{where}: type must look like temporalcloud_namespace")
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise InvalidConfiguration(f"{where}: name must be letters, digits, _ or -")
        attributes = item.get("attributes") or {}
        tags = item.get("tags") or {}
        if not isinstance(attributes, dict) or not isinstance(tags, dict):
            raise InvalidConfiguration(f"{where}: attributes and tags must be mappings")
        if "tags" in attributes:
            raise InvalidConfiguration(f"{where}: put tags under tags, not attributes")
        spec = ResourceSpec(type=type_, name=name, attributes=attributes, tags=tags)
        if spec.address in seen:
            raise InvalidConfiguration(f"{file}: resource {spec.address} is declared twice")
        seen.add(spec.address)
        resources.append(spec)
    return resources


def _parse_outputs(raw: Any, file: str) -> list[OutputSpec]:
    if raw is None:
        return []
    if not isinstance(raw, dict):
        raise InvalidConfiguration(f"{file}: outputs must be a mapping of name to value")
    outputs: list[OutputSpec] = []
    for name, setting in raw.items():
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise InvalidConfiguration(f"{file}: bad output name {name!r}")
        if isinstance(setting, dict) and "value" in setting:
            _no_unknown_keys(setting, _OUTPUT_KEYS, f"{file}: output {name}")
            outputs.append(OutputSpec(name, setting["value"], bool(setting.get("sensitive"))))
        else:
            outputs.append(OutputSpec(name, setting))
    return outputs


def _references(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [ref for v in value.values() for ref in _references(v)]
    if isinstance(value, list):
        return [ref for v in value for ref in _references(v)]
    if isinstance(value, str):
        return _REFERENCE.findall(value)
    return []


def _check_references(parsed: ResourceFile) -> None:
    file = parsed.path.name
    by_address = {r.address: r for r in parsed.resources}

    def check_variable(expression: str, where: str) -> bool:
        variable = _VARIABLE_REF.fullmatch(expression)
        if not variable:
            return False
        if variable.group(1) not in parsed.variables:
            raise InvalidConfiguration(
                f"{file}: {where} refers to undeclared variable {variable.group(1)!r}"
            )
        return True

    for resource in parsed.resources:
        where = f"resource {resource.address}"
        for expression in _references([resource.attributes, resource.tags]):
            if not check_variable(expression, where):
                raise InvalidConfiguration(
                    f"{file}: {where} has bad reference ${{{expression}}}"
                    " (resources may only use ${var.NAME})"
                )
    for output in parsed.outputs:
        where = f"output {output.name}"
        for expression in _references(output.value):
            if check_variable(expression, where):
                continue
            match = _RESOURCE_REF.fullmatch(expression)
            if not match:
                raise InvalidConfiguration(
                    f"{file}: {where} has bad reference ${{{expression}}}"
                    " (use ${var.NAME} or ${TYPE.NAME.ATTRIBUTE})"
                )
            type_, name, attr = match.groups()
            target = by_address.get(f"{type_}.{name}")
            if target is None:
                raise InvalidConfiguration(
                    f"{file}: {where} refers to undeclared resource {type_}.{name}"
                )
            known = {*target.attributes, *computed_attributes(type_, name)}
            if target.tags:
                known.add("tags")
            if attr not in known:
                raise InvalidConfiguration(
                    f"{file}: {where} refers to {type_}.{name}.{attr}, which it does not have"
                )
