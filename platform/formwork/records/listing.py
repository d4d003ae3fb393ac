"""Lists and counts of the records a person may see that read only what the page needs.

The visibility filter is an OR (own records, a scope's departments, records one was told
about, records one has a task on); tested against every record it scans the table. Here
each of its conditions (``access.visible_branches``) becomes a statement of its own, with
the list's filters, ordered by the list's key and limited to what the page needs: each is
an index range read (the person's records by owner and date, a department's by department
and date, the records of one's tasks by person). Their union (duplicates removed) is then
ordered and limited again. A page costs the page times the number of conditions, not the
size of the table.

Pages go on from a *cursor* (``After``: the last row's key and id) rather than an offset,
so the 500th page costs what the first one costs; cursors are signed (``encode_cursor``),
so a changed or made-up one is refused, never read. Counts stop at a cap (``capped_count``):
"1,000+" instead of counting every record of the table.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app
from itsdangerous import BadData, URLSafeSerializer
from sqlalchemy import ColumnElement, Select, func, literal, select, true, tuple_, union

from ..db_types import Timestamp
from ..extensions import db
from . import access
from .models import Record

CURSOR_SALT = "formwork.records.cursor"
DEFAULT_COUNT_CAP = 1000


class BadCursor(ValueError):
    """A cursor this installation did not give out (changed, truncated, from another list kind)."""


@dataclass(frozen=True)
class After:
    """Where a page ends: the key (e.g. ``created_at``) and id of its last row."""

    key: datetime
    id: int


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.secret_key or "", salt=CURSOR_SALT)


def encode_cursor(after: After, kind: str = "records") -> str:
    """An opaque, signed cursor for the page after ``after`` in a list of ``kind``."""
    return str(_serializer().dumps([kind, after.key.isoformat(), after.id]))


def decode_cursor(text: str, kind: str = "records") -> After:
    """The position a cursor of ``encode_cursor`` names; ``BadCursor`` for anything else."""
    if not isinstance(text, str) or not text or len(text) > 300:
        raise BadCursor()
    try:
        value = _serializer().loads(text)
    except (BadData, ValueError, TypeError) as exc:
        raise BadCursor() from exc
    try:
        found_kind, key, row = value
        if found_kind != kind or not isinstance(key, str) or type(row) is not int or row < 1:
            raise ValueError(kind)
        return After(datetime.fromisoformat(key), row)
    except (ValueError, TypeError) as exc:
        raise BadCursor() from exc


def count_cap() -> int:
    return int(current_app.config.get("FORMWORK_COUNT_CAP", DEFAULT_COUNT_CAP))


def _branches(user: Any) -> list[ColumnElement[bool]]:
    found = access.visible_branches(user)
    return [true()] if found is None else found


def _merged(parts: list[Select]) -> Any:
    """The union (duplicates removed) of ``parts``, each kept whole with its own ORDER BY and LIMIT."""
    if len(parts) == 1:
        return parts[0].subquery("page_rows")
    return union(*(select(*part.subquery().c) for part in parts)).subquery("page_rows")


def newest_visible(
    user: Any,
    conditions: list[ColumnElement[bool]],
    *columns: Any,
    key: Any = None,
    after: After | None = None,
    limit: int,
    offset: int = 0,
) -> Select:
    """``SELECT columns`` (default: ``Record``) of the records ``user`` may see that meet
    ``conditions``, newest by ``key`` first (default ``created_at``; ties by id, newest first),
    after ``after`` when given, ``limit`` of them from ``offset``.

    Each visibility condition reads at most ``offset + limit`` rows through its index; the
    merged rows are joined back to ``records`` for the columns asked for."""
    return newest_of(_branches(user), conditions, *columns, key=key, after=after, limit=limit, offset=offset)


def newest_of(
    branches: list[ColumnElement[bool]],
    conditions: list[ColumnElement[bool]],
    *columns: Any,
    key: Any = None,
    after: After | None = None,
    limit: int,
    offset: int = 0,
) -> Select:
    """``newest_visible`` over the records meeting any of ``branches`` (e.g. only the person's own)."""
    key = Record.created_at if key is None else key
    wanted = offset + limit
    parts = []
    for branch in branches:
        part = select(Record.id.label("id"), key.label("sort_key")).where(branch, *conditions)
        if after is not None:
            part = part.where(tuple_(key, Record.id) < tuple_(literal(after.key, Timestamp()), after.id))
        parts.append(part.order_by(key.desc(), Record.id.desc()).limit(wanted))
    if not parts:
        return select(*(columns or (Record,))).where(Record.id.is_(None))
    rows = _merged(parts)
    return (
        select(*(columns or (Record,)))
        .join_from(Record, rows, Record.id == rows.c.id)
        .order_by(rows.c.sort_key.desc(), rows.c.id.desc())
        .limit(limit)
        .offset(offset)
    )


def capped_count(
    user: Any, conditions: list[ColumnElement[bool]], cap: int | None = None
) -> tuple[int, bool]:
    """How many records ``user`` may see meet ``conditions``, counted up to ``cap`` (default
    ``FORMWORK_COUNT_CAP``, 1,000): ``(n, False)`` exactly below it, ``(cap, True)`` for more.

    Each visibility condition reads at most ``cap + 1`` ids: if one of them is cut short, it
    alone has more than ``cap`` records, so the union is more than ``cap`` too."""
    return count_of(_branches(user), conditions, cap)


def count_of(
    branches: list[ColumnElement[bool]], conditions: list[ColumnElement[bool]], cap: int | None = None
) -> tuple[int, bool]:
    """``capped_count`` over the records meeting any of ``branches``."""
    cap = count_cap() if cap is None else cap
    parts = [select(Record.id.label("id")).where(branch, *conditions).limit(cap + 1) for branch in branches]
    if not parts:
        return 0, False
    rows = _merged(parts)
    found = int(
        db.session.scalar(select(func.count()).select_from(select(rows.c.id).limit(cap + 1).subquery())) or 0
    )
    return (cap, True) if found > cap else (found, False)
