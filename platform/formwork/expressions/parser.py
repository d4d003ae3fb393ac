"""Hand-written precedence-climbing parser: tokens → immutable tree.

Nesting is counted while parsing and refused beyond ``Limits.max_nesting``
long before Python's own recursion limit; tree size and depth are checked
once the tree is built, so every later pass may recurse safely.
"""

from __future__ import annotations

from typing import Callable, TypeVar

from . import nodes as N
from .errors import ExpressionSyntaxError
from .limits import DEFAULT_LIMITS, Limits
from .tokenizer import Token, tokenize

# Binding strength, loosest first. ``not`` sits between ``and`` and the comparisons, as in Python.
OR, AND, NOT, COMPARE, ADD, MULTIPLY, UNARY = range(1, 8)
_BINARY = {
    "or": OR,
    "and": AND,
    "==": COMPARE,
    "!=": COMPARE,
    "<": COMPARE,
    "<=": COMPARE,
    ">": COMPARE,
    ">=": COMPARE,
    "in": COMPARE,
    "not in": COMPARE,
    "is": COMPARE,
    "+": ADD,
    "-": ADD,
    "*": MULTIPLY,
    "/": MULTIPLY,
    "%": MULTIPLY,
}
NodeT = TypeVar("NodeT", bound=N.Node)


def parse(source: str, *, limits: Limits = DEFAULT_LIMITS) -> N.Node:
    """Parse expression text into a tree; raises ``ExpressionSyntaxError`` with a position."""
    tokens = tokenize(source, limits)
    parser = _Parser(source, tokens, limits)
    node = parser.parse()
    _check_depth(node, source, limits)
    return node


class _Parser:
    def __init__(self, source: str, tokens: list[Token], limits: Limits):
        self.source = source
        self.tokens = tokens
        self.limits = limits
        self.i = 0
        self.nesting = 0
        self.node_count = 0

    # -- helpers -------------------------------------------------------------------------
    def error(self, message: str, pos: int) -> ExpressionSyntaxError:
        return ExpressionSyntaxError(message, pos, self.source)

    def peek(self, offset: int = 0) -> Token:
        return self.tokens[min(self.i + offset, len(self.tokens) - 1)]

    def advance(self) -> Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def is_op(self, value: str, offset: int = 0) -> bool:
        tok = self.peek(offset)
        return tok.kind == "op" and tok.value == value

    def is_keyword(self, value: str, offset: int = 0) -> bool:
        tok = self.peek(offset)
        return tok.kind == "keyword" and tok.value == value

    def expect_op(self, value: str, what: str) -> Token:
        if not self.is_op(value):
            raise self.error(f"expected {value!r} {what}, found {_describe(self.peek())}", self.peek().pos)
        return self.advance()

    def make(self, factory: Callable[..., NodeT], *args: object) -> NodeT:
        self.node_count += 1
        node = factory(*args)
        if self.node_count > self.limits.max_nodes:
            raise self.error(
                f"the expression is too large (more than {self.limits.max_nodes} parts)", node.pos
            )
        return node

    # -- grammar -------------------------------------------------------------------------
    def parse(self) -> N.Node:
        if self.peek().kind == "end":
            raise self.error("the expression is empty", 0)
        node = self.expression(OR)
        tok = self.peek()
        if tok.kind != "end":
            raise self.error(f"unexpected {_describe(tok)}", tok.pos)
        return node

    def expression(self, min_level: int) -> N.Node:
        tok = self.peek()
        self.nesting += 1
        if self.nesting > self.limits.max_nesting:
            raise self.error(
                f"the expression is nested too deeply (the limit is {self.limits.max_nesting} levels)",
                tok.pos,
            )
        if tok.kind == "keyword" and tok.value == "not" and min_level <= NOT:
            self.advance()
            left: N.Node = self.make(N.Not, tok.pos, self.expression(NOT))
        elif tok.kind == "op" and tok.value == "-":
            self.advance()
            left = self.make(N.Negate, tok.pos, self.expression(UNARY))
        else:
            left = self.postfix()
        while True:
            op = self.binary_operator()
            if op is None or _BINARY[op] < min_level:
                break
            level = _BINARY[op]
            if op in ("and", "or"):
                operands = [left]
                while self.is_keyword(op):
                    self.advance()
                    operands.append(self.expression(level + 1))
                left = self.make(N.Logical, left.pos, op, tuple(operands))
            elif level == COMPARE:
                left = self.comparison(left, op)
                follow = self.binary_operator()
                if follow is not None and _BINARY[follow] == COMPARE:
                    raise self.error("comparisons cannot be chained; join them with 'and'", self.peek().pos)
            else:
                op_tok = self.advance()
                right = self.expression(level + 1)
                left = self.make(N.Arithmetic, op_tok.pos, op, left, right)
        self.nesting -= 1
        return left

    def binary_operator(self) -> str | None:
        tok = self.peek()
        if tok.kind == "op" and tok.value in _BINARY:
            return str(tok.value)
        if tok.kind == "keyword":
            if tok.value in ("and", "or", "in", "is"):
                return str(tok.value)
            if tok.value == "not" and self.is_keyword("in", 1):
                return "not in"
        return None

    def comparison(self, left: N.Node, op: str) -> N.Node:
        op_tok = self.advance()
        if op == "not in":
            self.advance()
        if op == "is":
            negated = False
            if self.is_keyword("not"):
                self.advance()
                negated = True
            if not self.is_keyword("null"):
                raise self.error(
                    "'is' may only be followed by null or not null; use == to compare", self.peek().pos
                )
            self.advance()
            return self.make(N.IsNull, op_tok.pos, left, negated)
        right = self.expression(COMPARE + 1)
        if op in ("==", "!=") and (_is_null(right) or _is_null(left)):
            # ``x == null`` means "x is null" (as in SQLAlchemy); a three-valued ``= NULL`` is never useful.
            operand = left if _is_null(right) else right
            return self.make(N.IsNull, op_tok.pos, operand, op == "!=")
        return self.make(N.Compare, op_tok.pos, op, left, right)

    def postfix(self) -> N.Node:
        node = self.primary()
        while True:
            if self.is_op("."):
                self.advance()
                tok = self.peek()
                if tok.kind != "name":
                    raise self.error(f"expected a field name after '.', found {_describe(tok)}", tok.pos)
                self.advance()
                if self.is_op("("):
                    raise self.error(
                        f"methods are not supported; call functions instead, e.g. {tok.value}(x)", tok.pos
                    )
                node = self.make(N.Member, tok.pos, node, str(tok.value))
            elif self.is_op("["):
                open_tok = self.advance()
                tok = self.peek()
                if tok.kind == "op" and tok.value == "*":
                    self.advance()
                    self.expect_op("]", "after '[*'")
                    node = self.make(N.AllItems, open_tok.pos, node)
                elif tok.kind == "number" and isinstance(tok.value, int):
                    self.advance()
                    self.expect_op("]", "after the index")
                    node = self.make(N.Index, open_tok.pos, node, tok.value)
                else:
                    raise self.error(
                        "an index must be a whole number such as [0], or [*] for every row", tok.pos
                    )
            elif self.is_op("("):
                raise self.error("only named functions can be called, e.g. upper(name)", self.peek().pos)
            else:
                return node

    def primary(self) -> N.Node:
        tok = self.peek()
        if tok.kind in ("number", "string"):
            self.advance()
            return self.make(N.Literal, tok.pos, tok.value)
        if tok.kind == "keyword" and tok.value in ("true", "false", "null"):
            self.advance()
            value = {"true": True, "false": False, "null": None}[str(tok.value)]
            return self.make(N.Literal, tok.pos, value)
        if tok.kind == "name":
            self.advance()
            if self.is_op("("):
                return self.call(tok)
            return self.make(N.Name, tok.pos, str(tok.value))
        if tok.kind == "context":
            self.advance()
            if self.is_op("("):
                raise self.error(f"${tok.value} is a value, not a function", self.peek().pos)
            return self.make(N.ContextName, tok.pos, str(tok.value))
        if tok.kind == "op" and tok.value == "(":
            self.advance()
            inner = self.expression(OR)
            self.expect_op(")", "to close the '(' at position %d" % tok.pos)
            return inner
        if tok.kind == "op" and tok.value == "[":
            self.advance()
            items = self.items("]")
            return self.make(N.ListLiteral, tok.pos, items)
        if tok.kind == "end":
            raise self.error("the expression ends too early", tok.pos)
        raise self.error(f"unexpected {_describe(tok)}", tok.pos)

    def call(self, name_tok: Token) -> N.Node:
        self.advance()  # "("
        args = self.items(")")
        return self.make(N.Call, name_tok.pos, str(name_tok.value), args)

    def items(self, closing: str) -> tuple[N.Node, ...]:
        result: list[N.Node] = []
        if self.is_op(closing):
            self.advance()
            return ()
        while True:
            result.append(self.expression(OR))
            if self.is_op(","):
                self.advance()
                continue
            self.expect_op(closing, "or ','")
            return tuple(result)


def _is_null(node: N.Node) -> bool:
    return isinstance(node, N.Literal) and node.value is None


def _describe(tok: Token) -> str:
    if tok.kind == "end":
        return "the end of the expression"
    if tok.kind == "string":
        return "text " + (tok.text if len(tok.text) <= 20 else tok.text[:17] + "...")
    return f"{tok.text!r}"


def _check_depth(root: N.Node, source: str, limits: Limits) -> None:
    """Refuse trees deeper than ``max_depth`` (long chains like a+b+c+... deepen without nesting)."""
    stack: list[tuple[N.Node, int]] = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limits.max_depth:
            raise ExpressionSyntaxError(
                f"the expression is too deeply structured (the limit is {limits.max_depth} levels)",
                node.pos,
                source,
            )
        stack.extend((child, depth + 1) for child in node.children())
