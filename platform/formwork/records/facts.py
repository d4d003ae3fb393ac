"""Typed projections for the KPIs: the record fields they aggregate, copied into ``record_facts``.

A KPI sums, counts and averages a form's fields over many records; read from ``records.data``
(JSON) every value would be extracted and cast row by row, and a line item's amount and date
could not meet without unnesting the JSON. ``record_facts`` holds them typed instead: one row
per record (``row_no`` 0) or line item (``row_no`` 1, 2, …) and field path, with the value as an
exact number, a business-calendar date or text. A KPI query joins the rows it reads on the
indexed ``(form_key, path, record_id, row_no)``.

What is projected is declared: each *source* registered here (``register_source``, wired in
``formwork.wiring``) names, for a form key, the typed paths it reads — the published KPIs name
their measures' fields and date fields (``kpis.published.paths_for_form``). The rows are written
by the same session hooks as ``record_values`` (``records.projections``): every write of
``Record.data`` rewrites its rows in the same transaction. A KPI that starts reading another
field needs ``formwork projections rebuild --form KEY`` for the records written before.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, cast

from sqlalchemy import Table, delete, func, insert, select

from .. import business_time
from ..extensions import db
from .models import Record, RecordFact

NUMBER, DATE, TEXT = "number", "date", "text"
BATCH = 500  # records rewritten per statement by ``rebuild``
_TABLE = cast(Table, RecordFact.__table__)


@dataclass(frozen=True, order=True)
class TypedPath:
    """A field path (``total``, ``lines.amount``) and how its values are kept (NUMBER, DATE, TEXT).

    ``date``: the date field that places each value in time (``lines.date``: the same line's
    date; ``trip_start``: the record's). Its business-calendar date is kept in the same row's
    ``date_value``, so a measure reads one row per value, and the row's ``path`` is
    ``lines.amount@lines.date`` (``stored``).
    """

    path: str
    kind: str
    date: str | None = None

    @property
    def parts(self) -> tuple[str, str]:
        head, _, sub = self.path.partition(".")
        return head, sub

    @property
    def stored(self) -> str:
        return f"{self.path}@{self.date}" if self.date else self.path


TypedSource = Callable[[str], Iterable[TypedPath]]
_sources: dict[str, TypedSource] = {}


def register_source(name: str, source: TypedSource) -> None:
    """Declare the typed paths ``source(form_key)`` reads (registering a name again replaces it)."""
    _sources[name] = source


def typed_paths(form_key: str) -> frozenset[TypedPath]:
    found: set[TypedPath] = set()
    for source in _sources.values():
        found.update(source(form_key))
    return frozenset(found)


def _number(value: Any, dialect: str) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, str, Decimal)):
        return None
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    if not number.is_finite():
        return None
    # SQLite keeps exact decimal text (see ``models.EXACT_NUMBER``); PostgreSQL takes the Decimal.
    return number if dialect == "postgresql" else format(number, "f")


def _date(value: Any) -> date | None:
    if not isinstance(value, str):
        return None
    try:
        if "T" in value or " " in value.strip():
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
            return business_time.local_date(business_time.as_utc(moment))
        return date.fromisoformat(value)
    except ValueError:
        return None


def _text(value: Any) -> str | None:
    if isinstance(value, bool) or value is None or isinstance(value, (list, dict)):
        return None
    text = str(value)
    return text if len(text) <= 500 else None


def typed(value: Any, kind: str, dialect: str) -> dict[str, Any]:
    """The value columns of one fact row (the other two null)."""
    return {
        "number_value": _number(value, dialect) if kind == NUMBER else None,
        "date_value": _date(value) if kind == DATE else None,
        "text_value": _text(value) if kind == TEXT else None,
    }


def _at(data: Mapping[str, Any], line: Any, path: str) -> Any:
    """The value at ``path`` for one line item (``line``; None for the record itself)."""
    head, _, sub = path.partition(".")
    if not sub:
        return data.get(head)
    return line.get(sub) if isinstance(line, Mapping) else None


def rows_for(
    record_id: int, form_key: str, data: Any, paths: Iterable[TypedPath], dialect: str
) -> list[dict[str, Any]]:
    """Every fact row of one record: per path, the record's value or one row per line item."""
    rows: list[dict[str, Any]] = []
    data = data if isinstance(data, Mapping) else {}
    for typed_path in sorted(paths):
        head, sub = typed_path.parts
        base = {"record_id": record_id, "form_key": form_key, "path": typed_path.stored}
        lines = data.get(head) if sub else [None]
        for number, line in enumerate(lines if isinstance(lines, list) else (), start=0 if not sub else 1):
            row = {
                **base,
                "row_no": number,
                **typed(_at(data, line, typed_path.path), typed_path.kind, dialect),
            }
            if typed_path.date is not None:
                row["date_value"] = _date(_at(data, line, typed_path.date))
            rows.append(row)
    return rows


def rewrite(connection: Any, records: list[tuple[Record, bool, frozenset[TypedPath]]]) -> None:
    """Rewrite the fact rows of ``records`` (``(record, is_new, paths)``, the paths noted before the
    flush) on ``connection`` (the flush's)."""
    stale = [record.id for record, is_new, _paths in records if not is_new]
    if stale:
        connection.execute(delete(_TABLE).where(_TABLE.c.record_id.in_(stale)))
    dialect = connection.dialect.name
    rows = [
        row
        for record, _new, paths in records
        for row in rows_for(record.id, record.form_key, record.data, paths, dialect)
    ]
    if rows:
        connection.execute(insert(_TABLE), rows)


def remove(connection: Any, record_ids: list[int]) -> None:
    if record_ids:
        connection.execute(delete(_TABLE).where(_TABLE.c.record_id.in_(record_ids)))


def rebuild(form_key: str) -> int:
    """Rewrite the fact rows of every record of ``form_key`` for the paths read now, in batches of
    ``BATCH`` records (the same row builder as every write, so a rebuilt row equals a written one).
    Runs in the caller's transaction; returns the number of rows."""
    db.session.execute(delete(RecordFact).where(RecordFact.form_key == form_key))
    paths = typed_paths(form_key)
    if paths:
        dialect = db.session.get_bind().dialect.name
        last = 0
        while True:
            batch = db.session.execute(
                select(Record.id, Record.data)
                .where(Record.form_key == form_key, Record.id > last)
                .order_by(Record.id)
                .limit(BATCH)
            ).all()
            if not batch:
                break
            rows = [row for rid, data in batch for row in rows_for(rid, form_key, data, paths, dialect)]
            if rows:
                db.session.execute(insert(_TABLE), rows)
            last = batch[-1][0]
    return db.session.scalar(select(func.count(RecordFact.id)).where(RecordFact.form_key == form_key)) or 0
