"""Voucher numbers finance recognises: a per-form prefix, the year and a yearly sequence.

A form opts in with ``numbering: {prefix: BX, digits: 6}`` in its definition; its records get
``BX-2026-000001``, ``BX-2026-000002``, … at their first submission, and keep the number
when they are returned and submitted again. The sequence of a prefix starts again at 1 each
year (the year in the business time zone). Forms that share a prefix share its sequence.

The next number comes from one upsert on ``number_sequences`` (``INSERT … ON CONFLICT DO
UPDATE … RETURNING``) inside the submitting transaction: on PostgreSQL the row stays locked
until that transaction ends, so concurrent submissions take consecutive numbers one after
another and a rolled-back submission gives its number back; SQLite serialises writers anyway.
The unique constraint on ``records.voucher_number`` is the last line of defence.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite

from .. import business_time
from ..extensions import db
from .models import NumberSequence, Record

DEFAULT_DIGITS = 6


def numbering_of(content: Any) -> tuple[str, int] | None:
    """``(prefix, digits)`` from a form definition's ``numbering``, or None when it has none."""
    numbering = content.get("numbering") if isinstance(content, dict) else None
    if not isinstance(numbering, dict) or not numbering.get("prefix"):
        return None
    return str(numbering["prefix"]), int(numbering.get("digits") or DEFAULT_DIGITS)


def next_in_sequence(prefix: str, year: int) -> int:
    """Take the next number of ``prefix`` in ``year`` (1 for the first), in the caller's transaction."""
    dialect = db.session.get_bind().dialect.name
    builder = postgresql.insert if dialect == "postgresql" else sqlite.insert
    upsert = (
        builder(NumberSequence)
        .values(prefix=prefix, year=year, last=1)
        .on_conflict_do_update(
            index_elements=[NumberSequence.prefix, NumberSequence.year],
            set_={"last": NumberSequence.last + 1},
        )
        .returning(NumberSequence.last)
    )
    return int(db.session.execute(upsert).scalar_one())


def assign_voucher_number(record: Record, content: Any, when: datetime) -> None:
    """Give ``record`` its voucher number unless it has one or its form defines no numbering."""
    numbering = numbering_of(content)
    if record.voucher_number or numbering is None:
        return
    prefix, digits = numbering
    # The year finance files under is the business year: a claim sent at 01:00 on 1 January in
    # Beijing belongs to the new year although it is still 31 December in UTC.
    year = business_time.local_date(when).year
    record.voucher_number = f"{prefix}-{year}-{next_in_sequence(prefix, year):0{digits}d}"
