"""Property tests: no input text makes the language raise anything but ExpressionError."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from formwork.expressions import ExpressionError, TypeEnv, compile_expression

from .cases import CONTEXT, FIELDS, SCOPE

ENV = TypeEnv(FIELDS)
PIECES = [
    "total",
    "qty",
    "category",
    "lines",
    ".amount",
    "[0]",
    "[*]",
    "$user",
    ".department",
    "$today",
    "sum(",
    "round(",
    "if(",
    "coalesce(",
    "concat(",
    "cn(",
    "(",
    ")",
    "[",
    "]",
    ",",
    " + ",
    " - ",
    " * ",
    " / ",
    " % ",
    " == ",
    " < ",
    " >= ",
    " and ",
    " or ",
    "not ",
    " in ",
    " is null",
    "null",
    "true",
    "0",
    "1.5",
    "'x'",
    '"y"',
    "-",
    "**",
    "__",
    ".",
    "$",
    "'",
    "\\",
    "9" * 20,
    "days_between(",
    "start",
    "add_days(",
    "len(",
]


def _attempt(source: str) -> None:
    try:
        compiled = compile_expression(source, ENV)
    except ExpressionError:
        return
    try:
        compiled.evaluate(SCOPE, None, CONTEXT)
        compiled.evaluate({}, None, {})
        compiled.evaluate({"total": Decimal("1E+30"), "qty": -1, "category": "", "lines": [{}]}, None, {})
    except ExpressionError:
        pass


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=200))
def test_random_text_only_raises_expression_errors(source: str) -> None:
    _attempt(source)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(PIECES), max_size=25).map("".join))
def test_random_token_soup_only_raises_expression_errors(source: str) -> None:
    _attempt(source)
