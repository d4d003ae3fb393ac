"""How values travel to durable-rules: exact integers and escaped text, never floats.

The engine compares JSON numbers and strings only, and compares them carelessly
(``5 < "abc"`` is true, floats near 1e300 are refused). So every value the rules
read is encoded here, by its expression type, into something the engine orders
exactly like the Python evaluator does:

* numbers (integer, decimal, money, user and department ids) become integer minor
  units at a fixed scale per type (money 2 places, decimal 6, integers 0), *doubled*:
  ``2·⌊v·10^s⌋``, plus 1 when ``v`` has digits below the scale. A literal is always
  exact (``2·L·10^s``), so an in-between value sits strictly between its neighbours and
  ``<``, ``<=``, ``==`` against any literal answer exactly as on the exact decimal.
  Values are clamped to ±2^53; literals must lie strictly inside, so clamping never
  changes an answer;
* dates become their ordinal day, aware date-times microseconds since 1970 (UTC);
* text stays text with U+0000 and U+0001 escaped (the engine's C strings stop at
  U+0000); the escape keeps code-point order;
* booleans and every projected true/false value become ``1`` / ``0`` / ``-1`` (null).

Null is never sent as a missing property: value slots carry a ``<key>_null`` flag.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, Callable

from formwork.expressions import T

from .errors import RulesEngineError

ENGINE_LIMIT = 2**53  # every integer the engine sees stays within ±2^53 (exact in a double, too)
NUMBER_SCALES: dict[T.Type, int] = {T.INTEGER: 0, T.USER: 0, T.DEPARTMENT: 0, T.MONEY: 2, T.DECIMAL: 6}
TEXT_LIMIT = 1_000_000  # characters of one text value sent to the engine
ENCODABLE = frozenset(NUMBER_SCALES) | {T.TEXT, T.DATE, T.DATETIME}
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MICROSECOND = timedelta(microseconds=1)

Encoder = Callable[[Any], "int | str"]


class Unencodable(Exception):
    """A literal the engine cannot hold exactly; the compiler computes that comparison in Python instead."""


def scaled(value: int | Decimal, scale: int) -> tuple[int, bool]:
    """``(⌊|v|·10^s⌋ · sign, has_remainder)`` computed with integers only (no context rounding)."""
    if isinstance(value, int):
        return value * 10**scale, False
    sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    magnitude = int("".join(map(str, digits)) or "0")
    shift = exponent + scale
    if magnitude == 0:
        return 0, False
    if shift >= 0:
        if len(digits) + shift > 40:  # far beyond the engine's range: any huge number clamps alike
            return (-1 if sign else 1) * 10**40, False
        whole, remainder = magnitude * 10**shift, False
    elif len(digits) + shift <= 0:  # every digit lies below the scale
        whole, remainder = 0, True
    else:
        whole, rest = divmod(magnitude, 10**-shift)
        remainder = rest != 0
    return (-whole if sign else whole), remainder


def number_encoder(scale: int, what: str) -> Encoder:
    def encode(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
            raise RulesEngineError(f"expected {what}, got {_kind(value)}")
        if isinstance(value, Decimal) and not value.is_finite():
            raise RulesEngineError(f"expected {what}, got {value}")
        whole, remainder = scaled(value, scale)
        encoded = 2 * abs(whole) + (1 if remainder else 0)
        encoded = min(encoded, ENGINE_LIMIT)
        return -encoded if (whole < 0 or (whole == 0 and remainder and value < 0)) else encoded

    return encode


def encode_number_literal(value: Any, scale: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        raise Unencodable(value)
    if isinstance(value, Decimal) and not value.is_finite():
        raise Unencodable(value)
    whole, remainder = scaled(value, scale)
    if remainder or abs(2 * whole) >= ENGINE_LIMIT:
        raise Unencodable(value)
    return 2 * whole


def encode_text(value: Any) -> str:
    if not isinstance(value, str):
        raise RulesEngineError(f"expected text, got {_kind(value)}")
    if len(value) > TEXT_LIMIT:
        raise RulesEngineError(
            f"a text value is too long for the rules engine (more than {TEXT_LIMIT} characters)"
        )
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise RulesEngineError("a text value is not valid Unicode") from None
    if "\x00" in value or "\x01" in value:
        # a prefix-free, order-keeping code: U+0000 → 01 01, U+0001 → 01 02, others unchanged
        value = value.replace("\x01", "\x01\x02").replace("\x00", "\x01\x01")
    return value


def encode_text_literal(value: Any) -> str:
    try:
        return encode_text(value)
    except RulesEngineError:
        raise Unencodable(value) from None


def encode_date(value: Any) -> int:
    if isinstance(value, datetime) or not isinstance(value, date):
        raise RulesEngineError(f"expected a date, got {_kind(value)}")
    return value.toordinal()


def encode_datetime(value: Any) -> int:
    if not isinstance(value, datetime):
        raise RulesEngineError(f"expected a date and time, got {_kind(value)}")
    if value.utcoffset() is None:
        raise RulesEngineError("a date and time without a time zone cannot be compared")
    micros = (value - _EPOCH) // _MICROSECOND
    return max(-ENGINE_LIMIT, min(ENGINE_LIMIT, micros))


def encode_truth(value: Any) -> int:
    if value is None:
        return -1
    if value is True:
        return 1
    if value is False:
        return 0
    raise RulesEngineError(f"expected true, false or null, got {_kind(value)}")


def value_encoder(t: T.Type) -> Encoder:
    """The encoder for values of expression type ``t`` (one of ``ENCODABLE``)."""
    if t in NUMBER_SCALES:
        return number_encoder(NUMBER_SCALES[t], "a number" if t in T.NUMERIC else f"a {t.describe()} id")
    if t == T.TEXT:
        return encode_text
    if t == T.DATE:
        return encode_date
    if t == T.DATETIME:
        return encode_datetime
    raise ValueError(f"{t!r} values are not sent to the engine")


def literal_encoder(t: T.Type) -> Callable[[Any], "int | str"]:
    """Encode a constant compared with a ``t`` slot exactly, or raise ``Unencodable``."""
    if t in NUMBER_SCALES:
        scale = NUMBER_SCALES[t]
        return lambda v: encode_number_literal(v, scale)
    if t == T.TEXT:
        return encode_text_literal

    def exact(v: Any) -> int:
        try:
            encoded = value_encoder(t)(v)
        except RulesEngineError:
            raise Unencodable(v) from None
        if not isinstance(encoded, int) or abs(encoded) >= ENGINE_LIMIT:
            raise Unencodable(v)
        return encoded

    return exact


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    text = repr(value)
    return f"{type(value).__name__} {text[:40]}{'...' if len(text) > 40 else ''}"
