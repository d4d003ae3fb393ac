"""SQL translations of the built-in functions (``FunctionSpec.sql``), one per function.

Each takes a ``SqlCall`` and returns a SQLAlchemy expression with the meaning the Python
implementation has (see ``sql_values`` for how values are carried). Functions without an
entry here — ``upper``/``lower`` (Python's Unicode case mapping differs from both databases'),
date parts of a date-time (the business time zone), plugin functions that declare no ``sql``
— are refused by the SQL back end with their name.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Callable

import sqlalchemy as sa

from . import nodes as N
from . import value_types as T
from .errors import ExpressionError
from .limits import DEFAULT_LIMITS
from .runtime import date_from_text
from .sql_values import (
    DECIMALS,
    PG,
    SQLITE,
    WHITESPACE,
    Sql,
    SqlCall,
    SqlList,
    elements,
    list_is_null,
    list_length,
    literal,
    null_of,
    pg_divide,
    text_order,
)

Translator = Callable[[SqlCall], Sql]


def _json_list(call: SqlCall, index: int = 0) -> SqlList:
    value = call.args[index]
    if not isinstance(value, SqlList):
        raise call.refuse("needs a list")
    if value.array is None:
        raise call.refuse("in SQL it aggregates line items and list fields only, not a written or bound list")
    return value


def _over_rows(call: SqlCall, column: Callable[[Any], Any], where: Callable[[Any], Any] | None = None) -> Sql:
    """A scalar subquery over the rows of the list argument: ``SELECT column(value) FROM rows``."""
    lst = _json_list(call)
    rows = elements(lst, call.dialect)
    # Correlated to whatever the record comes from; only the rows of the array are this query's own.
    query = sa.select(column(rows)).select_from(rows.source).correlate_except(rows.source)
    if rows.guard is not None:
        query = query.where(rows.guard)
    if where is not None:
        query = query.where(where(rows))
    return query.scalar_subquery()


def _exists(call: SqlCall, where: Callable[[Any], Any]) -> Sql:
    lst = _json_list(call)
    rows = elements(lst, call.dialect)
    query = sa.select(sa.literal(1)).select_from(rows.source).where(where(rows))
    query = query.correlate_except(rows.source)
    if rows.guard is not None:
        query = query.where(rows.guard)
    return sa.exists(query)


def _decimal_sqlite(call: SqlCall, t: T.Type) -> bool:
    return call.dialect == SQLITE and t in DECIMALS


# -- aggregates ----------------------------------------------------------------------------
def _sum(call: SqlCall) -> Sql:
    if _decimal_sqlite(call, call.type):
        # A custom aggregate over no rows gives null in SQLite; the sum of nothing is 0.
        return sa.func.coalesce(_over_rows(call, lambda r: sa.func.fw_dsum(r.value, type_=sa.String())), "0")
    return sa.func.coalesce(_over_rows(call, lambda r: sa.func.sum(r.value)), 0)


def _count(call: SqlCall) -> Sql:
    value = call.args[0]
    if isinstance(value, SqlList) and value.values is not None:
        total: Sql = sa.literal(0, sa.BigInteger())
        for item in value.values:
            total = total + sa.case((item.is_(None), 0), else_=1)
        return total
    return sa.func.coalesce(_over_rows(call, lambda r: sa.func.count(), lambda r: sa.not_(r.is_null)), 0)


def _avg(call: SqlCall) -> Sql:
    if call.dialect == SQLITE:
        return _over_rows(call, lambda r: sa.func.fw_davg(r.value, type_=sa.String()))
    return _over_rows(call, lambda r: pg_divide(sa.func.sum(r.value), sa.func.count(r.value)))


def _extreme(name: str) -> Translator:
    def translate(call: SqlCall) -> Sql:
        t = call.type
        if len(call.args) == 1:
            if _decimal_sqlite(call, t):
                return _over_rows(call, lambda r: getattr(sa.func, f"fw_d{name}")(r.value, type_=sa.String()))
            return _over_rows(call, lambda r: getattr(sa.func, name)(text_order(r.value, t, call.dialect)))
        args = [call.arg(i, t) for i, at in enumerate(call.arg_types) if at != T.NULL]
        if not args:
            return null_of(t, call.dialect)
        if call.dialect == PG:
            fn = sa.func.greatest if name == "max" else sa.func.least
            return fn(*(text_order(a, t, call.dialect) for a in args), type_=args[0].type)
        fn = sa.func.fw_greatest if name == "max" else sa.func.fw_least
        return fn("decimal" if t in DECIMALS else "plain", *args, type_=args[0].type)

    return translate


def _any(call: SqlCall) -> Sql:
    return _exists(call, lambda r: r.value == sa.true())


def _all(call: SqlCall) -> Sql:
    return sa.not_(_exists(call, lambda r: r.value == sa.false()))


# -- numbers -------------------------------------------------------------------------------
def _literal_int(node: N.Node) -> int | None:
    if isinstance(node, N.Literal) and isinstance(node.value, int) and not isinstance(node.value, bool):
        return node.value
    if isinstance(node, N.Negate):
        inner = _literal_int(node.operand)
        return None if inner is None else -inner
    return None


def _round(call: SqlCall) -> Sql:
    places = 0
    if len(call.node.args) == 2:
        given = _literal_int(call.node.args[1])
        if given is None:
            raise call.refuse("in SQL the number of decimal places must be written as a whole number")
        places = given
    limit = DEFAULT_LIMITS.max_round_places
    if abs(places) > limit:
        raise call.refuse(f"takes at most {limit} decimal places, not {places}")
    value = call.args[0]
    if call.dialect == PG:
        return sa.func.round(sa.cast(value, sa.Numeric()), places, type_=sa.Numeric())
    if call.type == T.INTEGER:
        return sa.cast(sa.func.fw_round(value, places), sa.Integer())
    return sa.func.fw_round(value, places, type_=sa.String())


def _abs(call: SqlCall) -> Sql:
    if _decimal_sqlite(call, call.type):
        return sa.func.fw_abs(call.args[0], type_=sa.String())
    return sa.func.abs(call.args[0], type_=call.args[0].type)


def _integral(name: str) -> Translator:
    def translate(call: SqlCall) -> Sql:
        value, t = call.args[0], call.arg_types[0]
        if call.dialect == PG:
            return getattr(sa.func, name)(sa.cast(value, sa.Numeric()), type_=sa.Numeric())
        if t not in DECIMALS:
            return sa.func.fw_dec(value, type_=sa.String()) if call.type in DECIMALS else value
        result = getattr(sa.func, f"fw_{name}")(value, type_=sa.String())
        return result if call.type in DECIMALS else sa.cast(result, sa.Integer())

    return translate


# -- text ----------------------------------------------------------------------------------
def _len(call: SqlCall) -> Sql:
    value = call.args[0]
    if isinstance(value, SqlList):
        return list_length(value, call.dialect)
    return sa.func.length(value, type_=sa.Integer())


def _trim(value: Sql, dialect: str) -> Sql:
    chars = sa.literal(WHITESPACE, sa.Text())
    return sa.func.btrim(value, chars) if dialect == PG else sa.func.trim(value, chars)


def _contains(call: SqlCall) -> Sql:
    where, what = call.args
    if isinstance(where, SqlList):
        found = call.helpers["member_test"](what, call.arg_types[1], where)
        unknown = sa.or_(what.is_(None), list_is_null(where, call.dialect))
        return sa.case((unknown, null_of(T.BOOLEAN, call.dialect)), else_=sa.func.coalesce(found, sa.false()))
    position = sa.func.strpos(where, what) if call.dialect == PG else sa.func.instr(where, what)
    return position > 0


def _startswith(call: SqlCall) -> Sql:
    text, prefix = call.args
    return sa.func.substr(text, 1, sa.func.length(prefix)) == prefix


def _endswith(call: SqlCall) -> Sql:
    text, suffix = call.args
    if call.dialect == PG:
        return sa.func.right(text, sa.func.length(suffix)) == suffix
    # substr(x, -0) is all of x, so the empty suffix is its own case: true, but null for a null
    # text as in Python (``text = text`` is null exactly when the text is).
    return sa.case(
        (sa.func.length(suffix) == 0, text == text),
        else_=sa.func.substr(text, -sa.func.length(suffix)) == suffix,
    )


def to_text(value: Sql, t: T.Type, call: SqlCall) -> Sql:
    """The text form the Python back end's ``to_text`` gives: ``12.50``, ``2024-05-31``, ``true``."""
    if t == T.NULL:
        return sa.null()
    if t == T.TEXT:
        return value
    if t == T.BOOLEAN:
        return sa.case((value == sa.true(), "true"), (value == sa.false(), "false"), else_=sa.null())
    if t == T.DATE:
        return sa.func.to_char(value, "YYYY-MM-DD") if call.dialect == PG else value
    if t == T.DATETIME:
        raise call.refuse("a date-time as text depends on the time zone; SQL cannot translate it")
    if t in DECIMALS and call.dialect == SQLITE:
        return value
    return sa.cast(value, sa.Text())


def _concat(call: SqlCall) -> Sql:
    parts = [
        sa.func.coalesce(to_text(v, t, call), "") for v, t in zip(call.args, call.arg_types, strict=False)
    ]
    result: Sql = parts[0]
    for part in parts[1:]:
        result = result.concat(part)
    return result


def _text(call: SqlCall) -> Sql:
    return to_text(call.args[0], call.arg_types[0], call)


# -- logic ---------------------------------------------------------------------------------
def _coalesce(call: SqlCall) -> Sql:
    args = [call.arg(i, call.type) for i, t in enumerate(call.arg_types) if t != T.NULL]
    if not args:
        return null_of(call.type, call.dialect)
    return args[0] if len(args) == 1 else sa.func.coalesce(*args, type_=args[0].type)


def _if(call: SqlCall) -> Sql:
    condition = call.args[0]
    then, otherwise = call.arg(1, call.type), call.arg(2, call.type)
    if call.arg_types[0] == T.NULL:
        return otherwise
    return sa.case((condition == sa.true(), then), else_=otherwise)


def _is_empty(call: SqlCall) -> Sql:
    value, t = call.args[0], call.arg_types[0]
    if t == T.NULL:
        return sa.true()
    if isinstance(value, SqlList):
        return sa.func.coalesce(list_length(value, call.dialect), 0) == 0
    if t == T.TEXT:
        return sa.or_(value.is_(None), _trim(value, call.dialect) == "")
    if not hasattr(value, "is_"):
        raise call.refuse("cannot test a whole record in SQL")
    return value.is_(None)


# -- dates ---------------------------------------------------------------------------------
def _clock(name: str, t: T.Type) -> Translator:
    def translate(call: SqlCall) -> Sql:
        return call.helpers["context"](name, t)

    return translate


def _only_dates(call: SqlCall) -> None:
    if T.DATETIME in call.arg_types:
        raise call.refuse(
            "the calendar day of a date-time depends on the business time zone, which SQL filters "
            "do not apply; compare date-times directly instead"
        )


def _date(call: SqlCall) -> Sql:
    t = call.arg_types[0]
    if t == T.DATE:
        return call.args[0]
    _only_dates(call)
    node = call.node.args[0]
    if not (isinstance(node, N.Literal) and isinstance(node.value, str)):
        raise call.refuse("in SQL it takes written text only, e.g. date('2024-05-31')")
    try:
        value: date = date_from_text(node.value)
    except ExpressionError as exc:
        raise call.refuse(exc.message) from None
    return literal(value, T.DATE, call.dialect)


def _date_part(part: str, sqlite_format: str) -> Translator:
    def translate(call: SqlCall) -> Sql:
        _only_dates(call)
        value = call.args[0]
        if call.dialect == PG:
            return sa.cast(sa.extract(part, value), sa.Integer())
        return sa.cast(sa.func.strftime(sqlite_format, value), sa.Integer())

    return translate


def _add_days(call: SqlCall) -> Sql:
    _only_dates(call)
    value, days = call.args
    if call.dialect == PG:
        return sa.cast(value + sa.cast(days, sa.Integer()), sa.Date())
    # printf() reads a null as 0 days; the language's add_days(d, null) is null.
    shifted = sa.func.date(value, sa.func.printf("%+d days", days), type_=sa.String())
    return sa.case((days.is_(None), sa.null()), else_=shifted)


def _days_between(call: SqlCall) -> Sql:
    _only_dates(call)
    start, end = call.args
    if call.dialect == PG:
        return sa.cast(end, sa.Date()) - sa.cast(start, sa.Date())
    return sa.cast(sa.func.round(sa.func.julianday(end) - sa.func.julianday(start)), sa.Integer())


SQL_TRANSLATORS: dict[str, Translator] = {
    "sum": _sum,
    "count": _count,
    "avg": _avg,
    "min": _extreme("min"),
    "max": _extreme("max"),
    "any": _any,
    "all": _all,
    "round": _round,
    "abs": _abs,
    "floor": _integral("floor"),
    "ceil": _integral("ceil"),
    "len": _len,
    "trim": lambda call: _trim(call.args[0], call.dialect),
    "contains": _contains,
    "startswith": _startswith,
    "endswith": _endswith,
    "concat": _concat,
    "text": _text,
    "coalesce": _coalesce,
    "if": _if,
    "is_empty": _is_empty,
    "today": _clock("today", T.DATE),
    "now": _clock("now", T.DATETIME),
    "date": _date,
    "year": _date_part("year", "%Y"),
    "month": _date_part("month", "%m"),
    "day": _date_part("day", "%d"),
    "add_days": _add_days,
    "days_between": _days_between,
}
