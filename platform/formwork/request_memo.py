"""Answers read once per request: what several parts of one request ask the database alike.

A detail request asks for the permission policies, the department tree and the person's roles
for its scope, its field rights and its search; each read is a statement or more. ``once``
keeps the first answer for the rest of the request. An answer names the tables it was read
from (``tables``): a commit that wrote to one of them forgets it, so a request that changes
people, departments or definitions reads them again afterwards, while a commit that wrote
only records (a submission) keeps it for the answer built after the commit. An answer that
names no tables is forgotten on every commit; a rollback, or a write whose tables are not
known (a textual statement), forgets everything. Outside a request (commands, background
work) nothing is kept. Until its commit, a transaction that has written one of an answer's
tables reads that answer afresh (it sees its own writes; nothing it read is kept).
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, TypeVar

from flask import has_request_context, request
from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session

from .extensions import db

T = TypeVar("T")
_KEY = "formwork.request_memo"
_WRITTEN = "formwork.written_tables"
_REQUEST_WRITTEN = "formwork.request_written_tables"
_AFTER_COMMIT = "formwork.after_commit"
_UNKNOWN = "*"  # a write whose tables cannot be told


def once(key: Any, build: Callable[[], T], tables: Iterable[str] = ()) -> T:
    """``build()`` the first time ``key`` is asked for in this request, its answer afterwards.

    ``tables``: what the answer is read from; a commit that wrote none of them keeps it.
    """
    if not has_request_context():
        return build()
    tables = frozenset(tables)
    if tables and written_in_transaction(tables):
        return build()
    memo = request.environ.setdefault(_KEY, {})
    if key not in memo:
        memo[key] = (build(), tables)
    return memo[key][0]


def keep_after_commit(key: Any, value: Any, tables: Iterable[str]) -> None:
    """Let ``recall(key)`` answer ``value`` once the open transaction commits: what the transaction
    wrote, known without reading it back. Forgotten like any answer when a later commit writes
    one of ``tables``; dropped when the transaction rolls back. Outside a request: nothing kept."""
    if has_request_context():
        db.session.info.setdefault(_AFTER_COMMIT, {})[key] = (value, frozenset(tables))


def recall(key: Any) -> Any:
    """What ``keep_after_commit`` left for ``key`` (None: nothing, or it may no longer hold)."""
    if not has_request_context():
        return None
    entry = request.environ.get(_KEY, {}).get(key)
    if entry is None or written_in_transaction(entry[1]):
        return None
    return entry[0]


def written_in_transaction(tables: Iterable[str]) -> bool:
    """Has the open transaction (of the request's session) written one of ``tables`` yet?"""
    written: set[str] = db.session.info.get(_WRITTEN) or set()
    return bool(written) and (_UNKNOWN in written or not written.isdisjoint(tables))


def written_in_request(tables: Iterable[str]) -> bool:
    """Has this request written one of ``tables``, committed or not (outside a request: assume so)?

    Objects loaded at the start of the request (the signed-in person) still say what the
    database says as long as this is False."""
    if not has_request_context():
        return True
    written = set(request.environ.get(_REQUEST_WRITTEN, ())) | set(db.session.info.get(_WRITTEN) or ())
    return _UNKNOWN in written or not written.isdisjoint(tables)


def forget(written: Iterable[str] | None = None) -> None:
    """Forget what this request has read: everything, or (``written``) what those tables change."""
    if not has_request_context():
        return
    memo = request.environ.get(_KEY)
    if not memo:
        return
    changed = None if written is None else set(written)
    if changed is None or _UNKNOWN in changed:
        memo.clear()
        return
    for key in [k for k, (_, tables) in memo.items() if not tables or tables & changed]:
        del memo[key]


def _note_written(session: Session, tables: Iterable[str]) -> None:
    session.info.setdefault(_WRITTEN, set()).update(tables)


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, _context: Any) -> None:
    _note_written(
        session,
        {
            table.name
            for instance in (*session.new, *session.dirty, *session.deleted)
            for table in getattr(getattr(instance, "__mapper__", None), "tables", ())
        },
    )


@event.listens_for(Session, "do_orm_execute")
def _on_execute(state: ORMExecuteState) -> None:
    statement = state.statement
    if state.is_insert or state.is_update or state.is_delete:
        table = getattr(statement, "table", None)
        _note_written(
            state.session, {table.name} if table is not None and hasattr(table, "name") else {_UNKNOWN}
        )
    elif not state.is_select:
        _note_written(state.session, {_UNKNOWN})  # a textual statement may write anything


@event.listens_for(Session, "after_commit")
def _forget_on_commit(session: Session) -> None:
    written = session.info.pop(_WRITTEN, None) or set()
    if written and has_request_context():
        request.environ.setdefault(_REQUEST_WRITTEN, set()).update(written)
    forget(written)
    kept = session.info.pop(_AFTER_COMMIT, None)
    if kept and has_request_context():
        request.environ.setdefault(_KEY, {}).update(kept)


@event.listens_for(Session, "after_rollback")
def _forget_on_rollback(session: Session) -> None:
    session.info.pop(_WRITTEN, None)
    session.info.pop(_AFTER_COMMIT, None)
    forget()
