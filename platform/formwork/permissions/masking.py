"""Masked values (脱敏): what a person with the ``masked`` right sees instead of a value.

Patterns (``model.Mask``):

- ``{keep_last: 4}``: ``6225020200115678`` → ``************5678``;
- ``{keep_first: 4, keep_last: 4}``: → ``6225********5678``;
- ``{fixed: '******'}``: the value is replaced by that text whatever its length.

The masked text keeps the value's length (a pattern reveals how many characters there
are, as a printed bank card does) except with ``fixed``. Characters are counted as people
see them: a letter with combining accents, or an emoji with its modifiers, is one.
**Never more than half** of a value is shown: when a value is too short for the pattern,
fewer characters are kept (``keep_last`` first), so ``{keep_first: 4, keep_last: 4}`` on a
6-character value shows only its last 3. An empty value stays empty and a missing one
missing; any other value (a number, a date) is masked as its text.
"""

from __future__ import annotations

import unicodedata
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from .model import Mask

_JOINERS = {"\u200d", "\ufe0f", "\ufe0e"}  # zero-width joiner, variation selectors


def characters(text: str) -> list[str]:
    """``text`` split into the characters a person sees (base + combining marks, joined emoji)."""
    clusters: list[str] = []
    join_next = False
    for char in text:
        extends = unicodedata.combining(char) or char in _JOINERS or 0x1F3FB <= ord(char) <= 0x1F3FF
        if clusters and (extends or join_next):
            clusters[-1] += char
        else:
            clusters.append(char)
        join_next = char == "\u200d"
    return clusters


def as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return ", ".join(as_text(item) for item in value)
    return str(value)


def mask_value(value: Any, mask: Mask) -> Any:
    """``value`` as a person with the masked right sees it (None stays None, "" stays "")."""
    if value is None:
        return None
    text = as_text(value)
    if text == "":
        return ""
    if mask.fixed is not None:
        return mask.fixed
    chars = characters(text)
    allowed = len(chars) // 2  # never show more than half
    last = min(mask.keep_last, allowed)
    first = min(mask.keep_first, allowed - last)
    hidden = len(chars) - first - last
    return "".join(chars[:first]) + mask.char * hidden + "".join(chars[len(chars) - last :])
