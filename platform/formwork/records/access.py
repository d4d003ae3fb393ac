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

from typing import Any, Callable, Protocol, cast

from sqlalchemy import ColumnElement, Select, Table, or_, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import joinedload

from ..extensions import db
from .models import DRAFT, Record, RecordReader

ADMINISTRATOR = "administrator"

# name -> (user id -> SELECT of record ids that person takes part in); see register_participation.
_PARTICIPATION: dict[str, Callable[[int], Select]] = {}


def register_participation(name: str, record_ids: Callable[[int], Select]) -> None:
    """Let people see the records ``record_ids(user_id)`` selects (e.g. those they have a task on).

    Registering the same name again replaces it, so building several applications adds nothing twice."""
    _PARTICIPATION[name] = record_ids


class ReadPolicy(Protocol):
    """Data scopes and field rights from permission definitions (``permissions``, wired by the app).

    ``scope(user, own)`` is the condition on ``records`` for the records the user may see besides
    the ones they were asked to act on or told about; ``own`` is today's rule, which the policy
    keeps for forms no permission definition covers. ``rights(user, record)`` is None when no
    definition covers the record's form, else an object with ``visible``, ``redact(data)``,
    ``right(path)`` and ``hidden()``; ``rights_many(user, records)`` the same for many records
    at once (record id → rights or None). ``unsearchable_forms()``: forms whose ``search_text`` may
    hold a value some reader may not see (a hidden or masked field), so text search reads only
    their title.
    """

    def scope(self, user: Any, own: ColumnElement[bool]) -> ColumnElement[bool] | None: ...

    def scope_parts(self, user: Any, own: ColumnElement[bool]) -> list[ColumnElement[bool]] | None:
        """``scope`` as the conditions it is the OR of (None: no definition covers any form), so a
        list can read each through its own index; a policy without it is read as one part."""
        ...

    def rights(self, user: Any, record: Record) -> Any | None: ...

    def rights_many(self, user: Any, records: list[Record]) -> dict[int, Any | None]: ...

    def unsearchable_forms(self) -> list[str]: ...


_policy: ReadPolicy | None = None


def use_read_policy(policy: ReadPolicy | None) -> None:
    """Register (None: remove) the permission definitions' read policy; called by the app's wiring."""
    global _policy
    _policy = policy


def rights_of(user: Any, record: Record) -> Any | None:
    """The field rights of ``user`` on ``record`` (None: every field readable, today's rule)."""
    if _policy is None or sees_everything(user):
        return None
    return _policy.rights(user, record)


def rights_of_many(user: Any, records: list[Record]) -> dict[int, Any | None]:
    """``rights_of`` for each of ``records`` (record id → rights), read together (exports)."""
    if _policy is None or sees_everything(user) or not records:
        return {record.id: None for record in records}
    return _policy.rights_many(user, records)


def rights_by_definitions(user: Any, records: list[Record]) -> dict[int, Any | None]:
    """``rights_of_many`` as the permission definitions alone decide it, without the administrators'
    pass: for an administrator whose role is limited to a department (the audit trail's values
    are shown to them as their field rights on each record say)."""
    if _policy is None or not records:
        return {record.id: None for record in records}
    return _policy.rights_many(user, records)


def rights_for_new(user: Any, version: Any) -> Any | None:
    """The field rights of ``user`` on a record of form ``version`` they are about to create.

    A new record is the creator's own draft in their department: they get what they would get on
    such a draft (by default every input field writable; computed fields never). The record is
    built for the question only, never added to the session. None: today's rule (all writable).
    """
    if _policy is None or sees_everything(user):
        return None
    draft = Record(
        form_key=version.key,
        definition_id=version.id,
        form_version=version.version,
        status=DRAFT,
        owner_id=user.id,
        department_id=user.department_id,
        data={},
    )
    draft.definition = version  # no backref: the draft stays out of the session
    return _policy.rights(user, draft)


def redact(user: Any, record: Record, data: dict[str, Any] | None) -> dict[str, Any]:
    """``data`` of ``record`` as ``user`` may read it: hidden fields left out, masked ones masked."""
    rights = rights_of(user, record)
    return dict(data or {}) if rights is None else rights.redact(data or {})


def unsearchable_forms() -> list[str]:
    return [] if _policy is None else _policy.unsearchable_forms()


def sees_everything(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and user.has_role(ADMINISTRATOR)


def visible_records(user: Any) -> Select:
    """A ``SELECT Record`` limited to what ``user`` may see (add filters and ordering to it)."""
    stmt = select(Record)
    branches = visible_branches(user)
    if branches is None:
        return stmt
    return stmt.where(or_(*branches) if branches else Record.id.is_(None))


def visible_branches(user: Any) -> list[ColumnElement[bool]] | None:
    """What ``user`` may see as conditions over ``records`` whose OR is ``visible_records``'s filter
    (None: everything; empty: nothing).

    Each is narrow and read through an index of its own (the person's records by owner and date,
    a scope's department by department and date, the records they were told about or have a task
    on by person), so a list can take the newest few of each and merge them
    (``records.listing``) instead of testing every record against the OR of all of them."""
    if user is None or not getattr(user, "is_authenticated", False) or getattr(user, "id", None) is None:
        return []
    if sees_everything(user):
        return None
    own: ColumnElement[bool] = Record.owner_id == user.id
    scoped = _scope_parts(user, own)
    return [
        *([own] if scoped is None else scoped),
        Record.id.in_(_reader_record_ids(user.id)),
        *(Record.id.in_(record_ids(user.id)) for record_ids in _PARTICIPATION.values()),
    ]


def _scope_parts(user: Any, own: ColumnElement[bool]) -> list[ColumnElement[bool]] | None:
    if _policy is None:
        return None
    parts = getattr(_policy, "scope_parts", None)
    if parts is not None:
        return parts(user, own)
    whole = _policy.scope(user, own)
    return None if whole is None else [whole]


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
    # The form version comes in the same statement: every detail path compiles or names it.
    return db.session.scalar(
        visible_records(user).where(Record.id == record_id).options(joinedload(Record.definition))
    )


def can_see(user: Any, record: Record) -> bool:
    if record is None or user is None or not getattr(user, "is_authenticated", False):
        return False
    if sees_everything(user):
        return True
    if _policy is not None:  # the scope may exclude even the owner's records (never by today's rule)
        return db.session.scalar(visible_records(user).where(Record.id == record.id).limit(1)) is not None
    if record.owner_id == user.id:
        return True
    sources = [_reader_record_ids(user.id), *(record_ids(user.id) for record_ids in _PARTICIPATION.values())]
    # Each source narrowed to this record on its own column (an index lookup, not a list of ids).
    return any(
        db.session.scalar(source.where(source.selected_columns[0] == record.id).limit(1)) is not None
        for source in sources
    )
