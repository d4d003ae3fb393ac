"""The public surface others build on: compile results, references, rows, context, the function table."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from formwork import business_time
from formwork.expressions import (
    DEFAULT_CONTEXT,
    CompiledExpression,
    ExpressionRuntimeError,
    FunctionSpec,
    T,
    TypeEnv,
    analyse,
    builtin_functions,
    compile_expression,
    nodes,
    parse,
    register_builtins,
)
from formwork.plugins import PluginError, PluginRegistry

from .cases import FIELDS, ROW

ENV = TypeEnv(FIELDS)


def test_compiled_expression_surface() -> None:
    compiled = compile_expression(
        "sum(lines.amount) >= 50000 and category == 'travel'", ENV, expected=T.BOOLEAN
    )
    assert isinstance(compiled, CompiledExpression)
    assert compiled.source.startswith("sum(")
    assert isinstance(compiled.node, nodes.Logical)
    assert compiled.type == T.BOOLEAN
    assert compiled.references == frozenset({"lines.amount", "category"})
    assert compiled.test({"lines": [{"amount": Decimal("50000")}], "category": "travel"}) is True
    assert compiled.test({"lines": [], "category": "travel"}) is False
    assert compiled.evaluate({"lines": [], "category": None}) is False  # false and null = false


def test_references_are_outermost_paths() -> None:
    compiled = compile_expression("count(lines) + len(lines[0].kind) + qty", ENV)
    assert compiled.references == frozenset({"lines", "lines.kind", "qty"})
    assert compile_expression("$user.department == dept", ENV).context_references == frozenset(
        {"$user.department"}
    )
    assert compile_expression("[1, 2][0] + 1", ENV).references == frozenset()


def test_a_condition_that_is_null_counts_as_false() -> None:
    compiled = compile_expression("total > 100", ENV, expected=T.BOOLEAN)
    assert compiled.evaluate({}) is None
    assert compiled.test({}) is False


def test_row_expressions_need_a_row() -> None:
    compiled = compile_expression("amount * qty", TypeEnv(FIELDS, row=ROW))
    assert compiled.evaluate({"qty": 100}, {"amount": Decimal("2.50"), "qty": 4}) == Decimal("10.00")
    with pytest.raises(ExpressionRuntimeError, match="no row"):
        compiled.evaluate({"qty": 4})


def test_context_accepts_keys_with_or_without_dollar_and_defaults_to_the_clock() -> None:
    compiled = compile_expression("$today", ENV)
    assert compiled.evaluate({}, None, {"today": date(2020, 1, 1)}) == date(2020, 1, 1)
    assert compiled.evaluate({}, None, {"$today": date(2021, 1, 1)}) == date(2021, 1, 1)
    assert compiled.evaluate({}) == business_time.today()  # the business day, not the machine's
    assert compile_expression("today()", ENV).evaluate({}, None, {"today": date(2020, 1, 1)}) == date(
        2020, 1, 1
    )
    assert "user" in DEFAULT_CONTEXT
    custom = TypeEnv({}, context={"$tenant": T.TEXT})
    assert compile_expression("$tenant", custom).evaluate({}, None, {"tenant": "acme"}) == "acme"


def test_analysis_gives_back_ends_types_and_bindings() -> None:
    node = parse("amount > total and sum(lines.amount) > 0")
    analysis = analyse(node, TypeEnv(FIELDS, row=ROW))
    compare = node.operands[0]  # type: ignore[attr-defined]
    assert analysis.reads_row(compare.left) and not analysis.reads_row(compare.right)
    assert analysis.type_of(compare.right) == T.MONEY
    call = node.operands[1].left  # type: ignore[attr-defined]
    assert analysis.function(call).name == "sum"
    assert "sql" in analysis.function(call).backends


def test_nodes_are_immutable_and_carry_positions() -> None:
    node = parse("qty + 1")
    assert node.pos == 4
    with pytest.raises(AttributeError):
        node.pos = 0  # type: ignore[misc]
    assert [n.pos for n in nodes.walk(node)] == [4, 0, 6]


def test_every_builtin_is_documented_in_both_languages() -> None:
    table = builtin_functions()
    expected = {
        "sum",
        "count",
        "avg",
        "min",
        "max",
        "any",
        "all",
        "round",
        "abs",
        "floor",
        "ceil",
        "len",
        "upper",
        "lower",
        "trim",
        "contains",
        "startswith",
        "concat",
        "coalesce",
        "if",
        "is_empty",
        "today",
        "now",
        "date",
        "year",
        "month",
        "day",
        "add_days",
        "days_between",
        "text",
    }
    assert expected <= set(table)
    for spec in table.values():
        assert spec.describe("en") and spec.describe("zh-CN") and spec.signature and "python" in spec.backends


def test_register_builtins_fills_a_plugin_registry_and_refuses_duplicates() -> None:
    registry = PluginRegistry()
    register_builtins(registry)
    assert set(registry.functions) == set(builtin_functions())
    with pytest.raises(PluginError, match="already registered by a built-in"):
        registry.add_function(builtin_functions()["sum"])
    # through the plugin loader a clash is reported and skipped instead
    assert registry.load_plugin("dup", lambda r: r.add_function(builtin_functions()["sum"])) is False
    assert "already registered by a built-in" in registry.failed[-1][1]


def test_plugin_functions_are_used_when_given() -> None:
    functions = builtin_functions()
    functions["double"] = FunctionSpec(
        "double", lambda args: args[0], lambda x: x * 2, {"en": "Twice.", "zh-CN": "两倍。"}
    )
    assert compile_expression("double(qty)", ENV, functions).evaluate({"qty": 4}) == 8
    assert compile_expression("double(null)", ENV, functions).evaluate({}) is None  # nulls propagate
