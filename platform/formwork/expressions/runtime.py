"""Values at evaluation time: the clock, text conversion and result limits, shared by all functions."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Mapping

from .. import business_time
from .errors import ExpressionRuntimeError
from .limits import DECIMAL_CONTEXT as CTX
from .limits import DEFAULT_LIMITS


def context_value(context: Mapping[str, Any], name: str) -> Any:
    """``$name`` from the context (keys with or without ``$``); the clock when not given."""
    value = context.get(name)
    if value is None:
        value = context.get("$" + name)
    if value is None:
        # The business zone's day and time, whatever zone the server runs in.
        if name == "today":
            return business_time.today()
        if name == "now":
            return business_time.local_now()
    return value


def to_text(value: Any) -> str | None:
    """The canonical text form of a value: ``12.50``, ``2024-05-01``, ``true``; null stays null."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, (int, date)):
        return str(value) if isinstance(value, int) else value.isoformat()
    if isinstance(value, list):
        return ", ".join(t for t in (to_text(v) for v in value) if t is not None)
    raise ExpressionRuntimeError(f"a {type(value).__name__} value cannot be shown as text")


def checked_text(value: str, limit: int, position: int | None = None) -> str:
    """Stop text that grows past ``limit`` characters (nothing may build megabytes of text)."""
    if len(value) > limit:
        raise ExpressionRuntimeError(f"the text result is too long (more than {limit} characters)", position)
    return value


def round_value(value: Any, places: int = 0) -> Any:
    """``round(x, n)``: half up (away from zero), as finance rounds; integers stay integers."""
    if abs(places) > DEFAULT_LIMITS.max_round_places:
        raise ExpressionRuntimeError(
            f"round() takes at most {DEFAULT_LIMITS.max_round_places} decimal places, not {places}"
        )
    exact = Decimal(value)
    rounded = exact.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP, context=CTX)
    if places < 0:  # 1.2E+3 → 1200: keep results in plain notation
        rounded = rounded.quantize(Decimal(1), context=CTX)
    return int(rounded) if isinstance(value, int) else rounded


def date_from_text(text: str) -> date:
    """``date('2024-05-31')``: exactly ``YYYY-MM-DD`` (spaces around allowed)."""
    text = text.strip()
    try:
        if len(text) != 10:
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        shown = text if len(text) <= 30 else text[:27] + "..."
        raise ExpressionRuntimeError(f"{shown!r} is not a date; write it as YYYY-MM-DD") from None
