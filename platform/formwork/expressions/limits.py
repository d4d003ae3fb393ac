"""Hard limits that keep parsing and evaluation cheap whatever the input."""

from __future__ import annotations

import decimal
from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    max_source_length: int = 4000  # characters of expression text
    max_nesting: int = 40  # open brackets / unary operators inside each other while parsing
    max_depth: int = 100  # depth of the finished tree (bounds recursion in every back end)
    max_nodes: int = 1000  # nodes in the finished tree
    max_string_literal: int = 1000  # characters of one string literal
    max_number_literal: int = 38  # digits of one number literal (fits SQL NUMERIC(38))
    max_text_result: int = 10000  # characters of any text produced while evaluating
    max_round_places: int = 18  # |n| in round(x, n)


DEFAULT_LIMITS = Limits()

# Every decimal operation runs in this context: 38 significant digits (SQL NUMERIC(38)),
# a bounded exponent, and errors instead of silent infinities or NaNs.
DECIMAL_CONTEXT = decimal.Context(
    prec=38,
    rounding=decimal.ROUND_HALF_EVEN,
    Emax=999,
    Emin=-999,
    traps=[decimal.InvalidOperation, decimal.Overflow, decimal.DivisionByZero],
)
