"""Projections: the record values that checks search, copied into ``record_values`` and indexed.

A check such as the duplicate-invoice fact asks "which other records of this form hold one of
these values at this path?". Answered from ``records.data`` (JSON) its cost grows with every
record ever filed; answered from ``record_values`` it is a B-tree lookup on
``(text_value, path, form_key)`` whose cost depends only on how many records share the value.

What is projected is declared, not guessed: each *source* registered here
(``register_source``, wired in ``formwork.wiring``) names, for a form key, the field paths it
searches — the routes declare the paths their facts read (``routes.projected``). The rows are
kept by a session hook (``before_flush``/``after_flush``), so every write of ``Record.data``
through the ORM — create, draft save, submit, resubmit, edit, delete — rewrites the record's rows
in the same transaction, and a write path added later cannot forget them. A source that starts
naming a new path (a route published that reads another field) needs ``formwork projections
rebuild --form KEY`` for the records written before it.

Values: every string at the path (``lines.invoice_no``: each line's ``invoice_no``; ``title``: the
top-level field) that is not blank, exactly as stored (the checks compare stored values), once per
record; a value longer than ``MAX_VALUE`` characters is not projected.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, cast

from sqlalchemy import Table, delete, event, func, insert, select, text
from sqlalchemy.orm import Session, attributes

from ..extensions import db
from . import facts
from .models import Record, RecordValue

MAX_VALUE = 500
BLANK = " \t\r\n\f\v"  # what "blank" strips: the SQL of ``rebuild`` trims the same characters

_TABLE = cast(Table, RecordValue.__table__)

PathSource = Callable[[str], Iterable[str]]
_sources: dict[str, PathSource] = {}


def register_source(name: str, source: PathSource) -> None:
    """Declare the paths ``source(form_key)`` returns as projected (registering a name again replaces it)."""
    _sources[name] = source


def projected_paths(form_key: str) -> frozenset[str]:
    """Every path of ``form_key``'s records that some registered source searches."""
    paths: set[str] = set()
    for source in _sources.values():
        paths.update(source(form_key))
    return frozenset(paths)


def split_path(path: str) -> tuple[str, str]:
    """``lines.invoice_no`` → ("lines", "invoice_no"); ``title`` → ("title", "")."""
    head, _, sub = path.replace("[*]", "").partition(".")
    return head, sub


def projectable(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip(BLANK)) and len(value) <= MAX_VALUE


def values_at(data: Mapping[str, Any] | None, path: str) -> set[str]:
    """The distinct projectable values of ``data`` at ``path``."""
    if not isinstance(data, Mapping):
        return set()
    head, sub = split_path(path)
    if not sub:
        value = data.get(head)
        return {value} if isinstance(value, str) and projectable(value) else set()
    rows = data.get(head)
    found: set[str] = set()
    for row in rows if isinstance(rows, list) else ():
        value = row.get(sub) if isinstance(row, Mapping) else None
        if isinstance(value, str) and projectable(value):
            found.add(value)
    return found


def rows_for(record_id: int, form_key: str, data: Any, paths: Iterable[str]) -> list[dict[str, Any]]:
    return [
        {"record_id": record_id, "form_key": form_key, "path": path, "text_value": value}
        for path in sorted(paths)
        for value in sorted(values_at(data, path))
    ]


# --- kept on every write ------------------------------------------------------------------------

_PENDING = "formwork.projections.pending"


@event.listens_for(Session, "before_flush")
def _before_flush(session: Session, _context: Any, _instances: Any) -> None:
    """Note the records whose data this flush writes (their paths are looked up now, outside the
    flush proper), and remove the rows of records it deletes before their row goes."""
    gone = [record.id for record in session.deleted if isinstance(record, Record) and record.id is not None]
    if gone:
        session.connection().execute(delete(_TABLE).where(_TABLE.c.record_id.in_(gone)))
        facts.remove(session.connection(), gone)
    pending = []
    for record in list(session.new) + list(session.dirty):
        if not isinstance(record, Record) or record in session.deleted:
            continue
        is_new = record in session.new
        if not is_new and not attributes.get_history(record, "data").has_changes():
            continue
        pending.append((record, is_new, projected_paths(record.form_key), facts.typed_paths(record.form_key)))
    if pending:
        session.info.setdefault(_PENDING, []).extend(pending)


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, _context: Any) -> None:
    """Rewrite the noted records' rows now that each has an id, on the flush's own connection."""
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return
    connection = session.connection()
    stale = [record.id for record, is_new, _paths, _typed in pending if not is_new]
    if stale:
        connection.execute(delete(_TABLE).where(_TABLE.c.record_id.in_(stale)))
    rows = [
        row
        for record, _new, paths, _typed in pending
        for row in rows_for(record.id, record.form_key, record.data, paths)
    ]
    if rows:
        connection.execute(insert(_TABLE), rows)
    # The KPIs' typed values (``records.facts``), for the paths noted before the flush.
    facts.rewrite(connection, [(record, new, typed) for record, new, _paths, typed in pending])


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)


# --- rebuilt on demand --------------------------------------------------------------------------


def _rebuild_statement(dialect: str, path: str) -> Any:
    """``INSERT ... SELECT`` of one path's values for one form's records, in the database."""
    head, sub = split_path(path)
    if dialect == "postgresql":
        value = "e.value ->> :sub" if sub else "r.data ->> :head"
        source = (
            "records r CROSS JOIN LATERAL jsonb_array_elements("
            "CASE WHEN jsonb_typeof(r.data -> :head) = 'array' THEN r.data -> :head ELSE '[]'::jsonb END) e"
            if sub
            else "records r"
        )
        typed = (
            "jsonb_typeof(e.value -> :sub) = 'string'" if sub else "jsonb_typeof(r.data -> :head) = 'string'"
        )
        blank = f"btrim({value}, E' \\t\\r\\n\\f\\v') <> ''"
    else:
        value = (
            "json_extract(e.value, '$.\"' || :sub || '\"')"
            if sub
            else "json_extract(r.data, '$.\"' || :head || '\"')"
        )
        source = (
            "records r, json_each(CASE WHEN json_type(r.data, '$.\"' || :head || '\"') = 'array' "
            "THEN json_extract(r.data, '$.\"' || :head || '\"') ELSE '[]' END) e"
            if sub
            else "records r"
        )
        typed = (
            "json_type(e.value, '$.\"' || :sub || '\"') = 'text'"
            if sub
            else "json_type(r.data, '$.\"' || :head || '\"') = 'text'"
        )
        blank = f"trim({value}, ' ' || char(9, 13, 10, 12, 11)) <> ''"
    return text(
        "INSERT INTO record_values (record_id, form_key, path, text_value) "
        f"SELECT DISTINCT r.id, r.form_key, :path, {value} FROM {source} "
        f"WHERE r.form_key = :form_key AND {typed} AND {blank} AND length({value}) <= {MAX_VALUE}"
    ).bindparams(path=path, head=head, sub=sub)


def rebuild(form_key: str | None = None) -> dict[str, int]:
    """Rewrite the projected rows of ``form_key``'s records (every form's when None) from their data,
    for the paths the sources name now. Runs in the caller's transaction; returns {form: rows}."""
    dialect = db.session.get_bind().dialect.name
    if form_key is None:
        keys = sorted(db.session.scalars(select(Record.form_key).distinct()))
    else:
        keys = [form_key]
    counts: dict[str, int] = {}
    for key in keys:
        facts.rebuild(key)
        db.session.execute(delete(RecordValue).where(RecordValue.form_key == key))
        for path in sorted(projected_paths(key)):
            db.session.execute(_rebuild_statement(dialect, path), {"form_key": key})
        counts[key] = (
            db.session.scalar(select(func.count(RecordValue.id)).where(RecordValue.form_key == key)) or 0
        )
    return counts
