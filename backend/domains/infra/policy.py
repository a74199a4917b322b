"""Policy as data: rules in a YAML (or JSON) file, each judging a plan and giving one verdict.

A rules file is `rules: [...]`, each rule an `id`, a `kind` and the kind's fields:

- `forbid_values`: no created or updated resource sets `attribute` to one of `values`;
- `no_deletes`: no resource is deleted or replaced;
- `max_changes`: at most `limit` resources change;
- `required_tags`: created or updated resources carry every tag of `tags`;
- `forbid_actions`: no resource undergoes one of `actions`.

Every rule may narrow itself to `resource_types` (fnmatch globs), apply only `when` a run
variable has one of some values, say what it checks in `description` (the passed message) and
what is wrong in `message` (a template with the kind's placeholders, e.g. `{address}`). The
file is validated as a whole when loaded, so a worker can refuse to start with a broken one.

`policy_engine` picks the engine a worker uses: these rules, or rego through OPA.
"""

from __future__ import annotations

import asyncio
import fnmatch
import string
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, Self

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    model_validator,
)
from pydantic_core import ErrorDetails

from backend.domains.infra.opa import OpaPolicyEngine
from backend.domains.infra.plan import (
    ChangeAction,
    Plan,
    PolicyReport,
    PolicyResult,
    ResourceChange,
)
from backend.domains.infra.providers import InvalidConfiguration, PolicyEngine, Workspace

POLICIES_DIR = Path(__file__).parent / "policies"
"""The policies shipped with the package."""
DEFAULT_POLICY_FILE = POLICIES_DIR / "default.yaml"
"""The rules used when no policy file is given."""
DEFAULT_REGO_POLICY = POLICIES_DIR / "flightdeck.rego"
"""The same rules in rego, used with OPA when no policy file is given."""

Scalar = str | int | float | bool
"""A value a rule compares with (YAML may give `true` or `3` as well as strings)."""

_WRITES = (ChangeAction.CREATE, ChangeAction.UPDATE, ChangeAction.REPLACE)
"""Actions that leave the resource with new attributes (`after`)."""


def _fold(value: Scalar) -> str:
    """A value as compared by rules: text, case-insensitive (`True` and `true` alike)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).casefold()


def _either(values: Iterable[object]) -> str:
    """`a`, `a or b`, `a, b or c`."""
    words = [str(v) for v in values]
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"


def _unique(items: Iterable[str]) -> list[str]:
    """The items in first-seen order, without repeats."""
    return list(dict.fromkeys(items))


class VariableCondition(BaseModel):
    """`when: {variable: environment, in: [prod, production]}`: the rule is in effect only when
    the run's variable has one of the values (case-insensitive)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    variable: str = Field(min_length=1)
    values: list[Scalar] = Field(alias="in", min_length=1)

    def holds(self, variables: Mapping[str, str]) -> bool:
        """True when the variable is set to one of the values."""
        value = variables.get(self.variable)
        return value is not None and _fold(value) in {_fold(v) for v in self.values}

    def describe(self) -> str:
        """`environment is prod or production`."""
        return f"{self.variable} is {_either(self.values)}"


@dataclass(frozen=True)
class Violation:
    """One breach of a rule: the resources at fault and the values for the message template."""

    addresses: tuple[str, ...]
    fields: dict[str, object] = field(default_factory=dict)


def _resource_fields(change: ResourceChange) -> dict[str, object]:
    """The placeholders every per-resource message may use."""
    return {
        "address": change.address,
        "type": change.type,
        "name": change.name,
        "action": change.action.value,
    }


_RESOURCE_SAMPLE: dict[str, object] = {
    "address": "type.name",
    "type": "type",
    "name": "name",
    "action": "create",
}


class RuleBase(BaseModel):
    """What every rule has: its id, scope, condition and messages. Subclasses add a `kind`,
    their own fields and `violations`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    placeholders: ClassVar[Mapping[str, object]] = _RESOURCE_SAMPLE
    """The names the failure message may use, with sample values to try the template on."""
    default_message: ClassVar[str] = "{address} breaks the rule"
    """The failure message when the rule gives none."""

    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    description: str | None = None
    """What the rule checks, shown when it passes (a default per kind otherwise)."""
    message: str | None = None
    """The failure message template, formatted once per violation."""
    resource_types: list[str] = Field(default_factory=lambda: ["*"], min_length=1)
    """fnmatch globs of the resource types the rule looks at."""
    when: VariableCondition | None = None

    @model_validator(mode="after")
    def _check_message(self) -> Self:
        """Refuse a message with a placeholder the rule cannot fill, before any plan does."""
        if self.message is not None:
            _check_template(self.message, self._message_samples())
        return self

    def _message_samples(self) -> dict[str, object]:
        """Sample values of every placeholder the message may use (with the `when` variable)."""
        samples: dict[str, object] = {}
        if self.when is not None:
            samples[self.when.variable] = "value"
        samples.update(self.placeholders)
        return samples

    def applies_to(self, resource_type: str) -> bool:
        """True when `resource_type` matches one of the rule's globs."""
        return any(fnmatch.fnmatchcase(resource_type, glob) for glob in self.resource_types)

    def summary(self) -> str:
        """What the kind checks, in words (the default passed message, before `when`)."""
        raise NotImplementedError

    def violations(self, changes: Sequence[ResourceChange]) -> Iterator[Violation]:
        """The breaches among `changes` (the plan's effective changes of the rule's types)."""
        raise NotImplementedError

    def describe(self) -> str:
        """What the rule checks: its description, or the kind's summary and its condition."""
        if self.description:
            return self.description
        if self.when is not None:
            return f"{self.summary()} when {self.when.describe()}"
        return self.summary()

    def _types(self) -> str:
        """The rule's resource types in words."""
        return "resource" if self.resource_types == ["*"] else _either(self.resource_types)

    def evaluate(self, plan: Plan, variables: Mapping[str, str]) -> PolicyResult:
        """The rule's verdict on `plan` run with `variables`."""
        if self.when is not None and not self.when.holds(variables):
            value = variables.get(self.when.variable)
            state = "not set" if value is None else f"{value!r}"
            return PolicyResult(
                id=self.id,
                passed=True,
                message=f"{self.describe()} (not in effect: {self.when.variable} is {state})",
            )
        changes = [c for c in plan.effective if self.applies_to(c.type)]
        found = list(self.violations(changes))
        if not found:
            return PolicyResult(id=self.id, passed=True, message=self.describe())
        context: dict[str, object] = {}
        if self.when is not None:
            context[self.when.variable] = variables[self.when.variable]
        template = self.message or self.default_message
        messages = _unique(template.format_map(context | v.fields) for v in found)
        resources = _unique(address for v in found for address in v.addresses)
        return PolicyResult(
            id=self.id, passed=False, message="; ".join(messages), resources=resources
        )


def _check_template(template: str, samples: Mapping[str, object]) -> None:
    """ValueError (one line) when `template` names a placeholder not in `samples` or cannot
    be formatted with them."""
    known = ", ".join(f"{{{name}}}" for name in samples)
    try:
        names = [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]
    except ValueError as error:
        raise ValueError(f"message is not a valid template ({error}); known: {known}") from None
    for name in names:
        if name not in samples:
            shown = "{}" if name == "" else f"{{{name}}}"
            raise ValueError(f"message has unknown placeholder {shown} (known: {known})")
    try:
        template.format_map(samples)
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as error:
        raise ValueError(f"message cannot be formatted: {error}") from None


def _values_at(node: Any, path: Sequence[str]) -> Iterator[Any]:
    """The values at a dotted path, searching lists element-wise at every step."""
    if isinstance(node, list):
        for item in node:
            yield from _values_at(item, path)
    elif not path:
        yield node
    elif isinstance(node, dict) and path[0] in node:
        yield from _values_at(node[path[0]], path[1:])


class ForbidValuesRule(RuleBase):
    """No created or updated resource sets `attribute` (a dotted path into its new
    attributes; lists are searched element-wise) to one of `values` (case-insensitive)."""

    placeholders: ClassVar[Mapping[str, object]] = {
        **_RESOURCE_SAMPLE,
        "attribute": "attribute",
        "value": "value",
    }
    default_message: ClassVar[str] = "{address} sets {attribute} to {value}"

    kind: Literal["forbid_values"]
    attribute: str = Field(min_length=1)
    values: list[Scalar] = Field(min_length=1)

    def summary(self) -> str:
        """`no temporalcloud_user sets account_access to admin or owner`."""
        return f"no {self._types()} sets {self.attribute} to {_either(self.values)}"

    def violations(self, changes: Sequence[ResourceChange]) -> Iterator[Violation]:
        """One per resource and forbidden value found."""
        forbidden = {_fold(v) for v in self.values}
        path = self.attribute.split(".")
        for change in changes:
            if change.action not in _WRITES or change.after is None:
                continue
            for value in _values_at(change.after, path):
                if isinstance(value, Scalar) and _fold(value) in forbidden:
                    yield Violation(
                        (change.address,),
                        _resource_fields(change) | {"attribute": self.attribute, "value": value},
                    )


class NoDeletesRule(RuleBase):
    """No resource is destroyed: deleted, or replaced (deleted and created again)."""

    default_message: ClassVar[str] = "{address} would be destroyed ({action})"

    kind: Literal["no_deletes"]

    def summary(self) -> str:
        """`no resource is deleted or replaced`."""
        return f"no {self._types()} is deleted or replaced"

    def violations(self, changes: Sequence[ResourceChange]) -> Iterator[Violation]:
        """One per deleted or replaced resource."""
        for change in changes:
            if change.action in (ChangeAction.DELETE, ChangeAction.REPLACE):
                yield Violation((change.address,), _resource_fields(change))


class MaxChangesRule(RuleBase):
    """At most `limit` resources change (no-ops and reads do not count)."""

    placeholders: ClassVar[Mapping[str, object]] = {"count": 11, "limit": 10}
    default_message: ClassVar[str] = "the plan changes {count} resources (at most {limit})"

    kind: Literal["max_changes"]
    limit: int = Field(ge=0)

    def summary(self) -> str:
        """`at most 10 resources change` (`at most 3 changes to temporalcloud_user`)."""
        if self.resource_types == ["*"]:
            return f"at most {self.limit} resources change"
        return f"at most {self.limit} changes to {self._types()}"

    def violations(self, changes: Sequence[ResourceChange]) -> Iterator[Violation]:
        """One, naming every changed resource, when there are too many."""
        if len(changes) > self.limit:
            yield Violation(
                tuple(c.address for c in changes), {"count": len(changes), "limit": self.limit}
            )


class RequiredTagsRule(RuleBase):
    """Created or updated resources carry every tag of `tags` with a value, in the mapping at
    `attribute` (`tags` by default) of their new attributes."""

    placeholders: ClassVar[Mapping[str, object]] = {**_RESOURCE_SAMPLE, "missing": "owner"}
    default_message: ClassVar[str] = "{address} lacks tags: {missing}"

    kind: Literal["required_tags"]
    tags: list[str] = Field(min_length=1)
    attribute: str = Field(default="tags", min_length=1)

    def summary(self) -> str:
        """`every temporalcloud_namespace is tagged owner and environment`."""
        tags = " and ".join(self.tags)
        return f"every {self._types()} is tagged {tags}"

    def violations(self, changes: Sequence[ResourceChange]) -> Iterator[Violation]:
        """One per resource missing a tag, naming the missing ones."""
        for change in changes:
            if change.action not in _WRITES:
                continue
            tags = (change.after or {}).get(self.attribute)
            present = tags if isinstance(tags, dict) else {}
            missing = [t for t in self.tags if present.get(t) in (None, "")]
            if missing:
                yield Violation(
                    (change.address,), _resource_fields(change) | {"missing": ", ".join(missing)}
                )


class ForbidActionsRule(RuleBase):
    """No resource undergoes one of `actions` (e.g. no `replace` of a namespace)."""

    default_message: ClassVar[str] = "{address}: {action} is not allowed"

    kind: Literal["forbid_actions"]
    actions: list[ChangeAction] = Field(min_length=1)

    def summary(self) -> str:
        """`no replace of temporalcloud_namespace`."""
        return f"no {_either(a.value for a in self.actions)} of {self._types()}"

    def violations(self, changes: Sequence[ResourceChange]) -> Iterator[Violation]:
        """One per resource with a forbidden action."""
        for change in changes:
            if change.action in self.actions:
                yield Violation((change.address,), _resource_fields(change))


Rule = Annotated[
    ForbidValuesRule | NoDeletesRule | MaxChangesRule | RequiredTagsRule | ForbidActionsRule,
    Field(discriminator="kind"),
]
"""One rule of a rules file, chosen by its `kind`."""

RULE_KINDS = ("forbid_values", "no_deletes", "max_changes", "required_tags", "forbid_actions")
"""Every `kind` a rule may have."""

_RULE: TypeAdapter[Rule] = TypeAdapter(Rule)


def _error_text(error: ErrorDetails) -> str:
    """One pydantic error as a short phrase (`missing field 'values'`)."""
    parts = [str(p) for p in error["loc"]]
    if parts and parts[0] in RULE_KINDS:
        parts = parts[1:]
    where = ".".join(parts)
    kinds = ", ".join(RULE_KINDS)
    match error["type"]:
        case "union_tag_invalid":
            tag = error.get("ctx", {}).get("tag", "?")
            return f"unknown kind '{tag}' (expected one of {kinds})"
        case "union_tag_not_found":
            return f"missing field 'kind' (one of {kinds})"
        case "missing":
            return f"missing field '{where}'"
        case "extra_forbidden":
            return f"unknown field '{where}'"
        case "string_pattern_mismatch" if where == "id":
            return "id: use letters, digits, '.', '-' and '_' (starting with a letter or digit)"
        case "value_error":
            reason = str(error.get("ctx", {}).get("error", error["msg"]))
            return f"{where}: {reason}" if where else reason
        case _:
            return f"{where}: {error['msg']}" if where else error["msg"]


def _yaml_error_text(error: yaml.YAMLError) -> str:
    """A YAML error on one line, with its line number when known."""
    if isinstance(error, yaml.MarkedYAMLError):
        problem = error.problem or error.context or "syntax error"
        mark = error.problem_mark or error.context_mark
        return f"{problem} (line {mark.line + 1})" if mark is not None else problem
    return " ".join(str(error).split())


def parse_rules(text: str, source: str) -> list[Rule]:
    """Validate a rules file's text; InvalidConfiguration naming `source` (and the rule) on
    the first thing wrong."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise InvalidConfiguration(f"{source}: not valid YAML: {_yaml_error_text(error)}") from None
    if not isinstance(document, dict) or not isinstance(document.get("rules"), list):
        raise InvalidConfiguration(f"{source}: expected a mapping with a 'rules' list")
    extra = sorted(str(k) for k in document if k != "rules")
    if extra:
        raise InvalidConfiguration(f"{source}: unknown top-level key(s): {', '.join(extra)}")
    rules: list[Rule] = []
    positions: dict[str, int] = {}
    for position, raw in enumerate(document["rules"], start=1):
        label = f"#{position}"
        if isinstance(raw, dict) and isinstance(raw.get("id"), str):
            label = f"'{raw['id']}'"
        if not isinstance(raw, dict):
            raise InvalidConfiguration(
                f"{source}: rule {label}: expected a mapping with id and kind, "
                f"got {type(raw).__name__}"
            )
        try:
            rule = _RULE.validate_python(raw)
        except ValidationError as error:
            reasons = "; ".join(_error_text(e) for e in error.errors())
            raise InvalidConfiguration(f"{source}: rule {label}: {reasons}") from None
        if rule.id in positions:
            raise InvalidConfiguration(
                f"{source}: rule {label}: duplicate id (rule #{positions[rule.id]} has it too)"
            )
        positions[rule.id] = position
        rules.append(rule)
    return rules


def load_rules(path: Path) -> list[Rule]:
    """Read and validate a rules file (blocking); InvalidConfiguration, one line naming the
    file and the rule, when it is missing, unreadable or wrong."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidConfiguration(f"{path}: policy file does not exist") from None
    except (OSError, UnicodeDecodeError) as error:
        raise InvalidConfiguration(f"{path}: policy file cannot be read: {error}") from None
    return parse_rules(text, source=str(path))


def evaluate_rules(
    rules: Iterable[Rule], plan: Plan, variables: Mapping[str, str]
) -> list[PolicyResult]:
    """Every rule's verdict on `plan`, in the rules' order."""
    return [rule.evaluate(plan, variables) for rule in rules]


class RulesPolicyEngine:
    """Policy from a rules file. The file is read again (off the event loop) for every
    evaluation, so an edited policy applies to the next run without a restart."""

    name = "rules"

    def __init__(self, path: Path) -> None:
        self.path = path

    def check(self) -> list[Rule]:
        """Load and validate the file now (blocking): InvalidConfiguration when it is broken."""
        return load_rules(self.path)

    async def evaluate(self, plan: Plan, workspace: Workspace) -> PolicyReport:
        """Every rule's verdict on `plan`; the plan's variables (after defaults) take
        precedence over the run's for `when` conditions."""
        rules = await asyncio.to_thread(load_rules, self.path)
        variables = {**workspace.variables, **plan.variables}
        return PolicyReport(engine=self.name, results=evaluate_rules(rules, plan, variables))


def policy_engine(policy_file: Path | None, opa_binary: str | None) -> PolicyEngine:
    """The policy engine a worker uses, checked now (blocking) so a broken policy stops the
    worker from starting: OPA when `opa_binary` is given (`policy_file` a `.rego` file or a
    directory, the shipped flightdeck.rego by default), else the rules of `policy_file` (the
    shipped default.yaml by default)."""
    if opa_binary:
        rego = policy_file or DEFAULT_REGO_POLICY
        if not rego.is_dir() and rego.suffix != ".rego":
            raise InvalidConfiguration(
                f"{rego}: OPA needs a .rego file or a directory of them, not a rules file"
            )
        opa = OpaPolicyEngine(opa_binary, rego)
        opa.check()
        return opa
    path = policy_file or DEFAULT_POLICY_FILE
    if path.is_dir() or path.suffix == ".rego":
        raise InvalidConfiguration(f"{path}: a rego policy needs the opa binary")
    engine = RulesPolicyEngine(path)
    engine.check()
    return engine
