"""Compile type-checked conditions into durable-rules condition JSON plus a fact layout.

The engine only ever sees simple comparisons of one fact property with an exact
literal, joined by ``$and``/``$or`` — in operator-first form, the only form it
parses. Everything it cannot express faithfully (function calls, arithmetic,
aggregates over line items, field-to-field comparisons, lists, context values)
is *projected*: computed in Python by the Python back end into a typed property
of the fact (``p0``, ``p1``...), so both back ends agree by construction.

Null follows the expression language's three-valued logic, and a condition fires
only when it is *true*. The compiler therefore builds, for every boolean node,
the engine test for "this is true" and for "this is false" (``not`` swaps them,
De Morgan for ``and``/``or``), and every comparison first checks that its value
is present. Null is never an absent property (so no rule needs ``$nex``, which
hangs the engine): value properties carry a ``<key>_null`` flag, true/false
properties encode null as ``-1``.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Union

from formwork.expressions import (
    CompiledExpression,
    ExpressionError,
    FunctionSpec,
    T,
    TypeEnv,
    analyse,
    compile_expression,
)
from formwork.expressions import nodes as N
from formwork.expressions.checker import Analysis
from formwork.expressions.limits import DEFAULT_LIMITS
from formwork.expressions.python_backend import compile_python

from .encoding import ENCODABLE, Encoder, Unencodable, encode_truth, literal_encoder, value_encoder
from .errors import RulesEngineError
from .render import render

Condition = Union[bool, dict]
MAX_RULES = 1000  # rules in one ruleset
MAX_PROPERTIES = 200  # properties of one fact (the engine refuses about 250: error 302)
MAX_ALTERNATIVES = 128  # the engine expands conditions into and-of-or terms; it refuses ~16,000 (error 113)
MAX_NESTING = 6  # nested $and/$or levels; the engine refuses about 8 (error 113)
ALWAYS = "always"  # a property every fact carries as 1: constant-true rules test it
RULESET_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,99}$")
_NOT_CONSTANT = object()

_ENGINE_OPS = {"<": "$lt", "<=": "$lte", ">": "$gt", ">=": "$gte", "!=": "$neq"}
_NEGATED = {"<": ">=", "<=": ">", ">": "<=", ">=": "<", "==": "!=", "!=": "=="}
_FLIPPED = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}


@dataclass(frozen=True)
class Slot:
    """One fact property: a form field or a projected sub-expression, with its encoding.

    A *value* slot holds an encoded value in ``key`` and ``0``/``1`` in ``key_null``;
    a *truth* slot holds ``1`` / ``0`` / ``-1`` (true / false / null) in ``key``.
    """

    key: str
    label: str
    type: T.Type
    truth: bool
    read: Callable[[Mapping[str, Any], Mapping[str, Any]], Any] = field(repr=False, compare=False)
    encode: Encoder = field(repr=False, compare=False)

    @property
    def null_key(self) -> str:
        return self.key + "_null"

    @property
    def properties(self) -> int:
        return 1 if self.truth else 2

    def describe(self) -> str:
        kind = "true/false" if self.truth else self.type.describe()
        return f"{self.key}={self.label}:{kind}"

    def put(self, fact: dict[str, Any], scope: Mapping[str, Any], context: Mapping[str, Any]) -> None:
        value = self.read(scope, context)
        try:
            if self.truth:
                fact[self.key] = encode_truth(value)
            elif value is None:
                fact[self.key] = "" if self.type == T.TEXT else 0
                fact[self.null_key] = 1
            else:
                fact[self.key] = self.encode(value)
                fact[self.null_key] = 0
        except RulesEngineError as exc:
            raise RulesEngineError(f"{self.label}: {exc.message}") from None


@dataclass(frozen=True)
class CompiledRuleset:
    """Engine conditions for every rule of one ruleset, and how to build their fact."""

    name: str
    conditions: Mapping[str, Condition]  # rule name → durable condition JSON
    slots: tuple[Slot, ...]

    def definition(self) -> dict[str, Any]:
        """The durable-rules ruleset: engine rule ids ``r0``, ``r1``... in rule order (a fresh dict)."""
        return {
            f"r{i}": {"all": [{"m": _engine_condition(condition)}], "run": f"r{i}"}
            for i, condition in enumerate(self.conditions.values())
        }

    @property
    def rule_names(self) -> tuple[str, ...]:
        return tuple(self.conditions)

    def max_activations(self) -> int:
        """The most actions one fact can queue: the engine fires a rule once per matching alternative."""
        return sum(_alternatives(c) if isinstance(c, dict) else 1 for c in self.conditions.values())

    def signature(self) -> str:
        """Everything that decides the ruleset's behaviour, as text (equal text ⇒ same ruleset)."""
        return json.dumps(
            {
                "rules": list(self.conditions),
                "definition": self.definition(),
                "slots": [slot.describe() for slot in self.slots],
            },
            sort_keys=True,
            ensure_ascii=False,
        )

    def fact(self, scope: Mapping[str, Any], context: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The fact for this data: exactly the properties the rules read, encoded and range-checked."""
        if not isinstance(scope, Mapping):
            raise RulesEngineError(
                f"the data must be a mapping of field names to values, not {type(scope).__name__}"
            )
        ctx = context if context is not None else {}
        if not isinstance(ctx, Mapping):
            raise RulesEngineError("the context must be a mapping")
        fact: dict[str, Any] = {ALWAYS: 1}
        for slot in self.slots:
            slot.put(fact, scope, ctx)
        return fact


def compile_ruleset(
    name: str,
    rules: Mapping[str, Union[CompiledExpression, str]],
    env: TypeEnv,
    functions: Mapping[str, FunctionSpec] | None = None,
) -> CompiledRuleset:
    """Compile ``rules`` (rule name → condition source or ``CompiledExpression``) checked against ``env``.

    Raises ``ExpressionError`` for a condition that does not parse or type-check, and
    ``RulesEngineError`` for anything the engine cannot hold (a bad name, too many rules
    or values, a condition that is not true/false or reads a line-item row).
    """
    if not isinstance(name, str) or not RULESET_NAME.match(name):
        raise RulesEngineError(
            f"invalid ruleset name {str(name)[:60]!r}: use letters, digits and '_' (at most 100), starting "
            "with a letter"
        )
    if not rules:
        raise RulesEngineError(f"ruleset {name} has no rules")
    if len(rules) > MAX_RULES:
        raise RulesEngineError(f"ruleset {name} has {len(rules)} rules; at most {MAX_RULES} are allowed")
    builder = _Builder(env, functions)
    conditions: dict[str, Condition] = {}
    for rule_name, rule in rules.items():
        if not isinstance(rule_name, str) or not rule_name or len(rule_name) > 200:
            raise RulesEngineError(f"invalid rule name {str(rule_name)[:60]!r} in ruleset {name}")
        expression = _checked(rule_name, rule, env, functions)
        conditions[rule_name] = builder.condition_for(expression)
    properties = 1 + sum(slot.properties for slot in builder.slots.values())
    if properties > MAX_PROPERTIES:
        raise RulesEngineError(
            f"ruleset {name} reads too many values ({properties} fact properties; at most {MAX_PROPERTIES})"
        )
    return CompiledRuleset(name, conditions, tuple(builder.slots.values()))


def ruleset_name(kind: str, key: str, version: int) -> str:
    """``route_expense_claim_v3``: one engine ruleset per definition version."""
    safe = re.sub(r"[^A-Za-z0-9_]", "_", f"{kind}_{key}")[:90]
    return f"{safe}_v{int(version)}"


def _checked(
    rule_name: str, rule: Any, env: TypeEnv, functions: Mapping[str, FunctionSpec] | None
) -> CompiledExpression:
    if isinstance(rule, str):
        return compile_expression(rule, env, functions, expected=T.BOOLEAN)
    if not isinstance(rule, CompiledExpression):
        raise RulesEngineError(f"rule {rule_name!r}: expected a condition, got {type(rule).__name__}")
    if rule.type not in (T.BOOLEAN, T.NULL):
        raise RulesEngineError(
            f"rule {rule_name!r}: the condition gives {rule.type.describe()}, not true/false"
        )
    if rule.row_references or rule.analysis.row_names:
        raise RulesEngineError(f"rule {rule_name!r}: a rule cannot read the fields of one line-item row")
    return rule


class _Builder:
    """Compiles conditions of one ruleset, sharing slots between them."""

    def __init__(self, env: TypeEnv, functions: Mapping[str, FunctionSpec] | None):
        self.env = env
        self.functions = functions
        self.slots: dict[tuple[str, str], Slot] = {}
        self.analysis = Analysis(N.Literal(0, True))  # replaced by each condition's own analysis

    def condition_for(self, expression: CompiledExpression) -> Condition:
        self.analysis = expression.analysis
        return self.condition(expression.node, True)

    # -- slots --------------------------------------------------------------------------------
    def _slot(self, kind: str, node: N.Node, t: T.Type, truth: bool) -> Slot:
        label = render(node)
        known = self.slots.get((kind, label))
        if known is not None:
            return known
        prefix = "f" if kind == "field" else "p"
        key = f"{prefix}{sum(1 for k in self.slots if (k[0] == 'field') == (kind == 'field'))}"
        if kind == "field":
            field_name = node.name  # type: ignore[attr-defined]

            def read_field(scope: Mapping[str, Any], context: Mapping[str, Any]) -> Any:
                return scope.get(field_name)

            read: Callable[[Mapping[str, Any], Mapping[str, Any]], Any] = read_field
        else:
            read = self._projection(node, label)
        slot = Slot(key, label, t, truth, read, encode_truth if truth else value_encoder(t))
        self.slots[(kind, label)] = slot
        return slot

    def _projection(self, node: N.Node, label: str) -> Callable[[Mapping[str, Any], Mapping[str, Any]], Any]:
        analysis = analyse(node, self.env, self.functions)
        compiled = CompiledExpression(label, analysis, compile_python(analysis, DEFAULT_LIMITS))

        def read(scope: Mapping[str, Any], context: Mapping[str, Any]) -> Any:
            try:
                return compiled.evaluate(scope, None, context)
            except ExpressionError as exc:
                raise RulesEngineError(f"could not compute {label}: {exc.message}") from None

        return read

    def value_slot(self, node: N.Node) -> Slot | None:
        """The slot holding ``node``'s value, or ``None`` when the engine cannot hold such values."""
        t = self.analysis.type_of(node)
        form_field = isinstance(node, N.Name) and not self.analysis.reads_row(node)
        if t == T.BOOLEAN:
            return self._slot("field" if form_field else "truth", node, t, True)
        if t not in ENCODABLE:
            return None
        return self._slot("field" if form_field else "value", node, t, False)

    def truth_slot(self, node: N.Node) -> Slot:
        form_field = isinstance(node, N.Name) and not self.analysis.reads_row(node)
        return self._slot("field" if form_field else "truth", node, T.BOOLEAN, True)

    # -- constants ----------------------------------------------------------------------------
    def constant(self, node: N.Node) -> Any:
        """The value of a sub-expression that reads no data (folded now), else ``_NOT_CONSTANT``."""
        if isinstance(node, N.Literal):
            return node.value
        for part in N.walk(node):
            if isinstance(part, (N.Name, N.ContextName)):
                return _NOT_CONSTANT
            if isinstance(part, N.Call) and self.analysis.function(part).needs_context:
                return _NOT_CONSTANT
        try:
            analysis = analyse(node, self.env, self.functions)
            return CompiledExpression(render(node), analysis, compile_python(analysis)).evaluate({}, None, {})
        except ExpressionError:
            return _NOT_CONSTANT  # it fails on every input: leave it to run (and fail) in Python

    # -- conditions ---------------------------------------------------------------------------
    def condition(self, node: N.Node, want: bool) -> Condition:
        """The engine test for "``node`` is ``want``" (null is neither true nor false)."""
        value = self.constant(node)
        if value is not _NOT_CONSTANT:
            return value is want
        if isinstance(node, N.Logical):
            result = self.logical(node, want)
        elif isinstance(node, N.Not):
            result = self.condition(node.operand, not want)
        elif isinstance(node, N.IsNull):
            result = self.is_null(node, want)
        elif isinstance(node, N.Compare):
            result = self.compare(node, want)
        else:
            result = self.truth(node, want)
        if isinstance(result, dict) and (
            _alternatives(result) > MAX_ALTERNATIVES or _nesting(result) > MAX_NESTING
        ):
            return self.truth(node, want)  # too complex for the engine: one projected true/false value
        return result

    def truth(self, node: N.Node, want: bool) -> Condition:
        slot = self.truth_slot(node)
        return {slot.key: 1 if want else 0}

    def logical(self, node: N.Logical, want: bool) -> Condition:
        parts = [self.condition(operand, want) for operand in node.operands]
        # "a and b" is true when both are true, false when either is false (De Morgan)
        return _all(parts) if (node.op == "and") == want else _any(parts)

    def is_null(self, node: N.IsNull, want: bool) -> Condition:
        slot = self.value_slot(node.operand)
        if slot is None:
            return self.truth(node, want)
        return _null_test(slot, want != node.negated)

    def compare(self, node: N.Compare, want: bool) -> Condition:
        if node.op in ("in", "not in"):
            return self.membership(node, want)
        right = self.constant(node.right)
        if right is not _NOT_CONSTANT:
            subject, literal, op = node.left, right, node.op
        else:
            left = self.constant(node.left)
            if left is _NOT_CONSTANT:
                return self.truth(node, want)  # two data values: computed in Python
            subject, literal, op = node.right, left, _FLIPPED[node.op]
        if literal is None:
            return False  # a comparison with null is null: neither true nor false
        slot = self.value_slot(subject)
        if slot is None:
            return self.truth(node, want)
        try:
            encoded = _literal(slot, literal)
        except Unencodable:
            return self.truth(node, want)
        effective = op if want else _NEGATED[op]
        if slot.type == T.TEXT and effective not in ("==", "!="):
            # The engine orders strings by their JSON-escaped form, so '"', '\\' and control
            # characters sort wrongly there; only text equality is exact in the engine.
            return self.truth(node, want)
        if slot.truth and effective == "==":
            return _compare(slot.key, "==", encoded)  # 1 or 0 already excludes null (-1)
        return _all([_null_test(slot, False), _compare(slot.key, effective, encoded)])

    def membership(self, node: N.Compare, want: bool) -> Condition:
        values = self.constant(node.right)
        slot = self.value_slot(node.left) if isinstance(values, list) else None
        if slot is None:
            return self.truth(node, want)
        try:
            encoded = list(dict.fromkeys(_literal(slot, v) for v in values if v is not None))
        except Unencodable:
            return self.truth(node, want)
        present = _null_test(slot, False)
        if (node.op == "in") == want:  # x is in the list: one of the values matches
            return _all([present, _any([_compare(slot.key, "==", e) for e in encoded])])
        if None in values:  # SQL: x not matching [..., null] is unknown, never false
            return False
        return _all([present, *(_compare(slot.key, "!=", e) for e in encoded)])


def _literal(slot: Slot, value: Any) -> Any:
    if slot.truth:
        if not isinstance(value, bool):
            raise Unencodable(value)
        return 1 if value else 0
    return literal_encoder(slot.type)(value)


def _null_test(slot: Slot, is_null: bool) -> dict:
    if slot.truth:
        return {slot.key: -1} if is_null else {"$neq": {slot.key: -1}}
    return {slot.null_key: 1 if is_null else 0}


def _compare(key: str, op: str, value: Any) -> dict:
    if op == "==":
        return {key: value}
    return {_ENGINE_OPS[op]: {key: value}}


def _all(parts: list[Condition]) -> Condition:
    kept: list[dict] = []
    for part in parts:
        if part is False:
            return False
        if part is True:
            continue
        kept.extend(part["$and"] if "$and" in part else [part])
    if not kept:
        return True
    return kept[0] if len(kept) == 1 else {"$and": kept}


def _any(parts: list[Condition]) -> Condition:
    kept: list[dict] = []
    for part in parts:
        if part is True:
            return True
        if part is False:
            continue
        kept.extend(part["$or"] if "$or" in part else [part])
    if not kept:
        return False
    return kept[0] if len(kept) == 1 else {"$or": kept}


def _alternatives(condition: dict) -> int:
    """How many and-terms the engine expands this condition into."""
    if "$and" in condition:
        total = 1
        for part in condition["$and"]:
            total *= _alternatives(part)
        return total
    if "$or" in condition:
        return sum(_alternatives(part) for part in condition["$or"])
    return 1


def _nesting(condition: dict) -> int:
    for op in ("$and", "$or"):
        if op in condition:
            return 1 + max(_nesting(part) for part in condition[op])
    return 0


def _engine_condition(condition: Condition) -> dict:
    # constant rules test the property every fact carries, so the engine still decides
    if condition is True:
        return {ALWAYS: 1}
    if condition is False:
        return {ALWAYS: 0}
    return copy.deepcopy(condition)
