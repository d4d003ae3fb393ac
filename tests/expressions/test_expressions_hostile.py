"""Hostile expressions are refused at parse time or stopped by limits — never run, never a raw error."""

from __future__ import annotations

import sys
import time
from datetime import date
from decimal import Decimal

import pytest

from formwork.expressions import (
    ExpressionError,
    ExpressionRuntimeError,
    ExpressionSyntaxError,
    ExpressionTypeError,
    Limits,
    T,
    TypeEnv,
    compile_expression,
    parse,
)

from .cases import FIELDS

ENV = TypeEnv(FIELDS)


@pytest.mark.parametrize(
    "source, error",
    [
        ("x.__class__", ExpressionSyntaxError),
        ("category.__class__.__mro__", ExpressionSyntaxError),
        ("__import__('os')", ExpressionSyntaxError),
        ("__builtins__", ExpressionSyntaxError),
        ("import os", ExpressionSyntaxError),
        ("from os import system", ExpressionSyntaxError),
        ("lambda: 1", ExpressionSyntaxError),
        ("eval('1')", ExpressionSyntaxError),
        ("exec('1')", ExpressionSyntaxError),
        ("9**9**9", ExpressionSyntaxError),
        ("2 ** 100000", ExpressionSyntaxError),
        ("category.upper()", ExpressionSyntaxError),
        ("(lambda x: x)(1)", ExpressionSyntaxError),
        ("getattr(category, 'upper')", ExpressionTypeError),
        ("open('/etc/passwd')", ExpressionTypeError),
        ("globals()", ExpressionTypeError),
        ("category.format", ExpressionTypeError),
        ("lines.__len__", ExpressionSyntaxError),
        ("[x for x in lines]", ExpressionSyntaxError),
        ("f'{category}'", ExpressionSyntaxError),
        ("category[0:5]", ExpressionSyntaxError),
        ("$user.__dict__", ExpressionSyntaxError),
        ("1 if urgent else 2", ExpressionSyntaxError),
    ],
)
def test_hostile_constructs_are_refused_before_running(source: str, error: type) -> None:
    with pytest.raises(error) as caught:
        compile_expression(source, ENV)
    assert caught.value.position is not None


def test_power_operator_error_points_at_it() -> None:
    with pytest.raises(ExpressionSyntaxError) as caught:
        parse("9**9**9")
    assert caught.value.position == 1
    assert "power operator" in caught.value.message


def test_megabyte_string_literal_is_refused_quickly() -> None:
    source = "'" + "a" * 1_000_000 + "'"
    started = time.perf_counter()
    with pytest.raises(ExpressionSyntaxError, match="too long"):
        parse(source)
    assert time.perf_counter() - started < 0.1


def test_string_literal_over_its_own_limit_is_refused() -> None:
    with pytest.raises(ExpressionSyntaxError, match="the text is too long") as caught:
        parse("'" + "a" * 1500 + "'")
    assert caught.value.position == 0


def test_ten_thousand_nested_parentheses_never_reach_the_recursion_limit() -> None:
    source = "(" * 10_000 + "1" + ")" * 10_000
    with pytest.raises(ExpressionSyntaxError, match="too long"):
        parse(source)
    # with the length limit lifted the nesting limit still stops it, far from Python's own limit
    roomy = Limits(max_source_length=100_000)
    with pytest.raises(ExpressionSyntaxError, match="nested too deeply"):
        parse(source, limits=roomy)
    for opener in ("-", "not ", "[", "abs("):
        with pytest.raises(ExpressionSyntaxError, match="nested too deeply"):
            parse(opener * 10_000 + "1", limits=roomy)


def test_nesting_works_even_when_the_stack_is_already_deep() -> None:
    limit = sys.getrecursionlimit()

    def recurse(depth: int) -> None:
        if depth:
            recurse(depth - 1)
            return
        with pytest.raises(ExpressionSyntaxError):
            parse("(" * 1000 + "1" + ")" * 1000)
        assert compile_expression("(" * 30 + "qty" + ")" * 30, ENV).evaluate({"qty": 1}) == 1

    recurse(limit // 2)


def test_long_flat_chains_are_bounded_by_tree_depth_and_size() -> None:
    with pytest.raises(ExpressionSyntaxError, match="too deeply structured"):
        parse(" + ".join(["1"] * 150))
    with pytest.raises(ExpressionSyntaxError, match="too large"):
        parse("[" + ",".join(["1"] * 1500) + "]")
    # and/or chains are flattened, so long conditions stay shallow
    assert len(parse(" and ".join(["true"] * 400)).operands) == 400  # type: ignore[attr-defined]


def test_huge_list_literal_is_refused() -> None:
    with pytest.raises(ExpressionSyntaxError):
        parse("[" + ",".join(["1"] * 100_000) + "]")


def test_text_growth_is_stopped_at_evaluation() -> None:
    env = TypeEnv({"s": T.TEXT})
    doubling = "s"
    for _ in range(8):
        doubling = f"({doubling} + {doubling})"
    compiled = compile_expression(doubling, env)
    with pytest.raises(ExpressionRuntimeError, match="too long"):
        compiled.evaluate({"s": "x" * 100})
    with pytest.raises(ExpressionRuntimeError, match="too long"):
        compile_expression("concat(s, s, s, s)", env).evaluate({"s": "x" * 3000})
    with pytest.raises(ExpressionRuntimeError, match="too long"):
        compile_expression("upper(s)", env).evaluate({"s": "ß" * 6000})


def test_number_growth_is_bounded_by_the_decimal_context() -> None:
    env = TypeEnv({"d": T.DECIMAL})
    product = " * ".join(["d"] * 60)
    with pytest.raises(ExpressionRuntimeError, match="out of range"):
        compile_expression(product, env).evaluate({"d": Decimal("1e30")})
    # precision is bounded too: 1/3 has 38 significant digits, not unbounded
    third = compile_expression("1 / 3", env).evaluate({})
    assert len(third.as_tuple().digits) == 38


def test_bad_runtime_data_gives_an_expression_error() -> None:
    compiled = compile_expression("qty > 1 and category == 'a'", TypeEnv(FIELDS))
    with pytest.raises(ExpressionRuntimeError):
        compiled.evaluate({"qty": "three", "category": "a"})
    with pytest.raises(ExpressionRuntimeError):
        compile_expression("total + 1", TypeEnv(FIELDS)).evaluate({"total": 1.5})
    with pytest.raises(ExpressionRuntimeError):
        compile_expression("lines[0].amount", TypeEnv(FIELDS)).evaluate({"lines": [5]})
    with pytest.raises(ExpressionRuntimeError, match="not a date"):
        compile_expression("date(category)", TypeEnv(FIELDS)).evaluate({"category": "31/05/2024"})
    with pytest.raises(ExpressionRuntimeError, match="out of range"):
        compile_expression("add_days(start, 10000000)", TypeEnv(FIELDS)).evaluate({"start": date.today()})
    with pytest.raises(ExpressionRuntimeError, match="round"):
        compile_expression("round(total, 500)", TypeEnv(FIELDS)).evaluate({"total": Decimal(1)})


def test_a_failing_plugin_function_becomes_a_runtime_error() -> None:
    from formwork.expressions import FunctionSpec, builtin_functions

    def broken(value: object) -> object:
        raise KeyError("boom")

    functions = builtin_functions()
    functions["broken"] = FunctionSpec("broken", lambda args: T.TEXT, broken)
    compiled = compile_expression("broken(category)", TypeEnv(FIELDS), functions)
    with pytest.raises(ExpressionRuntimeError, match="broken\\(\\) failed") as caught:
        compiled.evaluate({"category": "x"})
    assert caught.value.position == 0
    functions["bad_rule"] = FunctionSpec("bad_rule", lambda args: 1 / 0, broken)
    with pytest.raises(ExpressionTypeError, match="could not check"):
        compile_expression("bad_rule()", TypeEnv(FIELDS), functions)


def test_non_text_source_is_refused() -> None:
    with pytest.raises(ExpressionError):
        parse(b"1 + 1")  # type: ignore[arg-type]
