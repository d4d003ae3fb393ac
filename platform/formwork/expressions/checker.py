"""Type checking: the tree + a ``TypeEnv`` → the type of every node and what each name means.

The result (``Analysis``) is what every back end compiles from: node types decide
integer vs decimal arithmetic and list projections, name bindings say whether a
name reads the current line-item row or the form, and each call is bound to its
``FunctionSpec``.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Callable, Iterable, Mapping

from . import nodes as N
from . import value_types as T
from .env import TypeEnv
from .errors import ExpressionError, ExpressionTypeError
from .functions import function_table
from .spec import ArgumentError, FunctionSpec

_CHAIN = (N.Name, N.ContextName, N.Member, N.Index, N.AllItems)
_SPELLINGS = {
    "True": "true",
    "False": "false",
    "None": "null",
    "NULL": "null",
    "AND": "and",
    "OR": "or",
    "NOT": "not",
    "TRUE": "true",
    "FALSE": "false",
}


@dataclass
class Analysis:
    """Types and bindings of a checked tree; keyed by node identity (the tree is kept alive here)."""

    root: N.Node
    types: dict[int, T.Type] = field(default_factory=dict)
    row_names: set[int] = field(default_factory=set)  # ids of Name nodes that read the current row
    calls: dict[int, FunctionSpec] = field(default_factory=dict)
    # ids of Member nodes naming a dotted context value (``$user.department.descendants``): the
    # environment declares the whole path, and every back end reads it as one value.
    context_paths: dict[int, str] = field(default_factory=dict)
    references: frozenset[str] = frozenset()
    row_references: frozenset[str] = frozenset()
    context_references: frozenset[str] = frozenset()

    @property
    def type(self) -> T.Type:
        return self.types[id(self.root)]

    def type_of(self, node: N.Node) -> T.Type:
        return self.types[id(node)]

    def reads_row(self, node: N.Node) -> bool:
        return id(node) in self.row_names

    def function(self, node: N.Call) -> FunctionSpec:
        return self.calls[id(node)]


def check(node: N.Node, env: TypeEnv, functions: Mapping[str, FunctionSpec] | None = None) -> T.Type:
    """The type of ``node`` in ``env``; raises ``ExpressionTypeError`` with a position."""
    return analyse(node, env, functions).type


def analyse(node: N.Node, env: TypeEnv, functions: Mapping[str, FunctionSpec] | None = None) -> Analysis:
    """Check ``node`` and return its full ``Analysis`` (what back ends compile from)."""
    checker = _Checker(env, function_table(functions), Analysis(node))
    checker.visit(node)
    _collect_references(checker.analysis, env)
    return checker.analysis


def suggestion(name: str, candidates: Iterable[str]) -> str:
    """``"; did you mean 'total'?"`` or nothing."""
    if name in _SPELLINGS:
        return f"; did you mean '{_SPELLINGS[name]}'?"
    close = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    if not close:
        lowered = {c.lower(): c for c in candidates}
        if name.lower() in lowered:
            close = [lowered[name.lower()]]
    return f"; did you mean '{close[0]}'?" if close else ""


class _Checker:
    def __init__(self, env: TypeEnv, functions: Mapping[str, FunctionSpec], analysis: Analysis):
        self.env = env
        self.functions = functions
        self.analysis = analysis
        # Each visitor takes its own node class (the key), which a Callable type cannot say per entry.
        self._visitors: dict[type[N.Node], Callable[[Any], T.Type]] = {
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

    def error(self, message: str, node: N.Node) -> ExpressionTypeError:
        return ExpressionTypeError(message, node.pos)

    def visit(self, node: N.Node) -> T.Type:
        t = self._visitors[type(node)](node)
        self.analysis.types[id(node)] = t
        return t

    # -- leaves ------------------------------------------------------------------------------
    def literal(self, node: N.Literal) -> T.Type:
        v = node.value
        if v is None:
            return T.NULL
        if isinstance(v, bool):
            return T.BOOLEAN
        if isinstance(v, int):
            return T.INTEGER
        if isinstance(v, Decimal):
            return T.DECIMAL
        return T.TEXT

    def list_literal(self, node: N.ListLiteral) -> T.Type:
        item: T.Type = T.NULL
        for child in node.items:
            t = self.visit(child)
            if isinstance(t, (T.ListOf, T.RecordOf)):
                raise self.error("a list may only hold single values", child)
            unified = T.unify(item, t)
            if unified is None:
                raise self.error(f"a list cannot mix {item.describe()} and {t.describe()}", child)
            item = unified
        return T.ListOf(item)

    def name(self, node: N.Name) -> T.Type:
        row = self.env.row
        if row is not None and node.name in row:
            self.analysis.row_names.add(id(node))
            return row[node.name]
        if node.name in self.env.fields:
            return self.env.fields[node.name]
        if node.name in self.functions:
            raise self.error(f"{node.name} is a function; call it as {node.name}(...)", node)
        if node.name in self.env.context:
            raise self.error(f"unknown field '{node.name}'; did you mean '${node.name}'?", node)
        known = list(self.env.fields) + list(row or ())
        raise self.error(f"unknown field '{node.name}'{suggestion(node.name, known)}", node)

    def context_name(self, node: N.ContextName) -> T.Type:
        if node.name in self.env.context:
            return self.env.context[node.name]
        hint = suggestion(node.name, self.env.context).replace("mean '", "mean '$")
        raise self.error(f"unknown context value '${node.name}'{hint}", node)

    # -- paths -------------------------------------------------------------------------------
    def member(self, node: N.Member) -> T.Type:
        target = self.visit(node.target)
        dotted = _context_path(node)
        if dotted is not None and dotted in self.env.context and not isinstance(target, T.RecordOf):
            self.analysis.context_paths[id(node)] = dotted
            return self.env.context[dotted]
        record = target.item if isinstance(target, T.ListOf) else target
        if isinstance(record, T.RecordOf):
            if node.name not in record.fields:
                raise self.error(f"unknown field '{node.name}'{suggestion(node.name, record.fields)}", node)
            t = record.fields[node.name]
            if isinstance(target, T.ListOf):
                if isinstance(t, T.ListOf):
                    raise self.error(f"'{node.name}' is a list inside a list; it cannot be projected", node)
                return T.ListOf(t)
            return t
        if target == T.NULL:
            return T.NULL
        raise self.error(f"{target.describe()} values have no field '{node.name}'", node)

    def index(self, node: N.Index) -> T.Type:
        target = self.visit(node.target)
        if isinstance(target, T.ListOf):
            return target.item
        raise self.error(f"only lists can be indexed, not {target.describe()}", node)

    def all_items(self, node: N.AllItems) -> T.Type:
        target = self.visit(node.target)
        if isinstance(target, T.ListOf):
            return target
        raise self.error(f"[*] needs a list, not {target.describe()}", node)

    # -- operators ---------------------------------------------------------------------------
    def negate(self, node: N.Negate) -> T.Type:
        t = self.visit(node.operand)
        if t in T.NUMERIC or t == T.NULL:
            return t
        raise self.error(f"'-' needs a number, not {t.describe()}", node)

    def not_(self, node: N.Not) -> T.Type:
        t = self.visit(node.operand)
        if t in (T.BOOLEAN, T.NULL):
            return T.BOOLEAN
        raise self.error(f"'not' needs a true/false value, not {t.describe()}", node)

    def arithmetic(self, node: N.Arithmetic) -> T.Type:
        left, right = self.visit(node.left), self.visit(node.right)
        result = arithmetic_type(node.op, left, right)
        if isinstance(result, str):
            raise self.error(result, node)
        return result

    def compare(self, node: N.Compare) -> T.Type:
        left, right = self.visit(node.left), self.visit(node.right)
        if node.op in ("in", "not in"):
            if right == T.NULL:
                return T.BOOLEAN
            if not isinstance(right, T.ListOf):
                hint = "; for text use contains(text, part)" if right == T.TEXT else ""
                raise self.error(f"'{node.op}' needs a list on the right, e.g. x in ['a', 'b']{hint}", node)
            if isinstance(left, (T.ListOf, T.RecordOf)) or not T.comparable(left, right.item, ordering=False):
                raise self.error(f"cannot look for {left.describe()} in a {right.describe()}", node)
            return T.BOOLEAN
        ordering = node.op not in ("==", "!=")
        if not T.comparable(left, right, ordering):
            if ordering and left == right:
                raise self.error(f"{left.describe()} values cannot be ordered with '{node.op}'", node)
            raise self.error(f"cannot compare {left.describe()} with {right.describe()}", node)
        return T.BOOLEAN

    def is_null(self, node: N.IsNull) -> T.Type:
        self.visit(node.operand)
        return T.BOOLEAN

    def logical(self, node: N.Logical) -> T.Type:
        for operand in node.operands:
            t = self.visit(operand)
            if t not in (T.BOOLEAN, T.NULL):
                raise self.error(f"'{node.op}' needs true/false values, not {t.describe()}", operand)
        return T.BOOLEAN

    def call(self, node: N.Call) -> T.Type:
        spec = self.functions.get(node.name)
        if spec is None:
            raise self.error(f"unknown function '{node.name}'{suggestion(node.name, self.functions)}", node)
        arg_types = [self.visit(arg) for arg in node.args]
        try:
            result = spec.type_rule(arg_types)
        except ArgumentError as exc:
            at = node.args[exc.index] if exc.index is not None and exc.index < len(node.args) else node
            raise self.error(exc.message, at) from None
        except ExpressionError:
            raise
        except Exception as exc:  # a plugin's type rule must not break checking with a raw exception
            raise self.error(f"{node.name}() could not check its arguments: {exc}", node) from None
        if not isinstance(result, T.Type):
            raise self.error(f"{node.name}() did not declare a result type", node)
        self.analysis.calls[id(node)] = spec
        return result


def arithmetic_type(op: str, left: T.Type, right: T.Type) -> T.Type | str:
    """Result type of ``left op right``, or an error message.

    money ± money → money, money × or ÷ number → money, money ÷ money → decimal;
    integer op integer → integer except ``/`` (→ decimal); ``text + text`` → text.
    """
    if left == T.NULL and right == T.NULL:
        return T.NULL
    # null takes the type that makes the operation valid, so ``x * null`` keeps x's type
    if left == T.NULL:
        left = T.INTEGER if right in T.NUMERIC else right
    if right == T.NULL:
        right = T.INTEGER if left in T.NUMERIC else left
    if left == T.TEXT and right == T.TEXT:
        if op == "+":
            return T.TEXT
        return f"'{op}' cannot be used on text"
    if left in (T.DATE, T.DATETIME) or right in (T.DATE, T.DATETIME):
        return "dates cannot be used in arithmetic; use add_days(date, n) or days_between(a, b)"
    if left not in T.NUMERIC or right not in T.NUMERIC:
        return f"'{op}' cannot combine {left.describe()} and {right.describe()}"
    money = T.MONEY in (left, right)
    if op in ("+", "-"):
        if money:
            return T.MONEY
        return T.INTEGER if left == right == T.INTEGER else T.DECIMAL
    if op == "*":
        if left == right == T.MONEY:
            return "money cannot be multiplied by money"
        if money:
            return T.MONEY
        return T.INTEGER if left == right == T.INTEGER else T.DECIMAL
    if op == "/":
        if left == right == T.MONEY:
            return T.DECIMAL
        if right == T.MONEY:
            return "a number cannot be divided by money"
        return T.MONEY if money else T.DECIMAL
    # "%"
    if right == T.MONEY:
        return "'%' cannot take money on the right"
    if left == T.MONEY:
        return T.MONEY
    return T.INTEGER if left == right == T.INTEGER else T.DECIMAL


def _collect_references(analysis: Analysis, env: TypeEnv) -> None:
    """Dotted paths read by the tree: each outermost path (``lines.amount``), not its prefixes."""
    form: set[str] = set()
    row: set[str] = set()
    context: set[str] = set()
    stack: list[tuple[N.Node, bool]] = [(analysis.root, False)]
    while stack:
        node, inside_path = stack.pop()
        is_path = isinstance(node, _CHAIN)
        if is_path and not inside_path:
            parts, root = _path(node)
            if root is None:  # e.g. ``[1, 2][0]``: a path over a computed value reads no field
                pass
            elif isinstance(root, N.ContextName):
                context.add(".".join(["$" + root.name, *parts[1:]]))
            elif analysis.reads_row(root):
                row.add(".".join(parts))
                form.add(".".join([env.row_name, *parts]) if env.row_name else ".".join(parts))
            else:
                form.add(".".join(parts))
        for child in node.children():
            stack.append((child, is_path))
    analysis.references = frozenset(form)
    analysis.row_references = frozenset(row)
    analysis.context_references = frozenset(context)


def _path(node: N.Node) -> tuple[list[str], N.Node | None]:
    names: list[str] = []
    while True:
        if isinstance(node, N.Member):
            names.append(node.name)
            node = node.target
        elif isinstance(node, (N.Index, N.AllItems)):
            node = node.target
        elif isinstance(node, (N.Name, N.ContextName)):
            names.append(node.name)
            names.reverse()
            return names, node
        else:
            return names, None


def _context_path(node: N.Member) -> str | None:
    """``user.department.descendants`` for ``$user.department.descendants``; None for other paths."""
    names, root = _path(node)
    if isinstance(root, N.ContextName) and all(
        isinstance(n, (N.Member, N.ContextName)) for n in _chain(node)
    ):
        return ".".join(names)
    return None


def _chain(node: N.Node) -> list[N.Node]:
    chain = [node]
    while isinstance(node, (N.Member, N.Index, N.AllItems)):
        node = node.target
        chain.append(node)
    return chain
