"""A canonical, fully bracketed text for a (sub-)expression: labels and de-duplication keys."""

from __future__ import annotations

from decimal import Decimal

from formwork.expressions import nodes as N


def render(node: N.Node) -> str:
    """``sum(lines.amount)``, ``(total > 100)``; positions are ignored, so equal trees render equally."""
    if isinstance(node, N.Literal):
        return _literal(node.value)
    if isinstance(node, N.ListLiteral):
        return "[" + ", ".join(render(i) for i in node.items) + "]"
    if isinstance(node, N.Name):
        return node.name
    if isinstance(node, N.ContextName):
        return "$" + node.name
    if isinstance(node, N.Member):
        return f"{render(node.target)}.{node.name}"
    if isinstance(node, N.Index):
        return f"{render(node.target)}[{node.index}]"
    if isinstance(node, N.AllItems):
        return f"{render(node.target)}[*]"
    if isinstance(node, N.Negate):
        return f"-({render(node.operand)})"
    if isinstance(node, N.Not):
        return f"not ({render(node.operand)})"
    if isinstance(node, (N.Arithmetic, N.Compare)):
        return f"({render(node.left)} {node.op} {render(node.right)})"
    if isinstance(node, N.IsNull):
        return f"({render(node.operand)} is {'not ' if node.negated else ''}null)"
    if isinstance(node, N.Logical):
        return "(" + f" {node.op} ".join(render(o) for o in node.operands) + ")"
    if isinstance(node, N.Call):
        return f"{node.name}(" + ", ".join(render(a) for a in node.args) + ")"
    raise TypeError(f"unknown node {type(node).__name__}")


def _literal(value: object) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, (int, Decimal)):
        return str(value)
    text = str(value).replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n").replace("\t", "\\t")
    return f"'{text}'"
