"""Appending to the audit trail, in the caller's transaction.

``append(action, ...)`` only notes the entry in the session; the entries of a transaction are
written when it commits (a ``before_commit`` hook), after its other changes are flushed. So an
entry exists if and only if the change it describes committed, and the chain's lock — which
makes appends one after another, so every entry links to the one before — is held only from
that last insert to the commit:

* PostgreSQL: ``pg_advisory_xact_lock`` on one fixed key, released by the commit, taken by the
  ``audit_append`` function, which then reads the head and inserts the entries: one round trip;
* SQLite: the database's write lock (one writer at a time), taken before the chain's head is
  read.

With ``FORMWORK_AUDIT_ENABLED`` off nothing is written (the benchmark's baseline; a test of
something else may turn it off too). The actor is the signed-in person unless given; the
address is the request's client address (behind ``FORMWORK_PROXY_COUNT`` proxies, the one
they forwarded).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app, has_app_context, has_request_context, request
from flask_login import current_user
from sqlalchemy import JSON, String, cast, delete, event, func, insert, literal, select
from sqlalchemy.orm import Session, SessionTransaction

from .. import business_time
from ..extensions import db
from .chain import GENESIS, canonical_details, chained_hash, entry_body, time_text
from .models import AuditEntry

#: Where a session keeps the entries of its open transaction.
PENDING = "audit.pending"
#: The advisory lock key of the chain on PostgreSQL (any fixed bigint; "audit" in ASCII).
CHAIN_LOCK = 0x6175646974
#: ``actor=`` left out: the signed-in person of the request, if any.
CURRENT = object()
MAX_LABEL = 80
MAX_ADDRESS = 64
MAX_OBJECT_ID = 120


@dataclass(frozen=True)
class Pending:
    at: datetime
    actor_id: int | None
    actor_label: str | None
    address: str | None
    action: str
    object_type: str | None
    object_id: str | None
    department_id: int | None
    details: str | None


def enabled() -> bool:
    return not has_app_context() or bool(current_app.config.get("FORMWORK_AUDIT_ENABLED", True))


def _current_actor() -> Any:
    if not has_request_context():
        return None
    return current_user if getattr(current_user, "is_authenticated", False) else None


def _request_address() -> str | None:
    return request.remote_addr if has_request_context() else None


def append(
    action: str,
    *,
    actor: Any = CURRENT,
    actor_label: str | None = None,
    object_type: str | None = None,
    object_id: Any = None,
    department_id: int | None = None,
    details: Any = None,
    address: str | None = None,
    at: datetime | None = None,
) -> None:
    """Note an entry for the current transaction; it is written when the transaction commits.

    ``actor`` is a person (``id`` and ``username``) or None for the system; ``actor_label``
    names someone without an account (a sign-in with an unknown name). ``details`` is any
    JSON-able value (decimals and dates are kept as their text). ``at`` (UTC) is for generated
    history only (the demo's, written before any live entry so the trail stays in time order);
    every live event is stamped now.
    """
    if not enabled():
        return
    who = _current_actor() if actor is CURRENT else actor
    label = actor_label if actor_label is not None else getattr(who, "username", None)
    where = address if address is not None else _request_address()
    entry = Pending(
        at=at if at is not None else business_time.now(),
        actor_id=getattr(who, "id", None),
        actor_label=label[:MAX_LABEL] if label else None,
        address=where[:MAX_ADDRESS] if where else None,
        action=action,
        object_type=object_type,
        object_id=str(object_id)[:MAX_OBJECT_ID] if object_id is not None else None,
        department_id=department_id,
        details=canonical_details(details),
    )
    session = db.session()
    if session.get_transaction() is None:
        # The entry belongs to a transaction: one is begun (as the next statement would), so that a
        # rollback before any statement still forgets it.
        session.begin()
    session.info.setdefault(PENDING, []).append(entry)


def _write(session: Session, entries: list[Pending]) -> None:
    session.flush()  # the transaction's own changes first: the lock is taken as late as possible
    if session.get_bind().dialect.name == "postgresql":
        _append_postgresql(session, entries)
    else:
        _append_here(session, entries)


def _append_postgresql(session: Session, entries: list[Pending]) -> None:
    """One round trip: ``audit_append`` (``audit.models``) takes the lock, reads the head, inserts."""
    rows = [
        {**entry.__dict__, "at": time_text(entry.at), "body": entry_body(entry.__dict__)} for entry in entries
    ]
    entries_json = cast(literal(json.dumps(rows, ensure_ascii=False), String()), JSON())
    # A SELECT to the session (it is one): a textual statement would make the request forget
    # everything it has read (``request_memo``), and nothing read once per request is of this table.
    session.execute(select(func.audit_append(entries_json, CHAIN_LOCK)))


def _append_here(session: Session, entries: list[Pending]) -> None:
    """The same on SQLite: any write takes its one write lock (until the commit) before the head is read."""
    session.execute(delete(AuditEntry).where(AuditEntry.id.is_(None)))  # changes nothing
    head = session.execute(
        select(AuditEntry.id, AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1)
    ).first()
    last_id, last_hash = (head.id, head.hash) if head is not None else (0, GENESIS)
    rows = []
    for entry in entries:
        last_id += 1
        last_hash, previous = chained_hash(last_id, entry_body(entry.__dict__), last_hash), last_hash
        rows.append({**entry.__dict__, "id": last_id, "prev_hash": previous, "hash": last_hash})
    session.execute(insert(AuditEntry), rows)


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    entries = session.info.pop(PENDING, None)
    if entries:
        _write(session, entries)


@event.listens_for(Session, "after_soft_rollback")
def _after_rollback(session: Session, previous: SessionTransaction) -> None:
    if not previous.nested:  # a rolled-back savepoint leaves the outer transaction's entries
        session.info.pop(PENDING, None)
