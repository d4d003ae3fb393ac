"""The built-in functions of the expression language.

Each is a ``FunctionSpec``; ``register_builtins(registry)`` adds them to the plugin
registry (so plugins extend the same table), and ``builtin_functions()`` gives the
table on its own for code that runs outside an application.
"""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from functools import lru_cache
from typing import Any, Callable, Iterable, Mapping, Sequence

from .. import business_time
from . import value_types as T
from .errors import ExpressionRuntimeError
from .limits import DECIMAL_CONTEXT as CTX
from .limits import DEFAULT_LIMITS
from .runtime import context_value, date_from_text, round_value, to_text
from .spec import ArgumentError, FunctionSpec, arity, expect, list_item
from .sql_builtins import SQL_TRANSLATORS

_ZERO = Decimal(0)


def _numeric(t: T.Type) -> bool:
    return t in T.NUMERIC


def _ordered(t: T.Type) -> bool:
    return t in T.ORDERED


def _text(t: T.Type) -> bool:
    return t == T.TEXT


def _boolean(t: T.Type) -> bool:
    return t == T.BOOLEAN


def _dateish(t: T.Type) -> bool:
    return t in (T.DATE, T.DATETIME)


def _scalar(t: T.Type) -> bool:
    return isinstance(t, T.Scalar)


def _anything(t: T.Type) -> bool:
    return True


def _is_decimal_type(t: T.Type) -> bool:
    return t in (T.DECIMAL, T.MONEY)


def _present(values: Iterable[Any] | None) -> list[Any]:
    return [] if values is None else [v for v in values if v is not None]


# -- aggregates ----------------------------------------------------------------------------
def _sum_rule(args: Sequence[T.Type]) -> T.Type:
    arity(args, "sum", 1)
    item = list_item(args, 0, "sum", _numeric, "numbers")
    return T.INTEGER if item == T.NULL else item


def _sum_for(arg_types: Sequence[T.Type], result: T.Type) -> Callable[[Any], Any]:
    if _is_decimal_type(result):

        def decimal_sum(values: Any) -> Decimal:
            total = _ZERO
            for v in _present(values):
                total = CTX.add(total, v)
            return total

        return decimal_sum
    return lambda values: sum(_present(values))


def _count_rule(args: Sequence[T.Type]) -> T.Type:
    arity(args, "count", 1)
    list_item(args, 0, "count", _anything, "values")
    return T.INTEGER


def _avg_rule(args: Sequence[T.Type]) -> T.Type:
    arity(args, "avg", 1)
    item = list_item(args, 0, "avg", _numeric, "numbers")
    return T.MONEY if item == T.MONEY else T.DECIMAL


def _avg(values: Any) -> Decimal | None:
    present = _present(values)
    if not present:
        return None
    total = _ZERO
    for v in present:
        total = CTX.add(total, v)
    return CTX.divide(total, len(present))


def _extreme_rule(name: str) -> Callable[[Sequence[T.Type]], T.Type]:
    def rule(args: Sequence[T.Type]) -> T.Type:
        arity(args, name, 1, -1)
        if len(args) == 1:
            item = list_item(args, 0, name, _ordered, "numbers, text or dates")
            return item
        result: T.Type = T.NULL
        for i, t in enumerate(args):
            expect(args, i, name, _ordered, "a number, text or a date")
            unified = T.unify(result, t)
            if unified is None:
                raise ArgumentError(f"{name}() cannot mix {result.describe()} and {t.describe()}", i)
            result = unified
        return result

    return rule


def _extreme(pick: Callable[..., Any]) -> Callable[..., Any]:
    def impl(*args: Any) -> Any:
        values = _present(args[0]) if len(args) == 1 else _present(args)
        return pick(values) if values else None

    return impl


def _bool_list_rule(name: str) -> Callable[[Sequence[T.Type]], T.Type]:
    def rule(args: Sequence[T.Type]) -> T.Type:
        arity(args, name, 1)
        list_item(args, 0, name, _boolean, "true/false values")
        return T.BOOLEAN

    return rule


# -- numbers -------------------------------------------------------------------------------
def _round_rule(args: Sequence[T.Type]) -> T.Type:
    arity(args, "round", 1, 2)
    t = expect(args, 0, "round", _numeric, "a number")
    if len(args) == 2:
        expect(args, 1, "round", lambda a: a == T.INTEGER, "a whole number of decimal places")
    return T.INTEGER if t == T.NULL else t


def _same_numeric_rule(name: str) -> Callable[[Sequence[T.Type]], T.Type]:
    def rule(args: Sequence[T.Type]) -> T.Type:
        arity(args, name, 1)
        t = expect(args, 0, name, _numeric, "a number")
        return T.INTEGER if t == T.NULL else t

    return rule


def _abs(value: Any) -> Any:
    return CTX.abs(value) if isinstance(value, Decimal) else abs(value)


def _floor_ceil_rule(name: str) -> Callable[[Sequence[T.Type]], T.Type]:
    def rule(args: Sequence[T.Type]) -> T.Type:
        arity(args, name, 1)
        t = expect(args, 0, name, _numeric, "a number")
        return T.MONEY if t == T.MONEY else T.INTEGER

    return rule


def _floor_ceil_for(rounding: str) -> Callable[[Sequence[T.Type], T.Type], Callable[[Any], Any]]:
    def specialise(arg_types: Sequence[T.Type], result: T.Type) -> Callable[[Any], Any]:
        def impl(value: Any) -> Any:
            if isinstance(value, int):
                return value if result != T.MONEY else Decimal(value)
            integral = value.to_integral_value(rounding=rounding, context=CTX)
            return integral if result == T.MONEY else int(integral)

        return impl

    return specialise


# -- text ----------------------------------------------------------------------------------
def _text_rule(name: str, count: int, result: T.Type) -> Callable[[Sequence[T.Type]], T.Type]:
    def rule(args: Sequence[T.Type]) -> T.Type:
        arity(args, name, count)
        for i in range(count):
            expect(args, i, name, _text, "text")
        return result

    return rule


def _len_rule(args: Sequence[T.Type]) -> T.Type:
    arity(args, "len", 1)
    expect(args, 0, "len", lambda t: t == T.TEXT or isinstance(t, T.ListOf), "text or a list")
    return T.INTEGER


def _contains_rule(args: Sequence[T.Type]) -> T.Type:
    arity(args, "contains", 2)
    first = expect(args, 0, "contains", lambda t: t == T.TEXT or isinstance(t, T.ListOf), "text or a list")
    if isinstance(first, T.ListOf):
        if not T.comparable(first.item, args[1], ordering=False):
            raise ArgumentError(f"contains() cannot look for {args[1].describe()} in a {first.describe()}", 1)
    else:
        expect(args, 1, "contains", _text, "text")
    return T.BOOLEAN


def _concat_rule(args: Sequence[T.Type]) -> T.Type:
    arity(args, "concat", 1, -1)
    for i in range(len(args)):
        expect(args, i, "concat", _scalar, "a single value (not a list or record)")
    return T.TEXT


def _concat(*values: Any) -> str:
    parts: list[str] = []
    length = 0
    for v in values:
        text = to_text(v)
        if text:
            length += len(text)
            if length > DEFAULT_LIMITS.max_text_result:
                raise ExpressionRuntimeError(
                    f"the text result is too long (more than {DEFAULT_LIMITS.max_text_result} characters)"
                )
            parts.append(text)
    return "".join(parts)


def _to_text_rule(args: Sequence[T.Type]) -> T.Type:
    arity(args, "text", 1)
    expect(args, 0, "text", _scalar, "a single value (not a list or record)")
    return T.TEXT


# -- logic ---------------------------------------------------------------------------------
def _coalesce_rule(args: Sequence[T.Type]) -> T.Type:
    arity(args, "coalesce", 1, -1)
    result: T.Type = T.NULL
    for i, t in enumerate(args):
        unified = T.unify(result, t)
        if unified is None:
            raise ArgumentError(f"coalesce() cannot mix {result.describe()} and {t.describe()}", i)
        result = unified
    return result


def _coalesce(*thunks: Callable[[], Any]) -> Any:
    for thunk in thunks:
        value = thunk()
        if value is not None:
            return value
    return None


def _if_rule(args: Sequence[T.Type]) -> T.Type:
    arity(args, "if", 3)
    expect(args, 0, "if", _boolean, "a condition (true/false)")
    result = T.unify(args[1], args[2])
    if result is None:
        raise ArgumentError(
            f"both branches of if() must have the same type, not {args[1].describe()} and "
            f"{args[2].describe()}",
            2,
        )
    return result


def _if(condition: Callable[[], Any], then: Callable[[], Any], otherwise: Callable[[], Any]) -> Any:
    # A null condition counts as false, like every condition in the language.
    return then() if condition() is True else otherwise()


def _is_empty_rule(args: Sequence[T.Type]) -> T.Type:
    arity(args, "is_empty", 1)
    return T.BOOLEAN


def _is_empty(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, (list, tuple)):
        return not value
    return False


# -- dates ---------------------------------------------------------------------------------
def _no_args_rule(name: str, result: T.Type) -> Callable[[Sequence[T.Type]], T.Type]:
    def rule(args: Sequence[T.Type]) -> T.Type:
        arity(args, name, 0)
        return result

    return rule


def _date_rule(args: Sequence[T.Type]) -> T.Type:
    arity(args, "date", 1)
    expect(args, 0, "date", lambda t: t in (T.TEXT, T.DATE, T.DATETIME), "text like '2024-05-31' or a date")
    return T.DATE


def _date(value: Any) -> date:
    if isinstance(value, datetime):
        return _as_date(value)
    if isinstance(value, date):
        return value
    return date_from_text(str(value))


def _date_part_rule(name: str) -> Callable[[Sequence[T.Type]], T.Type]:
    def rule(args: Sequence[T.Type]) -> T.Type:
        arity(args, name, 1)
        expect(args, 0, name, _dateish, "a date")
        return T.INTEGER

    return rule


def _add_days_rule(args: Sequence[T.Type]) -> T.Type:
    arity(args, "add_days", 2)
    t = expect(args, 0, "add_days", _dateish, "a date")
    expect(args, 1, "add_days", lambda a: a == T.INTEGER, "a whole number of days")
    return T.DATE if t == T.NULL else t


def _add_days(value: date, days: int) -> date:
    try:
        return value + timedelta(days=days)
    except OverflowError:
        raise ExpressionRuntimeError("the date is out of range (years 1 to 9999)") from None


def _days_between_rule(args: Sequence[T.Type]) -> T.Type:
    arity(args, "days_between", 2)
    expect(args, 0, "days_between", _dateish, "a date")
    expect(args, 1, "days_between", _dateish, "a date")
    return T.INTEGER


def _as_date(value: date) -> date:
    """The calendar day of a date-time is its business day (stored instants are UTC)."""
    if isinstance(value, datetime):
        return business_time.local_date(value) if value.tzinfo is not None else value.date()
    return value


def _spec(
    name: str,
    rule: Callable[[Sequence[T.Type]], T.Type],
    python: Callable[..., Any],
    signature: str,
    en: str,
    zh: str,
    examples: Sequence[tuple[str, str]] = (),
    **options: Any,
) -> FunctionSpec:
    options.setdefault("sql", SQL_TRANSLATORS.get(name))
    return FunctionSpec(
        name=name,
        type_rule=rule,
        python=python,
        doc={"en": en, "zh-CN": zh},
        signature=signature,
        examples=tuple(examples),
        **options,
    )


def _builtin_specs() -> list[FunctionSpec]:
    return [
        _spec(
            "sum",
            _sum_rule,
            lambda values: sum(_present(values)),
            "sum(list of numbers) → number",
            "Total of the values, skipping nulls; 0 for an empty list.",
            "求和，忽略空值；空列表为 0。",
            [("sum(lines.amount)", "total of the line amounts")],
            null_propagates=False,
            specialise=_sum_for,
        ),
        _spec(
            "count",
            _count_rule,
            lambda values: len(_present(values)),
            "count(list) → integer",
            "Number of values that are not null (rows for a line-items field).",
            "非空值的个数（明细字段为行数）。",
            [("count(lines)", "number of rows")],
            null_propagates=False,
        ),
        _spec(
            "avg",
            _avg_rule,
            _avg,
            "avg(list of numbers) → decimal",
            "Average of the values, skipping nulls; null for an empty list.",
            "平均值，忽略空值；空列表为空值。",
            [("avg(lines.amount)", "average line amount")],
            null_propagates=False,
        ),
        _spec(
            "min",
            _extreme_rule("min"),
            _extreme(min),
            "min(list) or min(a, b, ...) → same type",
            "Smallest value, skipping nulls.",
            "最小值，忽略空值。",
            [("min(lines.date)", "earliest line date"), ("min(total, 5000)", "the smaller of the two")],
            null_propagates=False,
        ),
        _spec(
            "max",
            _extreme_rule("max"),
            _extreme(max),
            "max(list) or max(a, b, ...) → same type",
            "Largest value, skipping nulls.",
            "最大值，忽略空值。",
            [("max(lines.amount)", "largest line amount")],
            null_propagates=False,
        ),
        _spec(
            "any",
            _bool_list_rule("any"),
            lambda values: any(v is True for v in _present(values)),
            "any(list of booleans) → boolean",
            "True when at least one value is true (nulls skipped).",
            "任一为真则为真（忽略空值）。",
            [("any(lines.reimbursable)", "")],
            null_propagates=False,
        ),
        _spec(
            "all",
            _bool_list_rule("all"),
            lambda values: all(v is True for v in _present(values)),
            "all(list of booleans) → boolean",
            "True when no value is false (nulls skipped; true for none).",
            "全部为真则为真（忽略空值；空列表为真）。",
            [("all(lines.has_invoice)", "")],
            null_propagates=False,
        ),
        _spec(
            "round",
            _round_rule,
            round_value,
            "round(number, places = 0) → same type",
            "Round half up (away from zero) to the given decimal places, as in finance.",
            "四舍五入到指定小数位（财务口径）。",
            [("round(2.345, 2)", "2.35"), ("round(-2.5)", "-3")],
        ),
        _spec(
            "abs",
            _same_numeric_rule("abs"),
            _abs,
            "abs(number) → same type",
            "Absolute value.",
            "绝对值。",
            [("abs(-3)", "3")],
        ),
        _spec(
            "floor",
            _floor_ceil_rule("floor"),
            lambda v: math.floor(v),
            "floor(number) → integer (money stays money)",
            "Largest whole number not above the value.",
            "向下取整。",
            [("floor(2.7)", "2"), ("floor(-2.1)", "-3")],
            specialise=_floor_ceil_for(ROUND_FLOOR),
        ),
        _spec(
            "ceil",
            _floor_ceil_rule("ceil"),
            lambda v: math.ceil(v),
            "ceil(number) → integer (money stays money)",
            "Smallest whole number not below the value.",
            "向上取整。",
            [("ceil(2.1)", "3")],
            specialise=_floor_ceil_for(ROUND_CEILING),
        ),
        _spec(
            "len",
            _len_rule,
            len,
            "len(text or list) → integer",
            "Number of characters (or list items).",
            "字符数（或列表项数）。",
            [("len(reason) >= 10", "")],
        ),
        _spec(
            "upper",
            _text_rule("upper", 1, T.TEXT),
            str.upper,
            "upper(text) → text",
            "Upper case.",
            "转大写。",
            [("upper('ab')", "'AB'")],
        ),
        _spec(
            "lower",
            _text_rule("lower", 1, T.TEXT),
            str.lower,
            "lower(text) → text",
            "Lower case.",
            "转小写。",
            [("lower('AB')", "'ab'")],
        ),
        _spec(
            "trim",
            _text_rule("trim", 1, T.TEXT),
            str.strip,
            "trim(text) → text",
            "Remove spaces (including full-width spaces) at both ends.",
            "去掉首尾空白（含全角空格）。",
            [("trim('  a ')", "'a'")],
        ),
        _spec(
            "contains",
            _contains_rule,
            lambda where, what: what in where,
            "contains(text, part) → boolean",
            "True when the text contains the part (or the list contains the value).",
            "文本包含子串（或列表包含该值）时为真。",
            [("contains(reason, 'urgent')", "")],
        ),
        _spec(
            "startswith",
            _text_rule("startswith", 2, T.BOOLEAN),
            str.startswith,
            "startswith(text, prefix) → boolean",
            "True when the text starts with the prefix.",
            "以指定前缀开头时为真。",
            [("startswith(invoice_no, 'INV')", "")],
        ),
        _spec(
            "endswith",
            _text_rule("endswith", 2, T.BOOLEAN),
            str.endswith,
            "endswith(text, suffix) → boolean",
            "True when the text ends with the suffix.",
            "以指定后缀结尾时为真。",
            [("endswith(email, '.cn')", "")],
        ),
        _spec(
            "concat",
            _concat_rule,
            _concat,
            "concat(value, ...) → text",
            "Join values as text; nulls count as empty text.",
            "拼接为文本，空值视为空串。",
            [("concat(code, '-', year($today))", "'EX-2024'")],
            null_propagates=False,
        ),
        _spec(
            "text",
            _to_text_rule,
            to_text,
            "text(value) → text",
            "The value as text: 12.50, 2024-05-31, true.",
            "转为文本：12.50、2024-05-31、true。",
            [("text(total)", "'1234.50'")],
        ),
        _spec(
            "coalesce",
            _coalesce_rule,
            _coalesce,
            "coalesce(a, b, ...) → common type",
            "The first value that is not null.",
            "返回第一个非空值。",
            [("coalesce(discount, 0)", "")],
            null_propagates=False,
            lazy=True,
        ),
        _spec(
            "if",
            _if_rule,
            _if,
            "if(condition, then, otherwise) → common type",
            "Then-value when the condition is true, otherwise-value when false or null.",
            "条件为真取第二个参数，否则（含空值）取第三个。",
            [("if(total > 1000, 'high', 'low')", "")],
            null_propagates=False,
            lazy=True,
        ),
        _spec(
            "is_empty",
            _is_empty_rule,
            _is_empty,
            "is_empty(value) → boolean",
            "True for null, blank text and an empty list.",
            "空值、空白文本、空列表为真。",
            [("is_empty(remark)", "")],
            null_propagates=False,
        ),
        _spec(
            "today",
            _no_args_rule("today", T.DATE),
            lambda ctx: context_value(ctx, "today"),
            "today() → date",
            "Today's date (the same as $today).",
            "今天的日期（同 $today）。",
            [("today()", "")],
            needs_context=True,
        ),
        _spec(
            "now",
            _no_args_rule("now", T.DATETIME),
            lambda ctx: context_value(ctx, "now"),
            "now() → datetime",
            "The current date and time (the same as $now).",
            "当前日期时间（同 $now）。",
            [("now()", "")],
            needs_context=True,
        ),
        _spec(
            "date",
            _date_rule,
            _date,
            "date(text) → date",
            "A date from text written YYYY-MM-DD.",
            "把 YYYY-MM-DD 格式的文本转为日期。",
            [("date('2024-05-31')", "")],
        ),
        _spec(
            "year",
            _date_part_rule("year"),
            lambda d: d.year,
            "year(date) → integer",
            "The year of a date.",
            "日期的年份。",
            [("year($today)", "2024")],
        ),
        _spec(
            "month",
            _date_part_rule("month"),
            lambda d: d.month,
            "month(date) → integer",
            "The month of a date (1–12).",
            "日期的月份（1–12）。",
            [("month(date('2024-05-31'))", "5")],
        ),
        _spec(
            "day",
            _date_part_rule("day"),
            lambda d: d.day,
            "day(date) → integer",
            "The day of the month (1–31).",
            "日期的日（1–31）。",
            [("day(date('2024-05-31'))", "31")],
        ),
        _spec(
            "add_days",
            _add_days_rule,
            _add_days,
            "add_days(date, days) → date",
            "The date so many days later (earlier if negative).",
            "加上天数（负数为向前）。",
            [("add_days($today, 30)", "")],
        ),
        _spec(
            "days_between",
            _days_between_rule,
            lambda a, b: (_as_date(b) - _as_date(a)).days,
            "days_between(start, end) → integer",
            "Whole days from start to end (negative if end is earlier).",
            "从开始到结束的天数（结束更早则为负）。",
            [("days_between(start_date, end_date) + 1", "")],
        ),
    ]


@lru_cache(maxsize=1)
def _table() -> tuple[FunctionSpec, ...]:
    return tuple(_builtin_specs())


def builtin_functions() -> dict[str, FunctionSpec]:
    """The built-in function table, name → spec (a fresh dict each call; specs are shared)."""
    return {spec.name: spec for spec in _table()}


def register_builtins(registry: Any) -> None:
    """Add every built-in function to a ``PluginRegistry`` (``registry.add_function``)."""
    for spec in _table():
        registry.add_function(spec)


def function_table(functions: Mapping[str, FunctionSpec] | None) -> Mapping[str, FunctionSpec]:
    """``functions`` as given, or the built-ins when ``None``."""
    return builtin_functions() if functions is None else functions
