"""Exact decimals for SQLite: the SQL functions the SQL back end calls there.

SQLite has no decimal type — ``CAST('0.1' AS NUMERIC)`` is a binary float, and
``0.1 + 0.2 = 0.3`` is false there. So on SQLite a decimal or money value travels
through SQL as canonical decimal text (``'12.50'``), and the arithmetic, comparisons,
rounding and aggregates on it are application-defined SQL functions registered on every
connection. They run inside the database's own evaluation of the query (a filter still
narrows, counts and pages in SQL), and they use the same decimal context and the same
implementations as the Python back end, so both give the same digits.

``install_sqlite_functions(engine)`` registers them on each new connection of an engine;
without it a query that needs them fails loudly with "no such function: fw_...".
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timezone
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, DecimalException, InvalidOperation
from typing import Any, Callable
from zoneinfo import ZoneInfo

from sqlalchemy import event
from sqlalchemy.engine import Engine

from .errors import ExpressionRuntimeError
from .limits import DECIMAL_CONTEXT as CTX
from .runtime import round_value

INSTANT_FORMAT = "%Y-%m-%d %H:%M:%S.%f"


def to_decimal(raw: Any) -> Decimal | None:
    """A decimal from what SQLite hands over: canonical text, a JSON fragment (``"12.50"``,
    ``12.5``, ``null``) or an integer. Floats are refused: they are already inexact."""
    if raw is None:
        return None
    if isinstance(raw, bool):
        raise ExpressionRuntimeError("a true/false value is not a number")
    if isinstance(raw, int):
        return Decimal(raw)
    if isinstance(raw, float):
        raise ExpressionRuntimeError("a binary floating-point value reached a decimal operation")
    text = raw.decode() if isinstance(raw, bytes) else str(raw)
    text = text.strip()
    if text == "null":
        return None
    if text.startswith('"'):
        text = json.loads(text).strip()
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ExpressionRuntimeError(f"{text[:30]!r} is not a number") from None
    if not value.is_finite():
        raise ExpressionRuntimeError(f"{text[:30]!r} is not a number")
    return value


def decimal_text(value: Decimal | int | None) -> str | None:
    """The canonical text of a decimal: plain notation, trailing zeros kept (``12.50``)."""
    if value is None:
        return None
    return format(value, "f")


def instant_text(raw: Any) -> str | None:
    """An instant as sortable UTC text; naive values were stored as UTC (SQLAlchemy's format)."""
    if raw is None:
        return None
    return _instant(raw).strftime(INSTANT_FORMAT)


def local_date_text(raw: Any, zone_name: str) -> str | None:
    """``fw_local_date(instant, zone)``: the instant's calendar day in ``zone`` (PostgreSQL:
    ``timezone(zone, instant)::date``), for placing stored instants on business days."""
    if raw is None:
        return None
    return _instant(raw).astimezone(ZoneInfo(zone_name)).date().isoformat()


def _instant(raw: Any) -> datetime:
    if isinstance(raw, datetime):
        moment = raw
    else:
        text = str(raw).strip()
        if text.endswith("Z"):
            text = text[:-1] + "+00:00"
        moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def _binary(op: Callable[[Decimal, Decimal], Decimal], zero_is_null: bool = False) -> Callable[..., Any]:
    def fn(a: Any, b: Any) -> str | None:
        x, y = to_decimal(a), to_decimal(b)
        if x is None or y is None:
            return None
        if zero_is_null and y == 0:
            return None
        try:
            return decimal_text(op(x, y))
        except DecimalException:
            raise ExpressionRuntimeError("the number is out of range (more than 38 digits)") from None

    return fn


def _compare(a: Any, b: Any) -> int | None:
    x, y = to_decimal(a), to_decimal(b)
    if x is None or y is None:
        return None
    return (x > y) - (x < y)


def _negate(a: Any) -> str | None:
    x = to_decimal(a)
    return None if x is None else decimal_text(CTX.minus(x))


def _abs(a: Any) -> str | None:
    x = to_decimal(a)
    return None if x is None else decimal_text(CTX.abs(x))


def _round(a: Any, places: int) -> str | None:
    # The built-in round() itself, so half-up rounding and the places limit are the same.
    x = to_decimal(a)
    return None if x is None else decimal_text(round_value(x, places))


def _integral(rounding: str) -> Callable[[Any], str | None]:
    def fn(a: Any) -> str | None:
        x = to_decimal(a)
        return None if x is None else decimal_text(x.to_integral_value(rounding=rounding, context=CTX))

    return fn


def _extreme(pick: Callable[..., Any]) -> Callable[..., Any]:
    """``fw_greatest(kind, a, b, ...)``: nulls skipped (SQLite's own max(a, b) gives null)."""

    def fn(kind: str, *args: Any) -> Any:
        if kind == "decimal":
            values = [v for v in (to_decimal(a) for a in args) if v is not None]
            return decimal_text(pick(values)) if values else None
        present = [a for a in args if a is not None]
        return pick(present) if present else None

    return fn


class _DecimalSum:
    def __init__(self) -> None:
        self.total = Decimal(0)

    def step(self, value: Any) -> None:
        x = to_decimal(value)
        if x is not None:
            self.total = CTX.add(self.total, x)

    def finalize(self) -> str | None:
        return decimal_text(self.total)


class _DecimalAvg:
    def __init__(self) -> None:
        self.total = Decimal(0)
        self.count = 0

    def step(self, value: Any) -> None:
        x = to_decimal(value)
        if x is not None:
            self.total = CTX.add(self.total, x)
            self.count += 1

    def finalize(self) -> str | None:
        return decimal_text(CTX.divide(self.total, self.count)) if self.count else None


class _DecimalExtreme:
    larger = True

    def __init__(self) -> None:
        self.best: Decimal | None = None

    def step(self, value: Any) -> None:
        x = to_decimal(value)
        if x is not None and (self.best is None or (x > self.best) == self.larger and x != self.best):
            self.best = x

    def finalize(self) -> str | None:
        return decimal_text(self.best)


class _DecimalMin(_DecimalExtreme):
    larger = False


class _DiscretePercentile:
    """``fw_pdisc(value, fraction)``: PostgreSQL's ``percentile_disc(fraction) WITHIN GROUP (ORDER
    BY value)`` — the first value whose position in the ordering reaches the fraction — with the
    same row arithmetic (``ceil(fraction * count)`` in double precision), so both give one answer."""

    def __init__(self) -> None:
        self.values: list[Decimal] = []
        self.fraction = 0.0

    def step(self, value: Any, fraction: Any) -> None:
        x = to_decimal(value)
        if x is not None:
            self.values.append(x)
            self.fraction = float(fraction)

    def finalize(self) -> str | None:
        if not self.values:
            return None
        self.values.sort()
        row = max(math.ceil(self.fraction * len(self.values)), 1)
        return decimal_text(self.values[row - 1])


SCALAR_FUNCTIONS: dict[str, tuple[int, Callable[..., Any]]] = {
    "fw_dec": (1, lambda a: decimal_text(to_decimal(a))),
    "fw_add": (2, _binary(CTX.add)),
    "fw_sub": (2, _binary(CTX.subtract)),
    "fw_mul": (2, _binary(CTX.multiply)),
    "fw_div": (2, _binary(CTX.divide, zero_is_null=True)),
    "fw_mod": (2, _binary(CTX.remainder, zero_is_null=True)),
    "fw_neg": (1, _negate),
    "fw_abs": (1, _abs),
    "fw_cmp": (2, _compare),
    "fw_round": (2, _round),
    "fw_floor": (1, _integral(ROUND_FLOOR)),
    "fw_ceil": (1, _integral(ROUND_CEILING)),
    "fw_greatest": (-1, _extreme(max)),
    "fw_least": (-1, _extreme(min)),
    "fw_instant": (1, instant_text),
    "fw_local_date": (2, local_date_text),
}
AGGREGATES: dict[str, type] = {
    "fw_dsum": _DecimalSum,
    "fw_davg": _DecimalAvg,
    "fw_dmax": _DecimalExtreme,
    "fw_dmin": _DecimalMin,
}
# Aggregates of two arguments (the value and a constant).
AGGREGATES_2: dict[str, type] = {"fw_pdisc": _DiscretePercentile}


def register_sqlite_functions(connection: Any) -> None:
    """Register every ``fw_*`` function on one DB-API ``sqlite3`` connection."""
    for name, (arity, fn) in SCALAR_FUNCTIONS.items():
        connection.create_function(name, arity, fn, deterministic=True)
    for name, aggregate in AGGREGATES.items():
        connection.create_aggregate(name, 1, aggregate)
    for name, aggregate in AGGREGATES_2.items():
        connection.create_aggregate(name, 2, aggregate)


def install_sqlite_functions(engine: Engine) -> None:
    """Register the functions on every connection ``engine`` opens from now on (SQLite only)."""
    if engine.dialect.name == "sqlite" and not event.contains(engine, "connect", _on_connect):
        event.listen(engine, "connect", _on_connect)


def _on_connect(dbapi_connection: Any, connection_record: Any) -> None:
    register_sqlite_functions(dbapi_connection)
