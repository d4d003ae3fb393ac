"""Which records a user may see: the one place data scopes plug in.

Every read path (lists, detail, search, the API, downloads of attachments) asks
here, so a later data-scope definition changes visibility everywhere at once.
Today: people see their own records, the records they have (or had) an approval
task on — as assignee or as the person the route meant —, the records they were told about
(``record_readers``: the people an alert on the record notified); administrators see all.

The workflow, which builds on records, adds "the records a person was asked to act on" with
``register_participation`` (from the wiring), so this module never imports the layers above it.
"""

from __future__ import annotations

from typing import Any, Callable, cast

from sqlalchemy import Select, Table, or_, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ..extensions import db
from .models import Record, RecordReader

ADMINISTRATOR = "administrator"

# name -> (user id -> SELECT of record ids that person takes part in); see register_participation.
_PARTICIPATION: dict[str, Callable[[int], Select]] = {}


def register_participation(name: str, record_ids: Callable[[int], Select]) -> None:
    """Let people see the records ``record_ids(user_id)`` selects (e.g. those they have a task on).

    Registering the same name again replaces it, so building several applications adds nothing twice."""
    _PARTICIPATION[name] = record_ids


def sees_everything(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and user.has_role(ADMINISTRATOR)


def visible_records(user: Any) -> Select:
    """A ``SELECT Record`` limited to what ``user`` may see (add filters and ordering to it)."""
    stmt = select(Record)
    if user is None or not getattr(user, "is_authenticated", False) or getattr(user, "id", None) is None:
        return stmt.where(Record.id.is_(None))  # matches nothing
    if sees_everything(user):
        return stmt
    return stmt.where(
        or_(
            Record.owner_id == user.id,
            Record.id.in_(_reader_record_ids(user.id)),
            *(Record.id.in_(record_ids(user.id)) for record_ids in _PARTICIPATION.values()),
        )
    )


def _reader_record_ids(user_id: int) -> Select:
    """Records the user was told about and may therefore read (see ``RecordReader``)."""
    return select(RecordReader.record_id).where(RecordReader.user_id == user_id)


def add_readers(record_id: int, user_ids: list[int], reason: str) -> None:
    """Let these people read the record from now on (those who already may keep their first reason).

    One INSERT that skips existing pairs, so two transitions telling the same person never collide."""
    if not user_ids:
        return
    dialect = db.session.get_bind().dialect.name
    make = postgresql_insert if dialect == "postgresql" else sqlite_insert
    rows = [{"record_id": record_id, "user_id": uid, "reason": reason[:120]} for uid in sorted(set(user_ids))]
    db.session.execute(
        make(cast(Table, RecordReader.__table__))
        .values(rows)
        .on_conflict_do_nothing(index_elements=["record_id", "user_id"])
    )


def get_visible(user: Any, record_id: int) -> Record | None:
    """The record if ``user`` may see it, else None (callers answer 404, revealing nothing)."""
    if not isinstance(record_id, int) or isinstance(record_id, bool):
        return None
    return db.session.scalar(visible_records(user).where(Record.id == record_id))


def can_see(user: Any, record: Record) -> bool:
    if record is None or user is None or not getattr(user, "is_authenticated", False):
        return False
    if record.owner_id == user.id or sees_everything(user):
        return True
    sources = [_reader_record_ids(user.id), *(record_ids(user.id) for record_ids in _PARTICIPATION.values())]
    # Each source narrowed to this record on its own column (an index lookup, not a list of ids).
    return any(
        db.session.scalar(source.where(source.selected_columns[0] == record.id).limit(1)) is not None
        for source in sources
    )
