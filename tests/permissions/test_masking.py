"""Masking patterns, on ASCII, Chinese, combining accents, emoji and short values."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from formwork.permissions.masking import characters, mask_value
from formwork.permissions.model import Mask


@pytest.mark.parametrize(
    ("value", "mask", "shown"),
    [
        ("6225020200115678", Mask(4, 4), "6225********5678"),
        ("6225020200115678", Mask(0, 4), "************5678"),
        ("6225020200115678", Mask(0, 0, "******"), "******"),
        ("6225020200115678", Mask(6, 0), "622502**********"),
        ("6225020200115678", Mask(4, 4, char="#"), "6225########5678"),
        ("张三丰", Mask(0, 1), "**丰"),
        ("招商银行北京分行", Mask(2, 2), "招商****分行"),
        ("e\u0301te\u0301", Mask(0, 1), "**e\u0301"),  # é as e + combining accent is one character
        ("👍🏽ok", Mask(0, 1), "**k"),  # the skin tone belongs to its emoji
        ("12", Mask(4, 4), "*2"),  # never more than half is shown
        ("1", Mask(4, 4), "*"),
        ("123456", Mask(4, 4), "***456"),
        ("", Mask(4, 4), ""),
        (None, Mask(4, 4), None),
        (Decimal("12345.60"), Mask(0, 2), "******60"),
        (date(2026, 12, 4), Mask(4, 0), "2026******"),
        (123456, Mask(0, 0, "—"), "—"),
        (["ab", "cd"], Mask(0, 2), "****cd"),
    ],
)
def test_mask_value(value, mask, shown):
    assert mask_value(value, mask) == shown


def test_the_length_is_kept_except_with_a_fixed_mask():
    assert len(mask_value("a" * 30, Mask(4, 4))) == 30
    assert mask_value("a" * 30, Mask(0, 0, "***")) == "***"


def test_characters_as_people_see_them():
    assert characters("ab") == ["a", "b"]
    assert characters("👨\u200d👩\u200d👧x") == ["👨\u200d👩\u200d👧", "x"]
    assert characters("\u0301a") == ["\u0301", "a"]  # a lone combining mark at the start stays itself
