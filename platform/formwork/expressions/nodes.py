"""The syntax tree: immutable nodes, each with the 0-based source offset ``pos``.

The tree is purely syntactic; ``checker.analyse`` attaches types and name
bindings without changing it, and every back end (Python closures today,
durable-rules JSON and SQLAlchemy next) walks the same nodes.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Iterator, Union

LiteralValue = Union[int, Decimal, str, bool, None]

ARITHMETIC_OPS = ("+", "-", "*", "/", "%")
COMPARISON_OPS = ("==", "!=", "<", "<=", ">", ">=", "in", "not in")


@dataclass(frozen=True, slots=True)
class Node:
    pos: int

    def children(self) -> tuple["Node", ...]:
        return ()


@dataclass(frozen=True, slots=True)
class Literal(Node):
    """``42``, ``12.50`` (exact ``Decimal``), ``'text'``, ``true``/``false``, ``null``."""

    value: LiteralValue


@dataclass(frozen=True, slots=True)
class ListLiteral(Node):
    items: tuple[Node, ...]

    def children(self) -> tuple[Node, ...]:
        return self.items


@dataclass(frozen=True, slots=True)
class Name(Node):
    """A field of the current line-item row or of the form (the checker decides which)."""

    name: str


@dataclass(frozen=True, slots=True)
class ContextName(Node):
    """``$user``, ``$today``...; ``name`` is stored without the ``$``."""

    name: str


@dataclass(frozen=True, slots=True)
class Member(Node):
    """``target.name``: a record's field, or a projection over a list of records."""

    target: Node
    name: str

    def children(self) -> tuple[Node, ...]:
        return (self.target,)


@dataclass(frozen=True, slots=True)
class Index(Node):
    """``target[3]``: one item of a list (0-based; out of range gives null)."""

    target: Node
    index: int

    def children(self) -> tuple[Node, ...]:
        return (self.target,)


@dataclass(frozen=True, slots=True)
class AllItems(Node):
    """``target[*]``: every item of a list — the same as the list, written explicitly."""

    target: Node

    def children(self) -> tuple[Node, ...]:
        return (self.target,)


@dataclass(frozen=True, slots=True)
class Negate(Node):
    operand: Node

    def children(self) -> tuple[Node, ...]:
        return (self.operand,)


@dataclass(frozen=True, slots=True)
class Not(Node):
    operand: Node

    def children(self) -> tuple[Node, ...]:
        return (self.operand,)


@dataclass(frozen=True, slots=True)
class Arithmetic(Node):
    """``left op right`` with ``op`` in ``+ - * / %``; ``pos`` is the operator's."""

    op: str
    left: Node
    right: Node

    def children(self) -> tuple[Node, ...]:
        return (self.left, self.right)


@dataclass(frozen=True, slots=True)
class Compare(Node):
    """``left op right`` with ``op`` in ``== != < <= > >= in``, ``not in``; ``pos`` is the operator's."""

    op: str
    left: Node
    right: Node

    def children(self) -> tuple[Node, ...]:
        return (self.left, self.right)


@dataclass(frozen=True, slots=True)
class IsNull(Node):
    """``x is null`` / ``x == null`` (``negated``: ``is not null`` / ``!= null``); never null itself."""

    operand: Node
    negated: bool

    def children(self) -> tuple[Node, ...]:
        return (self.operand,)


@dataclass(frozen=True, slots=True)
class Logical(Node):
    """``a and b and c`` / ``a or b`` flattened to one node (Kleene three-valued logic)."""

    op: str  # "and" | "or"
    operands: tuple[Node, ...]

    def children(self) -> tuple[Node, ...]:
        return self.operands


@dataclass(frozen=True, slots=True)
class Call(Node):
    name: str
    args: tuple[Node, ...]

    def children(self) -> tuple[Node, ...]:
        return self.args


def walk(node: Node) -> Iterator[Node]:
    """Every node of the tree, parents before children, without recursion."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(current.children()))
