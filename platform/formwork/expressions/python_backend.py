"""The Python back end: a checked tree → nested closures ``fn(scope, row, context)``.

Each node becomes one small closure chosen for its types when compiling, so
evaluation does no type dispatch at all; common shapes (``field > literal``,
long ``and`` chains) get dedicated closures, which is what makes a 20-term
condition cheap. Null follows SQL: arithmetic and comparisons with null give
null, ``and``/``or``/``not`` are Kleene, division by zero gives null.
"""

from __future__ import annotations

import operator
from decimal import Decimal, DecimalException
from functools import partial
from typing import Any, Callable, Mapping

from . import nodes as N
from . import value_types as T
from .checker import Analysis
from .errors import ExpressionError, ExpressionRuntimeError
from .limits import DECIMAL_CONTEXT as CTX
from .limits import DEFAULT_LIMITS, Limits
from .runtime import context_value

Scope = Mapping[str, Any]
Evaluator = Callable[[Scope, Any, Mapping[str, Any]], Any]

_COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def _sql_mod(a: int, b: int) -> int:
    # SQL (and Decimal) remainders take the sign of the dividend; Python's % takes the divisor's.
    r = abs(a) % abs(b)
    return -r if a < 0 else r


_INTEGER_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "%": _sql_mod,
}
_DECIMAL_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "+": CTX.add,
    "-": CTX.subtract,
    "*": CTX.multiply,
    "/": CTX.divide,
    "%": CTX.remainder,
}


def compile_python(analysis: Analysis, limits: Limits = DEFAULT_LIMITS) -> Evaluator:
    """Closures for the analysed tree."""
    return _Compiler(analysis, limits).build(analysis.root)


class _Compiler:
    def __init__(self, analysis: Analysis, limits: Limits):
        self.analysis = analysis
        self.limits = limits
        self._builders: dict[type, Callable[[Any], Evaluator]] = {
            N.Literal: self.literal,
            N.ListLiteral: self.list_literal,
            N.Name: self.name,
            N.ContextName: self.context_name,
            N.Member: self.member,
            N.Index: self.index,
            N.AllItems: self.all_items,
            N.Negate: self.negate,
            N.Not: self.not_,
            N.Arithmetic: self.arithmetic,
            N.Compare: self.compare,
            N.IsNull: self.is_null,
            N.Logical: self.logical,
            N.Call: self.call,
        }

    def build(self, node: N.Node) -> Evaluator:
        return self._builders[type(node)](node)

    def type_of(self, node: N.Node) -> T.Type:
        return self.analysis.type_of(node)

    # -- leaves ------------------------------------------------------------------------------
    def literal(self, node: N.Literal) -> Evaluator:
        value = node.value

        def constant(s: Scope, r: Any, c: Any) -> Any:
            return value

        return constant

    def list_literal(self, node: N.ListLiteral) -> Evaluator:
        if all(isinstance(item, N.Literal) for item in node.items):
            values = tuple(item.value for item in node.items)  # type: ignore[attr-defined]

            def constant_list(s: Scope, r: Any, c: Any) -> list[Any]:
                return list(values)

            return constant_list
        items = tuple(self.build(item) for item in node.items)

        def make_list(s: Scope, r: Any, c: Any) -> list[Any]:
            return [item(s, r, c) for item in items]

        return make_list

    def name(self, node: N.Name) -> Evaluator:
        key = node.name
        if self.analysis.reads_row(node):

            def row_field(s: Scope, r: Any, c: Any) -> Any:
                return r.get(key)

            return row_field

        def form_field(s: Scope, r: Any, c: Any) -> Any:
            return s.get(key)

        return form_field

    def context_name(self, node: N.ContextName) -> Evaluator:
        key = node.name

        def context_field(s: Scope, r: Any, c: Mapping[str, Any]) -> Any:
            value = c.get(key)
            return value if value is not None else context_value(c, key)

        return context_field

    # -- paths -------------------------------------------------------------------------------
    def member(self, node: N.Member) -> Evaluator:
        dotted = self.analysis.context_paths.get(id(node))
        if dotted is not None:

            def context_path(s: Scope, r: Any, c: Mapping[str, Any]) -> Any:
                return context_value(c, dotted)

            return context_path
        target = self.build(node.target)
        key = node.name
        if isinstance(self.type_of(node.target), T.ListOf):

            def project(s: Scope, r: Any, c: Any) -> list[Any]:
                rows = target(s, r, c)
                if not rows:
                    return []  # an absent line-items field is no rows: sum(lines.amount) is 0
                return [None if row is None else row.get(key) for row in rows]

            return project

        def field_of(s: Scope, r: Any, c: Any) -> Any:
            record = target(s, r, c)
            return None if record is None else record.get(key)

        return field_of

    def index(self, node: N.Index) -> Evaluator:
        target = self.build(node.target)
        position = node.index

        def item(s: Scope, r: Any, c: Any) -> Any:
            values = target(s, r, c)
            if values is None or position >= len(values):
                return None
            return values[position]

        return item

    def all_items(self, node: N.AllItems) -> Evaluator:
        return self.build(node.target)

    # -- operators ---------------------------------------------------------------------------
    def negate(self, node: N.Negate) -> Evaluator:
        operand = self.build(node.operand)
        pos = node.pos

        def negative(s: Scope, r: Any, c: Any) -> Any:
            v = operand(s, r, c)
            if v is None:
                return None
            try:
                return CTX.minus(v) if isinstance(v, Decimal) else -v
            except (DecimalException, TypeError) as exc:
                raise _runtime(exc, pos) from exc

        return negative

    def not_(self, node: N.Not) -> Evaluator:
        operand = self.build(node.operand)

        def negation(s: Scope, r: Any, c: Any) -> Any:
            v = operand(s, r, c)
            return None if v is None else not v

        return negation

    def arithmetic(self, node: N.Arithmetic) -> Evaluator:
        result_type = self.type_of(node)
        if result_type == T.NULL:
            return self.literal(N.Literal(node.pos, None))
        left, right = self.build(node.left), self.build(node.right)
        pos, op = node.pos, node.op
        if result_type == T.TEXT:
            limit = self.limits.max_text_result

            def join(s: Scope, r: Any, c: Any) -> Any:
                a = left(s, r, c)
                if a is None:
                    return None
                b = right(s, r, c)
                if b is None:
                    return None
                if len(a) + len(b) > limit:
                    raise ExpressionRuntimeError(
                        f"the text result is too long (more than {limit} characters)", pos
                    )
                return a + b

            return join
        integer = result_type == T.INTEGER
        fn = _INTEGER_OPS[op] if integer else _DECIMAL_OPS[op]
        checks_zero = op in ("/", "%")

        def arithmetic(s: Scope, r: Any, c: Any) -> Any:
            a = left(s, r, c)
            if a is None:
                return None
            b = right(s, r, c)
            if b is None:
                return None
            if checks_zero and b == 0:
                return None  # like SQL's x / NULLIF(y, 0)
            try:
                return fn(a, b)
            except (DecimalException, TypeError, ValueError, OverflowError) as exc:
                raise _runtime(exc, pos) from exc

        return arithmetic

    def compare(self, node: N.Compare) -> Evaluator:
        if node.op in ("in", "not in"):
            return self.membership(node)
        test = _COMPARE[node.op]
        pos = node.pos
        right_node = node.right
        if isinstance(right_node, N.Literal):
            constant = right_node.value
            if isinstance(node.left, N.Name) and not self.analysis.reads_row(node.left):
                key = node.left.name

                def field_vs_constant(s: Scope, r: Any, c: Any) -> Any:
                    a = s.get(key)
                    if a is None:
                        return None
                    try:
                        return test(a, constant)
                    except TypeError as exc:
                        raise _runtime(exc, pos) from exc

                return field_vs_constant
            left = self.build(node.left)

            def value_vs_constant(s: Scope, r: Any, c: Any) -> Any:
                a = left(s, r, c)
                if a is None:
                    return None
                try:
                    return test(a, constant)
                except TypeError as exc:
                    raise _runtime(exc, pos) from exc

            return value_vs_constant
        left, right = self.build(node.left), self.build(node.right)

        def comparison(s: Scope, r: Any, c: Any) -> Any:
            a = left(s, r, c)
            if a is None:
                return None
            b = right(s, r, c)
            if b is None:
                return None
            try:
                return test(a, b)
            except TypeError as exc:
                raise _runtime(exc, pos) from exc

        return comparison

    def membership(self, node: N.Compare) -> Evaluator:
        left = self.build(node.left)
        negated = node.op == "not in"
        right_node = node.right
        if isinstance(right_node, N.ListLiteral) and all(
            isinstance(i, N.Literal) and i.value is not None for i in right_node.items
        ):
            members = frozenset(i.value for i in right_node.items)  # type: ignore[attr-defined]

            def in_constant_set(s: Scope, r: Any, c: Any) -> Any:
                v = left(s, r, c)
                if v is None:
                    return None
                return (v in members) != negated

            return in_constant_set
        right = self.build(right_node)

        def in_list(s: Scope, r: Any, c: Any) -> Any:
            v = left(s, r, c)
            if v is None:
                return None
            values = right(s, r, c)
            if values is None:
                return None
            if v in values:
                return not negated
            # SQL: x IN (..., NULL) is unknown when nothing matched
            return None if None in values else negated

        return in_list

    def is_null(self, node: N.IsNull) -> Evaluator:
        operand = self.build(node.operand)
        negated = node.negated

        def null_test(s: Scope, r: Any, c: Any) -> bool:
            return (operand(s, r, c) is None) != negated

        return null_test

    def logical(self, node: N.Logical) -> Evaluator:
        operands = tuple(self.build(o) for o in node.operands)
        if node.op == "and":

            def conjunction(s: Scope, r: Any, c: Any) -> Any:
                unknown = False
                for operand in operands:
                    v = operand(s, r, c)
                    if v is False:
                        return False
                    if v is None:
                        unknown = True
                return None if unknown else True

            return conjunction

        def disjunction(s: Scope, r: Any, c: Any) -> Any:
            unknown = False
            for operand in operands:
                v = operand(s, r, c)
                if v is True:
                    return True
                if v is None:
                    unknown = True
            return None if unknown else False

        return disjunction

    def call(self, node: N.Call) -> Evaluator:
        spec = self.analysis.function(node)
        arg_types = [self.type_of(a) for a in node.args]
        result_type = self.type_of(node)
        impl = spec.implementation(arg_types, result_type)
        args = tuple(self.build(a) for a in node.args)
        pos, name = node.pos, node.name
        limit = self.limits.max_text_result if result_type == T.TEXT else None
        # integer branches of a decimal-typed result (max(qty, 2.5), coalesce(rate, 0)) become Decimal
        widen = result_type in (T.DECIMAL, T.MONEY)
        lazy, with_context, strict = spec.lazy, spec.needs_context, spec.null_propagates

        def call(s: Scope, r: Any, c: Mapping[str, Any]) -> Any:
            if lazy:
                values: list[Any] = [partial(a, s, r, c) for a in args]
            else:
                values = [a(s, r, c) for a in args]
                if strict and None in values:
                    return None
            if with_context:
                values.insert(0, c)
            try:
                result = impl(*values)
            except ExpressionError as exc:
                if exc.position is None:
                    exc.position = pos
                raise
            except Exception as exc:  # a function (maybe a plugin's) failed on this data
                raise ExpressionRuntimeError(f"{name}() failed: {_reason(exc)}", pos) from exc
            if limit is not None and isinstance(result, str) and len(result) > limit:
                raise ExpressionRuntimeError(
                    f"the text result is too long (more than {limit} characters)", pos
                )
            if widen and type(result) is int:
                return Decimal(result)
            return result

        return call


def _reason(exc: BaseException) -> str:
    if isinstance(exc, DecimalException):
        return "the number is out of range"
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."


def _runtime(exc: BaseException, pos: int) -> ExpressionRuntimeError:
    if isinstance(exc, DecimalException):
        return ExpressionRuntimeError("the number is out of range (more than 38 digits)", pos)
    return ExpressionRuntimeError(f"a value has the wrong type: {_reason(exc)}", pos)
