"""cn_amount: the Chinese capital amount (大写金额) of a money value, as written on vouchers.

``cn_amount(1234.56)`` → ``壹仟贰佰叁拾肆元伍角陆分``. The wording follows the
payment-settlement rules for vouchers (《支付结算办法》附件): ``整`` after ``元``
when there are no jiao or fen; ``零`` for a run of zeros inside the number and
after ``元`` when jiao is zero but fen is not; ``壹拾`` rather than ``拾``;
no ``整`` after ``角`` (the rules allow leaving it out). Amounts are rounded half up
to the fen; up to 9,999,999,999,999,999.99 (亿 groups, 万 within them).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Sequence

from formwork.expressions import ArgumentError, ExpressionRuntimeError, FunctionSpec, T

DIGITS = "零壹贰叁肆伍陆柒捌玖"
SMALL_UNITS = ("", "拾", "佰", "仟")
LIMIT = Decimal("10000000000000000")  # 10^16: beyond 仟万亿 the word for the next group is not in common use
FEN = Decimal("0.01")


def _below_ten_thousand(n: int) -> str:
    """1..9999 → e.g. 1005 → 壹仟零伍; one 零 for a run of inner zeros, none at the end."""
    text: list[str] = []
    pending_zero = False
    for power in (3, 2, 1, 0):
        digit = (n // 10**power) % 10
        if digit == 0:
            pending_zero = bool(text)
            continue
        if pending_zero:
            text.append("零")
            pending_zero = False
        text.append(DIGITS[digit] + SMALL_UNITS[power])
    return "".join(text)


def _below_hundred_million(n: int) -> str:
    high, low = divmod(n, 10_000)
    if high == 0:
        return _below_ten_thousand(low)
    text = _below_ten_thousand(high) + "万"
    if low == 0:
        return text
    return text + ("零" if low < 1000 else "") + _below_ten_thousand(low)


def integer_words(n: int) -> str:
    """A positive whole number of yuan in capitals (without 元)."""
    high, low = divmod(n, 100_000_000)
    if high == 0:
        return _below_hundred_million(low)
    text = _below_hundred_million(high) + "亿"
    if low == 0:
        return text
    return text + ("零" if low < 10_000_000 else "") + _below_hundred_million(low)


def capital_amount(value: Decimal | int) -> str:
    """The voucher wording of ``value`` (rounded half up to the fen)."""
    try:
        amount = Decimal(value).quantize(FEN, rounding=ROUND_HALF_UP)
    except InvalidOperation:
        raise ExpressionRuntimeError("cn_amount() needs an amount below 10^16") from None
    if not amount.is_finite() or abs(amount) >= LIMIT:
        raise ExpressionRuntimeError("cn_amount() needs an amount below 10,000,000,000,000,000")
    sign = "负" if amount < 0 else ""
    cents = int(abs(amount) * 100)
    yuan, rest = divmod(cents, 100)
    jiao, fen = divmod(rest, 10)
    if cents == 0:
        return "零元整"
    text = integer_words(yuan) + "元" if yuan else ""
    if rest == 0:
        return sign + text + "整"
    if jiao:
        text += DIGITS[jiao] + "角"
    elif yuan:
        text += "零"  # 元 followed directly by 分: the zero jiao must be written
    if fen:
        text += DIGITS[fen] + "分"
    return sign + text


def _type_rule(args: Sequence[T.Type]) -> T.Type:
    if len(args) != 1:
        raise ArgumentError(f"cn_amount() takes 1 argument, not {len(args)}")
    if args[0] not in T.NUMERIC and args[0] != T.NULL:
        raise ArgumentError(f"argument 1 of cn_amount() must be an amount, not {args[0].describe()}", 0)
    return T.TEXT


SPEC = FunctionSpec(
    name="cn_amount",
    type_rule=_type_rule,
    python=capital_amount,
    doc={
        "en": "The amount in Chinese capitals as written on vouchers, e.g. 壹佰元整.",
        "zh-CN": "金额的中文大写（票据写法），如 壹佰元整。",
    },
    signature="cn_amount(money) → text",
    examples=(("cn_amount(1234.56)", "'壹仟贰佰叁拾肆元伍角陆分'"), ("cn_amount(total)", "")),
)


def load(registry: Any) -> None:
    """Plugin entry point: add ``cn_amount`` to the expression functions."""
    registry.add_function(SPEC)
