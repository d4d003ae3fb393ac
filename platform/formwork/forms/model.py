"""A form definition compiled into its runtime model.

``compile_form(content, registry)`` runs once per definition version: it resolves
every field type, parses type settings, builds the expression type environment,
compiles every expression (conditions, computed fields, validation rules) and
orders computed fields by dependency. Everything found wrong is collected and
raised together as one ``DefinitionError`` whose problems carry exact JSON
pointers (``/fields/4/fields/2/visible_when``). Requests then only evaluate.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any, Iterator

from .. import business_time
from ..definitions.problems import DefinitionError, Problem
from ..expressions import ExpressionError, T, TypeEnv, compile_expression
from ..i18n import localized
from .field_types import FieldType, FieldValueError

CONDITIONS = ("visible_when", "required_when", "readonly_when")
_INDEX = re.compile(r"\[(\*|[0-9]+)\]")
TODAY_DEFAULT = "$today"  # a date field's default that means "the business day the form is opened"

#: Types of the ``$`` names (``$user``, ``$today``, ``$now``); None = the language's defaults.
CONTEXT_TYPES: dict[str, Any] | None = None


def schema_path(path: str) -> str:
    """``lines[2].amount`` / ``lines[*].amount`` → ``lines.amount``."""
    return _INDEX.sub("", path)


class FieldModel:
    """One field of a compiled form (a line-item field has ``fields`` of its own)."""

    __slots__ = (
        "key",
        "path",
        "pointer",
        "type",
        "spec",
        "settings",
        "parent",
        "fields",
        "label",
        "help",
        "required",
        "readonly",
        "_default",
        "default_is_today",
        "visible_when",
        "required_when",
        "readonly_when",
        "expression",
        "value_type",
        "row_index",
    )

    def __init__(
        self,
        key: str,
        path: str,
        pointer: str,
        field_type: FieldType,
        spec: dict,
        parent: "FieldModel | None",
    ):
        self.key = key
        self.path = path  # schema path, "lines.amount" for a line-item field
        self.pointer = pointer  # JSON pointer of the field in the definition
        self.type = field_type
        self.spec = spec
        self.settings: dict[str, Any] = {}
        self.parent = parent
        self.fields: list[FieldModel] = []
        self.label: Any = spec.get("label") or key
        self.help: Any = spec.get("help")
        self.required = bool(spec.get("required", False))
        self.readonly = bool(spec.get("readonly", False)) or not field_type.accepts_input
        self._default: Any = None
        self.default_is_today = False  # ``default: $today`` on a date field: the business day of each use
        self.visible_when: Any = None  # CompiledExpression | None, likewise below
        self.required_when: Any = None
        self.readonly_when: Any = None
        self.expression: Any = None
        self.value_type: Any = None
        self.row_index: dict[str, FieldModel] = {}

    @property
    def default(self) -> Any:
        """The initial value; ``$today`` is worked out at each use (business time), not at compile time."""
        return business_time.today() if self.default_is_today else self._default

    @default.setter
    def default(self, value: Any) -> None:
        self._default = value

    @property
    def is_lines(self) -> bool:
        return self.type.name == "lines"

    @property
    def is_computed(self) -> bool:
        return not self.type.accepts_input

    @property
    def is_conditional(self) -> bool:
        return (
            self.visible_when is not None or self.required_when is not None or self.readonly_when is not None
        )

    def label_for(self, locale: str | None) -> str:
        return localized(self.label, locale or "en")

    def help_for(self, locale: str | None) -> str:
        return localized(self.help, locale or "en")

    def to_json(self, value: Any) -> Any:
        return None if value is None else self.type.to_json(value)

    def from_json(self, stored: Any) -> Any:
        return None if stored is None else self.type.from_json(stored)

    def __repr__(self) -> str:
        return f"<FieldModel {self.path} ({self.type.name})>"


@dataclass
class RuleModel:
    """A cross-field validation rule: ``rule`` must not be false; the message is shown at ``field``."""

    rule: Any  # CompiledExpression
    message: Any  # {"zh-CN": ..., "en": ...}
    field: str | None
    pointer: str

    def message_for(self, locale: str | None) -> str:
        return localized(self.message, locale or "en")


@dataclass
class FormModel:
    key: str
    titles: Any
    content: dict
    fields: list[FieldModel]
    type_env: Any
    validations: list[RuleModel]
    title_field: str | None
    #: Computed fields (form-level and line-item) in an order where dependencies come first.
    computed_order: list[FieldModel]
    by_path: dict[str, FieldModel]
    #: Fields with visible/required/read-only conditions, in definition order (top level, then rows).
    conditional: list[FieldModel]
    #: Per-process caches owned by other modules (the model is immutable, so they never go stale).
    cache: dict[str, Any] = dc_field(default_factory=dict)

    def title(self, locale: str | None = None) -> str:
        return localized(self.titles, locale or "en") or self.key

    def field(self, path: str) -> FieldModel | None:
        """The field at ``path``: ``total``, ``lines.amount``, ``lines[2].amount`` or ``lines[*].amount``."""
        return self.by_path.get(schema_path(path))

    def all_fields(self) -> Iterator[FieldModel]:
        for field in self.fields:
            yield field
            yield from field.fields

    def text_fields(self) -> list[FieldModel]:
        return [f for f in self.fields if f.type.name in ("text", "long_text")]


class _Compiler:
    def __init__(self, content: dict, registry: Any):
        self.content = content
        self.registry = registry
        self.functions = getattr(registry, "functions", None)
        self.problems: list[Problem] = []

    def problem(self, message: str, pointer: str) -> None:
        self.problems.append(Problem(str(message), pointer))

    # -- fields ---------------------------------------------------------------

    def build_fields(self, specs: Any, pointer: str, parent: FieldModel | None) -> list[FieldModel]:
        if not isinstance(specs, list):
            self.problem("fields must be a list", pointer)
            return []
        fields: list[FieldModel] = []
        seen: dict[str, str] = {}
        for index, spec in enumerate(specs):
            here = f"{pointer}/{index}"
            if not isinstance(spec, dict):
                self.problem("a field must be an object", here)
                continue
            key = spec.get("key")
            if not isinstance(key, str) or not re.fullmatch(r"[a-z][a-z0-9_]*", key):
                self.problem("field key must be lower_snake_case text", f"{here}/key")
                continue
            if key in seen:
                self.problem(f'duplicate field key "{key}" (first used at {seen[key]})', f"{here}/key")
                continue
            seen[key] = here
            type_name = spec.get("type")
            field_type = self.registry.field_types.get(type_name) if isinstance(type_name, str) else None
            if field_type is None:
                known = ", ".join(sorted(self.registry.field_types))
                self.problem(f'unknown field type "{type_name}"; known types: {known}', f"{here}/type")
                continue
            path = key if parent is None else f"{parent.path}.{key}"
            model = FieldModel(key, path, here, field_type, spec, parent)
            field_type.configure(
                model, self.registry, lambda msg, rel, here=here: self.problem(msg, here + rel)
            )
            if field_type.name == "lines":
                if parent is not None:
                    self.problem("line items cannot contain line items", f"{here}/type")
                    continue
                model.fields = self.build_fields(spec.get("fields"), f"{here}/fields", model)
                model.row_index = {sub.key: sub for sub in model.fields}
                if not model.fields:
                    self.problem("line items need at least one field", f"{here}/fields")
            elif "fields" in spec:
                self.problem(
                    f'only line items have "fields"; this field is {field_type.name}', f"{here}/fields"
                )
            if "default" in spec and spec["default"] is not None:
                if model.is_computed or model.is_lines:
                    self.problem(f"a {field_type.name} field cannot have a default", f"{here}/default")
                elif spec["default"] == TODAY_DEFAULT and field_type.name == "date":
                    model.default_is_today = True
                else:
                    try:
                        model.default = field_type.coerce(spec["default"], model)
                    except FieldValueError as exc:
                        self.problem(f"default {exc.message}", f"{here}/default")
            try:
                model.value_type = field_type.value_type(model)
            except Exception as exc:  # a plugin's type must not break compilation of the whole form
                self.problem(
                    f"field type {field_type.name} failed to give a value type: {exc}", f"{here}/type"
                )
                model.value_type = T.NULL
            fields.append(model)
        return fields

    # -- expressions ----------------------------------------------------------

    def compile(self, source: Any, env: Any, pointer: str, expected: Any = None) -> Any:
        if not isinstance(source, str) or not source.strip():
            self.problem("must be an expression (text)", pointer)
            return None
        try:
            return compile_expression(source, env, functions=self.functions, expected=expected)
        except ExpressionError as exc:
            message = getattr(exc, "message", None) or str(exc)
            position = getattr(exc, "position", None)
            if position is not None:
                message = f"{message} (at position {position + 1} of {source!r})"
            else:
                message = f"{message} (in {source!r})"
            self.problem(message, pointer)
            return None

    def compile_field_expressions(self, model: FieldModel, form_env: Any, row_env: Any | None) -> None:
        env = row_env or form_env
        for name in CONDITIONS:
            if name in model.spec and model.spec[name] is not None:
                setattr(
                    model, name, self.compile(model.spec[name], env, f"{model.pointer}/{name}", T.BOOLEAN)
                )
        if model.is_computed and isinstance(model.spec.get("expression"), str):
            model.expression = self.compile(
                model.spec["expression"], env, f"{model.pointer}/expression", model.value_type
            )


def _dependencies(
    model: FieldModel, computed_paths: dict[str, FieldModel], form: list[FieldModel]
) -> set[str]:
    """Computed fields ``model``'s expression reads (paths into ``computed_paths``)."""
    deps: set[str] = set()
    lines = {f.key: f for f in form if f.is_lines}
    for ref in model.expression.references:
        path = schema_path(ref)
        first = path.split(".", 1)[0]
        # Inside a row a bare name is the row's own field first.
        if model.parent is not None and first in model.parent.row_index:
            path = f"{model.parent.key}.{path}"
            first = model.parent.key
        if path in computed_paths:
            deps.add(path)
        elif first in lines and path == first:
            deps.update(f"{first}.{sub.key}" for sub in lines[first].fields if sub.path in computed_paths)
        elif first in computed_paths:
            deps.add(first)
    return deps


def _order_computed(compiler: _Compiler, fields: list[FieldModel]) -> list[FieldModel]:
    computed = {
        f.path: f for top in fields for f in [top, *top.fields] if f.is_computed and f.expression is not None
    }
    graph = {path: _dependencies(model, computed, fields) for path, model in computed.items()}
    order: list[FieldModel] = []
    state: dict[str, int] = {}  # 1 = visiting, 2 = done
    reported: set[frozenset[str]] = set()

    def visit(path: str, trail: list[str]) -> None:
        if state.get(path) == 2:
            return
        if state.get(path) == 1:
            cycle = trail[trail.index(path) :] + [path]
            if frozenset(cycle) not in reported:
                reported.add(frozenset(cycle))
                compiler.problem(
                    "computed fields depend on each other in a cycle: " + " → ".join(cycle),
                    f"{computed[path].pointer}/expression",
                )
            return
        state[path] = 1
        for dep in sorted(graph[path]):
            visit(dep, trail + [path])
        state[path] = 2
        order.append(computed[path])

    for path in computed:
        visit(path, [])
    return order


def compile_form(content: dict, registry: Any) -> FormModel:
    """Compile a form definition; raise ``DefinitionError`` with every problem found."""
    compiler = _Compiler(content, registry)
    if not isinstance(content, dict):
        raise DefinitionError([Problem("a form definition must be an object", "")])
    key = content.get("key")
    if not isinstance(key, str) or not key:
        compiler.problem("a form needs a key", "/key")
        key = ""  # reported above; compiling goes on to find every other problem
    fields = compiler.build_fields(content.get("fields"), "/fields", None)

    form_types = {f.key: f.value_type for f in fields}
    form_env = TypeEnv(fields=form_types, context=CONTEXT_TYPES)
    for field in fields:
        compiler.compile_field_expressions(field, form_env, None)
        if field.is_lines:
            row_env = TypeEnv(
                fields=form_types,
                row={sub.key: sub.value_type for sub in field.fields},
                context=CONTEXT_TYPES,
                row_name=field.key,
            )
            for sub in field.fields:
                compiler.compile_field_expressions(sub, form_env, row_env)

    by_path = {f.path: f for top in fields for f in [top, *top.fields]}

    validations: list[RuleModel] = []
    raw_rules = content.get("validations") or []
    if not isinstance(raw_rules, list):
        compiler.problem("validations must be a list", "/validations")
        raw_rules = []
    for index, spec in enumerate(raw_rules):
        here = f"/validations/{index}"
        if not isinstance(spec, dict):
            compiler.problem("a validation must be an object", here)
            continue
        target = spec.get("field")
        if target is not None and (not isinstance(target, str) or schema_path(target) not in by_path):
            compiler.problem(f'validation field "{target}" does not exist in this form', f"{here}/field")
        if not spec.get("message"):
            compiler.problem("a validation needs a message", f"{here}/message")
        compiled = compiler.compile(spec.get("rule"), form_env, f"{here}/rule", T.BOOLEAN)
        if compiled is not None:
            validations.append(RuleModel(compiled, spec.get("message"), target, here))

    title_field = content.get("title_field")
    if title_field is not None:
        target = by_path.get(title_field) if isinstance(title_field, str) else None
        if target is None:
            compiler.problem(f'title_field "{title_field}" does not exist in this form', "/title_field")
            title_field = None
        elif target.is_lines:
            compiler.problem("title_field cannot be a line-item field", "/title_field")
            title_field = None

    computed_order = _order_computed(compiler, fields)
    if compiler.problems:
        raise DefinitionError(compiler.problems)
    conditional = [f for top in fields for f in [top, *top.fields] if f.is_conditional]
    return FormModel(
        key=key,
        titles=content.get("title") or key,
        content=content,
        fields=fields,
        type_env=form_env,
        validations=validations,
        title_field=title_field,
        computed_order=computed_order,
        by_path=by_path,
        conditional=conditional,
    )
