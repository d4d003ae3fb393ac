"""What a value from outside must be before the application reads it.

Python, PostgreSQL and the people typing disagree in a few places, and each disagreement
used to surface as a server error rather than as a refusal:

* Ids: every id column is an INTEGER (1 to 2**31 - 1). PostgreSQL refuses a larger number
  in a query with an error, where SQLite answers "no such row"; an id out of range is
  simply an id that does not exist.
* Numbers are ASCII digits. ``int()`` reads Arabic-Indic "٣" as 3 and full-width "１２" as
  12, and ``str.isdigit()`` accepts "²", which ``int()`` then refuses.
* Text never holds NUL (U+0000): PostgreSQL cannot store it in text or JSONB, and no
  legitimate input has one.
* Parsed JSON is bounded in depth and in the length of its numbers, so a hostile body is
  refused with a message instead of exhausting the parser's stack or ``int()``'s digit limit.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

# The largest value of an INTEGER column (every id, version number and lock version).
MAX_ROW_ID = 2**31 - 1
# Nesting of a JSON request body; the deepest legitimate one (a definition) needs about 15.
MAX_JSON_DEPTH = 64
# Digits of a whole number in JSON; money and counts need far fewer, and ``int()`` itself
# refuses more than 4,300.
MAX_JSON_INTEGER_DIGITS = 100

# The highest page of a paged list: (page - 1) * per_page stays far inside the database's
# OFFSET range, and nobody pages a million times.
MAX_PAGE = 1_000_000

NUL = "\x00"
NUL_MESSAGE = "text must not contain the NUL character (\\u0000)"


def whole_number(text: str, low: int = 0, high: int = MAX_ROW_ID) -> int | None:
    """``text`` as an integer when it is ASCII digits (an optional leading minus) within ``low``..``high``."""
    body = text[1:] if text.startswith("-") else text
    if not body or not body.isascii() or not body.isdigit() or len(body) > len(str(max(abs(low), high))):
        return None
    value = int(text)
    return value if low <= value <= high else None


def page_number(text: str | None, default: int = 1) -> int:
    """A browser page's ``?page=``: anything but a page number from 1 to ``MAX_PAGE`` shows ``default``."""
    value = whole_number(text or "", 1, MAX_PAGE)
    return default if value is None else value


def row_id(value: Any) -> int | None:
    """An id as the database can hold it: a whole number from 1 to ``MAX_ROW_ID`` (ASCII digits if text)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 1 <= value <= MAX_ROW_ID else None
    if isinstance(value, str):
        return whole_number(value.strip(), 1, MAX_ROW_ID)
    return None


def one_line(text: str) -> str:
    """``text`` with every run of white space, line breaks of any kind included, as one space.

    For what must stay on one line whatever a definition or an older record holds: a record's
    title, a notification's subject (an e-mail header).
    """
    return " ".join(text.split())


def find_nul(value: Any) -> str | None:
    """The JSON pointer of the first key or text in ``value`` that holds NUL, else None.

    Iterative, so a value of any depth is walked without recursion.
    """
    stack: list[tuple[Any, str]] = [(value, "")]
    while stack:
        item, pointer = stack.pop()
        if isinstance(item, str):
            if NUL in item:
                return pointer or "/"
        elif isinstance(item, dict):
            for key, child in item.items():
                child_pointer = f"{pointer}/{_escape(str(key))}"
                if NUL in str(key):
                    return child_pointer
                stack.append((child, child_pointer))
        elif isinstance(item, (list, tuple)):
            stack.extend((child, f"{pointer}/{index}") for index, child in enumerate(item))
    return None


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


class JSONInputError(ValueError):
    """JSON that is refused; ``line`` and ``column`` (1-based) or ``pointer`` say where, when known."""

    def __init__(
        self, message: str, line: int | None = None, column: int | None = None, pointer: str | None = None
    ):
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column
        self.pointer = pointer

    def __str__(self) -> str:
        if self.pointer is not None:
            return f"{self.pointer}: {self.message}"
        if self.line is None:
            return self.message
        return f"{self.message} (line {self.line}, column {self.column})"


# A JSON string (escapes included) or one bracket; strings are skipped so brackets inside
# text do not count. The unrolled loop cannot backtrack catastrophically.
_JSON_STRING_OR_BRACKET = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')


def _position(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def check_json_depth(text: str, max_depth: int = MAX_JSON_DEPTH) -> None:
    """Refuse JSON text nested deeper than ``max_depth`` before any parser recurses into it."""
    depth = 0
    for match in _JSON_STRING_OR_BRACKET.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth > max_depth:
                raise JSONInputError(
                    f"nested more than {max_depth} levels deep", *_position(text, match.start())
                )
        elif token in "]}":
            depth -= 1


def _bounded_int(literal: str) -> int:
    if len(literal.lstrip("-")) > MAX_JSON_INTEGER_DIGITS:
        raise JSONInputError(f"a number has more than {MAX_JSON_INTEGER_DIGITS} digits")
    return int(literal)


def _refuse_constant(literal: str) -> Any:
    raise JSONInputError(f"{literal} is not a valid JSON number")


def load_json(
    raw: bytes | str,
    *,
    max_depth: int = MAX_JSON_DEPTH,
    parse_float: Callable[[str], Any] = Decimal,
    object_pairs_hook: Callable[[list[tuple[str, Any]]], Any] | None = None,
) -> Any:
    """Parse JSON from outside: exact decimals, bounded depth and digits, no NaN, no NUL anywhere.

    Raises ``JSONInputError`` with a message a client can act on (and the line and column
    where the parser knows them).
    """
    if isinstance(raw, bytes):
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise JSONInputError(f"the text is not valid UTF-8 (byte {exc.start})") from None
    else:
        text = raw
    check_json_depth(text, max_depth)
    try:
        value = json.loads(
            text,
            parse_float=parse_float,
            parse_int=_bounded_int,
            parse_constant=_refuse_constant,
            object_pairs_hook=object_pairs_hook,
        )
    except json.JSONDecodeError as exc:
        raise JSONInputError(f"malformed JSON: {exc.msg}", exc.lineno, exc.colno) from None
    except RecursionError:  # pragma: no cover - the depth check comes first
        raise JSONInputError(f"nested more than {max_depth} levels deep") from None
    pointer = find_nul(value)
    if pointer is not None:
        raise JSONInputError(NUL_MESSAGE, pointer=pointer)
    return value
