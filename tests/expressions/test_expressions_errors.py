"""Syntax and type errors: each names a position and says what is wrong."""

from __future__ import annotations

import pytest

from formwork.expressions import (
    ExpressionError,
    ExpressionSyntaxError,
    ExpressionTypeError,
    T,
    TypeEnv,
    check,
    compile_expression,
    parse,
)

from .cases import FIELDS, ROW

ENV = TypeEnv(FIELDS)


@pytest.mark.parametrize(
    "source, position, fragment",
    [
        ("", 0, "empty"),
        ("total >", 7, "ends too early"),
        ("(total > 1", 10, "expected ')'"),
        ("total > 1)", 9, "unexpected ')'"),
        ("total = 1", 6, "use =="),
        ("a && b", 2, "use 'and'"),
        ("a || b", 2, "use 'or'"),
        ("!a", 0, "use 'not'"),
        ("1 < a < 3", 6, "cannot be chained"),
        ("'open", 0, "not closed"),
        ("'bad \\q escape'", 5, "unknown escape"),
        ("12abc", 2, "must not run into a name"),
        ("1e10", 1, "must not run into a name"),
        ("007", 0, "must not start with 0"),
        ("lines[-1]", 6, "whole number"),
        ("lines[a]", 6, "whole number"),
        ("x is 5", 5, "'is' may only be followed by null"),
        ("total ? 1 : 2", 6, "unexpected character"),
        ("{'a': 1}", 0, "dictionaries"),
        ("a; b", 1, "single formula"),
        ("[1, 2", 5, "expected ']'"),
        ("f(1,)", 4, "unexpected ')'"),
        ("$", 0, "context name"),
        ("a.", 2, "field name"),
        ("1 +* 2", 3, "unexpected '*'"),
        ("a // 2", 2, "floor"),
        ("1" * 39, 0, "too many digits"),
        ("x # comment", 2, "comments"),
    ],
)
def test_syntax_errors_have_positions(source: str, position: int, fragment: str) -> None:
    with pytest.raises(ExpressionSyntaxError) as caught:
        parse(source)
    error = caught.value
    assert error.position == position, str(error)
    assert fragment in error.message
    assert f"at position {position}" in str(error)


def test_errors_from_compile_carry_the_source_and_a_caret_snippet() -> None:
    with pytest.raises(ExpressionSyntaxError) as caught:
        compile_expression("total >= 5 and", ENV)
    assert caught.value.source == "total >= 5 and"
    assert caught.value.snippet().splitlines() == ["total >= 5 and", " " * 14 + "^"]


@pytest.mark.parametrize(
    "source, position, fragment",
    [
        ("totl > 5", 0, "unknown field 'totl'; did you mean 'total'?"),
        ("categroy == 'x'", 0, "did you mean 'category'?"),
        ("lines.amout", 6, "unknown field 'amout'; did you mean 'amount'?"),
        ("summ(lines.amount)", 0, "unknown function 'summ'; did you mean 'sum'?"),
        ("$usr.id", 0, "unknown context value '$usr'; did you mean '$user'?"),
        ("today > start", 0, "today is a function"),
        ("user == 1", 0, "did you mean '$user'?"),
        ("True", 0, "did you mean 'true'?"),
        ("5 < 'abc'", 2, "cannot compare integer with text"),
        ("category < 5", 9, "cannot compare text with integer"),
        ("urgent < true", 7, "boolean values cannot be ordered"),
        ("start < submitted_at", 6, "cannot compare date with datetime"),
        ("owner < 3", 6, "cannot compare user with integer"),
        ("total * total", 6, "money cannot be multiplied by money"),
        ("qty / total", 4, "cannot be divided by money"),
        ("start + 1", 6, "add_days"),
        ("category - 'a'", 9, "cannot be used on text"),
        ("total + category", 6, "cannot combine money and text"),
        ("-category", 0, "'-' needs a number"),
        ("not total", 0, "'not' needs a true/false value"),
        ("total and urgent", 0, "'and' needs true/false values"),
        ("urgent or 1", 10, "'or' needs true/false values"),
        ("category in 'travel'", 9, "contains(text, part)"),
        ("qty in ['a']", 4, "cannot look for integer"),
        ("[1, 'a']", 4, "cannot mix integer and text"),
        ("category.upper", 9, "text values have no field 'upper'"),
        ("qty[0]", 3, "only lists can be indexed"),
        ("upper(qty)", 6, "argument 1 of upper() must be text, not integer"),
        ("round(total, 1.5)", 13, "whole number of decimal places"),
        ("sum(total)", 4, "must be a list of numbers"),
        ("sum(tags)", 4, "needs a list of numbers"),
        ("if(total, 1, 2)", 3, "must be a condition"),
        ("if(urgent, 1, 'a')", 14, "same type"),
        ("round()", 0, "takes 1 to 2 arguments, not 0"),
        ("len(a, b)", 4, "unknown field 'a'"),
        ("year(total)", 5, "must be a date"),
        ("coalesce(total, 'x')", 16, "cannot mix money and text"),
    ],
)
def test_type_errors_have_positions(source: str, position: int, fragment: str) -> None:
    with pytest.raises(ExpressionTypeError) as caught:
        compile_expression(source, ENV)
    assert fragment in caught.value.message
    assert caught.value.position == position, str(caught.value)


def test_expected_type_is_enforced() -> None:
    with pytest.raises(ExpressionTypeError, match="gives money, but boolean is needed"):
        compile_expression("total", ENV, expected=T.BOOLEAN)
    assert compile_expression("total > 1", ENV, expected=T.BOOLEAN).type == T.BOOLEAN
    assert compile_expression("null", ENV, expected=T.BOOLEAN).type == T.NULL
    # numbers widen to money for a computed money field, never the other way round
    assert compile_expression("qty * 2.5", ENV, expected=T.MONEY).type == T.DECIMAL
    with pytest.raises(ExpressionTypeError):
        compile_expression("total", ENV, expected=T.INTEGER)


def test_money_arithmetic_types() -> None:
    def type_of(source: str) -> T.Type:
        return check(parse(source), ENV)

    assert type_of("total + budget") == T.MONEY
    assert type_of("total - 1") == T.MONEY
    assert type_of("total * rate") == T.MONEY
    assert type_of("2 * total") == T.MONEY
    assert type_of("total / 3") == T.MONEY
    assert type_of("total / budget") == T.DECIMAL
    assert type_of("total % 2") == T.MONEY
    assert type_of("qty + 1") == T.INTEGER
    assert type_of("qty / 2") == T.DECIMAL
    assert type_of("qty + rate") == T.DECIMAL
    assert type_of("sum(lines.amount)") == T.MONEY
    assert type_of("lines.amount") == T.ListOf(T.MONEY)
    assert type_of("lines[0]") == FIELDS["lines"].item  # type: ignore[attr-defined]


def test_row_names_resolve_to_the_row_first_then_the_form() -> None:
    env = TypeEnv(FIELDS, row=ROW, row_name="lines")
    compiled = compile_expression("amount > 100 and category == 'travel'", env)
    assert compiled.row_references == frozenset({"amount"})
    assert compiled.references == frozenset({"lines.amount", "category"})
    with pytest.raises(ExpressionTypeError, match="unknown field 'kindd'; did you mean 'kind'"):
        compile_expression("kindd == 'x'", env)


def test_every_error_is_an_expression_error() -> None:
    for cls in (ExpressionSyntaxError, ExpressionTypeError):
        assert issubclass(cls, ExpressionError)
