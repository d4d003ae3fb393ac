"""A permission definition compiled into an immutable ``Policy``.

``compile_policy(content, ...)`` runs once per definition version, after the JSON Schema
(``check_shape``) passed: it turns grants and field rules into frozen objects that know
where they came from (definition key, version, JSON pointer and, when the source is at
hand, the line), so every answer the permission layer gives can be explained. Filters
(``grant.filter``) are parsed and type-checked here against the form's fields,
``$record`` and ``$user`` (see ``filters``); everything else about meaning — unknown
roles, fields, steps — is ``lint``'s job, which needs the organisation and the route.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import IntEnum
from functools import cache
from importlib import resources
from typing import Any, Iterable, Mapping

from jsonschema import Draft202012Validator

from ..definitions import pipeline
from ..definitions.problems import DefinitionError, Problem
from ..records.models import STATUSES
from .filters import Filter, compile_filter

KIND = "permission"

#: Operations on one record; ``create`` and ``administer`` are about the form as a whole.
OPERATIONS = ("create", "view", "edit", "approve", "export", "print", "administer")
RECORD_OPERATIONS = frozenset({"view", "edit", "approve", "export", "print"})
FORM_OPERATIONS = frozenset({"create", "administer"})

#: Built-in roles nobody is assigned: they follow from the person and the record.
EVERYONE = "everyone"  # every signed-in person (held for their own department)
OWNER = "owner"  # the person who owns the record (field rules only)
APPROVER = "approver"  # a person with an open task on the record (field rules only)
DEPARTMENT_HEAD = "department_head"  # held for every department the person heads
BUILTIN_ROLES = frozenset({EVERYONE, OWNER, APPROVER, DEPARTMENT_HEAD})
RECORD_ROLES = frozenset({OWNER, APPROVER})  # only meaningful for one record, never in a grant

SCOPE_KINDS = ("own", "own_department", "department_tree", "all", "departments")
#: Field types whose values mean nothing half-hidden (ids, option values, yes/no) or are not one value:
#: lint refuses masking them by name, and where a rule masks them anyway (``*``) they are hidden.
UNMASKABLE_TYPES = frozenset(
    {"lines", "attachment", "user", "department", "choice", "multi_choice", "boolean"}
)
#: States in which the owner may write every input field unless a rule says otherwise (today's rule).


class Right(IntEnum):
    """What a person may do with a field's value; higher is more."""

    HIDDEN = 0
    MASKED = 1
    READ = 2
    WRITE = 3

    @property
    def word(self) -> str:
        return self.name.lower()


@dataclass(frozen=True)
class Origin:
    """Where a grant or rule was written: the definition, its version, the pointer and the line."""

    key: str
    version: int
    pointer: str
    line: int | None = None
    source: str | None = None

    def describe(self) -> str:
        where = f"permission {self.key} version {self.version}, {self.pointer}"
        if self.line is not None:
            where += f" (line {self.line}" + (f" of {self.source})" if self.source else ")")
        return where

    def as_dict(self) -> dict:
        return {
            "definition": self.key,
            "version": self.version,
            "pointer": self.pointer,
            "line": self.line,
            "source": self.source,
        }


@dataclass(frozen=True)
class Mask:
    """How a masked value is shown (see ``masking.mask_value``)."""

    keep_first: int = 0
    keep_last: int = 4
    fixed: str | None = None
    char: str = "*"

    @property
    def reveals(self) -> int:
        """How many characters this mask may show at most (to pick the most revealing of several)."""
        return 0 if self.fixed is not None else self.keep_first + self.keep_last

    def describe(self) -> str:
        if self.fixed is not None:
            return f"fixed {self.fixed!r}"
        parts = []
        if self.keep_first:
            parts.append(f"first {self.keep_first}")
        if self.keep_last:
            parts.append(f"last {self.keep_last}")
        return "keep " + " and ".join(parts) if parts else "every character hidden"


DEFAULT_MASK = Mask()


@dataclass(frozen=True)
class Scope:
    """Which records a grant reaches, before its extra conditions."""

    kind: str  # one of SCOPE_KINDS
    departments: tuple[str, ...] = ()  # codes, kind "departments"
    below: bool = False  # kind "departments": the listed departments' subtrees too

    def describe(self) -> str:
        if self.kind == "departments":
            listed = ", ".join(self.departments)
            return f"departments {listed}" + (" and below" if self.below else "")
        return self.kind


@dataclass(frozen=True)
class Grant:
    """Operation rights and a data scope for the holders of one role."""

    role: str
    operations: frozenset[str]
    scope: Scope | None  # None: no record-level operations (create/administer only)
    origin: Origin
    department: str | None = None  # only holders of the role for this department (a code)
    statuses: frozenset[str] | None = None
    except_departments: tuple[str, ...] = ()
    filter: Filter | None = None

    def allows(self, operation: str) -> bool:
        return operation in self.operations or (
            operation == "view" and bool(self.operations & RECORD_OPERATIONS)
        )

    def describe(self) -> str:
        who = self.role + (f" of {self.department}" if self.department else "")
        text = f"{who}: {', '.join(sorted(self.operations))}"
        if self.scope is not None:
            text += f"; scope {self.scope.describe()}"
        if self.statuses:
            text += f"; only {', '.join(sorted(self.statuses))}"
        if self.except_departments:
            text += f"; never {', '.join(self.except_departments)} (and below)"
        if self.filter is not None:
            text += f"; where {self.filter.source}"
        return text


@dataclass(frozen=True)
class FieldRule:
    """One field rule: ``right`` for ``fields`` for holders of ``roles`` (in ``steps``/``statuses``)."""

    fields: tuple[str, ...]  # field keys, ``lines.amount``, or ``*``
    roles: frozenset[str]
    right: Right
    origin: Origin
    steps: frozenset[str] | None = None
    statuses: frozenset[str] | None = None
    mask: Mask | None = None

    def covers(self, path: str) -> bool:
        """Does this rule name ``path`` (itself, its line-items field, or ``*``)?"""
        parent = path.split(".", 1)[0]
        return any(name == "*" or name == path or name == parent for name in self.fields)

    def describe(self) -> str:
        text = f"{', '.join(sorted(self.roles))}: {self.right.word} {', '.join(self.fields)}"
        if self.steps:
            text += f" at step {', '.join(sorted(self.steps))}"
        if self.statuses:
            text += f" while {', '.join(sorted(self.statuses))}"
        if self.mask is not None and self.right == Right.MASKED:
            text += f" ({self.mask.describe()})"
        return text


@dataclass(frozen=True)
class Policy:
    """One compiled permission definition version."""

    key: str
    version: int
    form: str  # a form key or "*"
    title: Mapping[str, str]
    grants: tuple[Grant, ...]
    field_rules: tuple[FieldRule, ...]
    definition_id: int | None = None

    @property
    def for_every_form(self) -> bool:
        return self.form == "*"

    def applies_to(self, form_key: str) -> bool:
        return self.form == "*" or self.form == form_key


@dataclass(frozen=True)
class PolicySet:
    """Every policy that applies to one form, in the order their rules are read.

    ``form: "*"`` policies come first, then the form's own, each set by key; within a
    policy, file order. A later field rule overrides an earlier one for the same role,
    so a form's own rules refine the rules for every form.
    """

    form_key: str
    policies: tuple[Policy, ...]

    @classmethod
    def of(cls, form_key: str, policies: Iterable[Policy]) -> "PolicySet":
        chosen = [p for p in policies if p.applies_to(form_key)]
        chosen.sort(key=lambda p: (not p.for_every_form, p.key))
        return cls(form_key, tuple(chosen))

    @property
    def grants(self) -> tuple[Grant, ...]:
        return tuple(g for p in self.policies for g in p.grants)

    @property
    def field_rules(self) -> tuple[FieldRule, ...]:
        return tuple(r for p in self.policies for r in p.field_rules)

    def __bool__(self) -> bool:
        return bool(self.policies)


# --- the shape ---------------------------------------------------------------------------------


@cache
def schema() -> dict:
    """The JSON Schema of permission definitions, as shipped with the definitions package."""
    text = resources.files(pipeline.__package__).joinpath("schema", f"{KIND}.schema.json").read_text("utf-8")
    return json.loads(text)


@cache
def _validator() -> Draft202012Validator:
    Draft202012Validator.check_schema(schema())
    return Draft202012Validator(schema())


def check_shape(content: Any) -> list[Problem]:
    """JSON Schema problems, worded like those of every other kind (one per mistake)."""
    if not isinstance(content, dict):
        return [Problem("a definition must be a mapping with kind, key, ...", "")]
    problems: list[Problem] = []
    errors = sorted(_validator().iter_errors(content), key=lambda e: list(map(str, e.absolute_path)))
    for error in errors:
        if error.validator == "anyOf" and not error.absolute_path:
            problems.append(Problem("a permission definition needs grants, field_rules or both", ""))
            continue
        problems.extend(pipeline.schema_problems_of([error]))
    return problems


# --- compiling ---------------------------------------------------------------------------------


def compile_policy(
    content: dict,
    *,
    version: int = 0,
    form: Any = None,
    functions: Mapping[str, Any] | None = None,
    lines: Mapping[str, int] | None = None,
    source: str | None = None,
    definition_id: int | None = None,
) -> Policy:
    """Compile schema-valid ``content``; raise ``DefinitionError`` with every problem found.

    ``form`` is the compiled form (``forms.model.FormModel``) a filter is checked against
    (None for ``form: "*"``: filters may then read only ``$record`` and ``$user``);
    ``lines`` maps JSON pointers to source lines (``SourceDocument.lines``).
    """
    shape = check_shape(content)
    if shape:
        raise DefinitionError(shape)
    key = content["key"]
    problems: list[Problem] = []

    def origin(pointer: str) -> Origin:
        line = None
        if lines:
            probe = pointer
            while probe and probe not in lines:
                probe = probe.rsplit("/", 1)[0]
            line = lines.get(probe) if probe else None
        return Origin(key, version, pointer, line, source)

    grants = []
    for index, spec in enumerate(content.get("grants") or ()):
        here = f"/grants/{index}"
        grant = _grant(spec, here, origin(here), form, functions, problems)
        if grant is not None:
            grants.append(grant)
    rules = []
    for index, spec in enumerate(content.get("field_rules") or ()):
        here = f"/field_rules/{index}"
        rule = _field_rule(spec, here, origin(here), problems)
        if rule is not None:
            rules.append(rule)
    if problems:
        raise DefinitionError(problems)
    return Policy(
        key=key,
        version=version,
        form=content["form"],
        title=dict(content["title"]),
        grants=tuple(grants),
        field_rules=tuple(rules),
        definition_id=definition_id,
    )


def _grant(
    spec: dict, here: str, where: Origin, form: Any, functions: Any, problems: list[Problem]
) -> Grant | None:
    operations = frozenset(spec["operations"])
    role = spec["role"]
    if role in RECORD_ROLES:
        problems.append(
            Problem(
                f"{role} describes a person's place on one record and can only be used in field_rules; "
                "grant own records with scope: own",
                f"{here}/role",
            )
        )
        return None
    scope = _scope(spec.get("scope"))
    record_level = operations & RECORD_OPERATIONS
    if record_level and scope is None:
        problems.append(
            Problem(
                f"{', '.join(sorted(record_level))} need a scope: which records (own, own_department, "
                "department_tree, all or listed departments)",
                here,
            )
        )
        return None
    if not record_level:
        for extra in ("scope", "status", "except_departments", "filter"):
            if extra in spec:
                problems.append(
                    Problem(
                        f"{extra} limits records, but this grant has no operation on records "
                        f"(only {', '.join(sorted(operations))})",
                        f"{here}/{extra}",
                    )
                )
    compiled = None
    if "filter" in spec:
        try:
            compiled = compile_filter(spec["filter"], form, functions)
        except DefinitionError as exc:
            problems.extend(Problem(p.message, f"{here}/filter") for p in exc.problems)
            return None
    return Grant(
        role=role,
        operations=operations,
        scope=scope if record_level else None,
        origin=where,
        department=spec.get("department"),
        statuses=frozenset(spec["status"]) if "status" in spec else None,
        except_departments=tuple(spec.get("except_departments") or ()),
        filter=compiled,
    )


def _scope(spec: Any) -> Scope | None:
    if spec is None:
        return None
    if isinstance(spec, str):
        return Scope(spec)
    return Scope("departments", tuple(spec["departments"]), bool(spec.get("below", False)))


def _field_rule(spec: dict, here: str, where: Origin, problems: list[Problem]) -> FieldRule | None:
    right = Right[spec["right"].upper()]
    mask = None
    if "mask" in spec:
        if right != Right.MASKED:
            problems.append(
                Problem(f"a mask applies only to right: masked, not {right.word}", f"{here}/mask")
            )
            return None
        raw = spec["mask"]
        if "fixed" in raw and ("keep_first" in raw or "keep_last" in raw):
            problems.append(
                Problem(
                    "a fixed mask shows no characters; leave out keep_first and keep_last", f"{here}/mask"
                )
            )
            return None
        mask = Mask(
            keep_first=raw.get("keep_first", 0),
            keep_last=raw.get("keep_last", 0 if "keep_first" in raw or "fixed" in raw else 4),
            fixed=raw.get("fixed"),
            char=raw.get("char", "*"),
        )
    elif right == Right.MASKED:
        mask = DEFAULT_MASK
    for status in spec.get("status") or ():
        if status not in STATUSES:  # the schema lists them too; this keeps both honest
            problems.append(Problem(f"unknown record state {status!r}", f"{here}/status"))
    return FieldRule(
        fields=tuple(spec["fields"]),
        roles=frozenset(spec["roles"]),
        right=right,
        origin=where,
        steps=frozenset(spec["steps"]) if "steps" in spec else None,
        statuses=frozenset(spec["status"]) if "status" in spec else None,
        mask=mask,
    )
