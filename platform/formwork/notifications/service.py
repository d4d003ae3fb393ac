"""Telling people: in-app notifications plus outbox messages, in the caller's transaction.

``notify`` never commits. The rows it writes belong to the change that caused them
(a decision, a submission, a timeout), so they are committed or rolled back with it:
no e-mail about a decision that did not happen, and none lost for one that did.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flask import current_app
from sqlalchemy import func, insert, inspect, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.util import identity_key

from .. import business_time
from ..db_types import utcnow
from ..extensions import db, rows_affected
from ..forms.catalogue import compiled_form
from ..org.models import User
from ..routes.store import compiled_route
from .channels import channels
from .messages import KINDS, locale_of, render
from .models import Notification, OutboxMessage

DEDUPE_KEY_LENGTH = 200
log = logging.getLogger(__name__)


def enqueue(
    channel: str,
    recipient: str,
    *,
    subject: str | None = None,
    body: str | None = None,
    payload: dict[str, Any] | None = None,
    dedupe_key: str | None = None,
) -> int | None:
    """Add a message to the outbox in the current transaction; returns its id.

    With a ``dedupe_key``, a second enqueue with the same key does nothing and returns
    None, also when two transactions race: the insert uses ``ON CONFLICT DO NOTHING``,
    so the unique violation never happens and the caller's transaction stays usable.
    """
    if dedupe_key is not None and len(dedupe_key) > DEDUPE_KEY_LENGTH:
        raise ValueError(f"dedupe_key is longer than {DEDUPE_KEY_LENGTH} characters")
    values = {
        "channel": channel,
        "recipient": recipient,
        "subject": subject[:500] if subject else subject,
        "body": body,
        "payload": payload,
        "dedupe_key": dedupe_key,
        "next_attempt_at": utcnow(),
    }
    if dedupe_key is None:
        stmt = insert(OutboxMessage).values(**values)
    else:
        dialect = db.session.get_bind().dialect.name
        if dialect == "postgresql":
            stmt = (
                pg_insert(OutboxMessage)
                .values(**values)
                .on_conflict_do_nothing(index_elements=["dedupe_key"])
            )
        elif dialect == "sqlite":
            stmt = (
                sqlite_insert(OutboxMessage)
                .values(**values)
                .on_conflict_do_nothing(index_elements=["dedupe_key"])
            )
        else:  # another database: look first, inside a savepoint so a lost race cannot spoil the caller
            return _enqueue_with_savepoint(values)
    return db.session.execute(stmt.returning(OutboxMessage.id)).scalar_one_or_none()


def _enqueue_with_savepoint(values: dict[str, Any]) -> int | None:

    if db.session.scalar(select(OutboxMessage.id).where(OutboxMessage.dedupe_key == values["dedupe_key"])):
        return None
    try:
        with db.session.begin_nested():
            return db.session.execute(
                insert(OutboxMessage).values(**values).returning(OutboxMessage.id)
            ).scalar_one()
    except IntegrityError:
        return None


def notify(
    user_ids: Iterable[int | User | None],
    kind: str,
    *,
    record: Any = None,
    task: Any = None,
    params: Mapping[str, Any] | None = None,
    dedupe: str | None = None,
    into: list[dict[str, Any]] | None = None,
) -> list[Notification]:
    """Notify people of ``kind`` (see ``messages.KINDS``) about ``record`` / ``task``.

    Writes one in-app ``Notification`` per active recipient and, for every channel that
    reaches them (e-mail when SMTP is configured and they have an address; plugin
    channels as configured), one outbox message rendered in the recipient's language.
    ``dedupe`` makes the outbox part idempotent: repeated calls with the same value
    enqueue each (channel, recipient) once. Nothing is committed here. ``into`` collects the
    in-app rows for the caller to write with ``insert_notifications`` (one statement for many
    calls, no objects made; nothing is returned then).
    """
    if kind not in KINDS:  # told anyway, with a generic text: a missing wording must not stop a decision
        log.warning("notification kind %r has no text of its own; using the generic one", kind)
    if len(kind) > 40:
        raise ValueError("a notification kind is at most 40 characters")
    user_ids = list(user_ids or ())
    given = [item for item in user_ids if isinstance(item, User)]
    wanted = _unique_ids(user_ids)
    if not wanted:
        return []
    users = _users(wanted, given)
    values = _params(record, task, params)
    # The columns link only to rows that exist; a parameter of the same name is text for the message.
    record_id = record.id if record is not None else (task.record_id if task is not None else None)
    task_id = task.id if task is not None else None
    registered = list(channels().values())
    created: list[Notification] = []
    for user_id in wanted:
        user = users.get(user_id)
        if user is None or not user.active:  # people who have left are not told anything
            continue
        row = {"user_id": user.id, "kind": kind, "record_id": record_id, "task_id": task_id, "params": values}
        if into is not None:
            into.append(row)
        else:
            notification = Notification(**row)
            db.session.add(notification)
            created.append(notification)
        rendered: tuple[str, str] | None = None
        for channel in registered:
            address = channel.address_for(user, kind)
            if not address:
                continue
            rendered = rendered or render(kind, values, locale_of(user))
            subject, body = rendered
            enqueue(
                channel.name,
                address,
                subject=subject,
                body=body,
                payload={
                    "kind": kind,
                    "user_id": user.id,
                    "username": user.username,
                    "record_id": record_id,
                    "task_id": task_id,
                },
                dedupe_key=f"{dedupe}:{channel.name}:{user.id}"[:DEDUPE_KEY_LENGTH] if dedupe else None,
            )
    if into is None:
        db.session.flush()
    return created


def insert_notifications(rows: list[dict[str, Any]]) -> None:
    """Write the rows ``notify(..., into=rows)`` collected, in one statement."""
    if rows:
        now = utcnow()
        db.session.execute(
            insert(db.metadata.tables[Notification.__tablename__]),
            [{"created_at": now, **row} for row in rows],
        )


_USER_COLUMNS = frozenset(column.key for column in User.__table__.columns)


def _users(ids: list[int], given: list[User]) -> dict[int, User]:
    """The users by id: those passed in, or the session already holds loaded (the submitter, the
    decider), are taken as they are, the rest read in one query."""
    found: dict[int, User] = {user.id: user for user in given}
    for user_id in ids:
        if user_id in found:
            continue
        held = db.session.identity_map.get(identity_key(User, user_id))
        # Its columns must be loaded; relationships (department, manager) may well not be.
        if held is not None and inspect(held).unloaded.isdisjoint(_USER_COLUMNS):
            found[user_id] = held
    missing = [user_id for user_id in ids if user_id not in found]
    if missing:
        found.update((u.id, u) for u in db.session.scalars(select(User).where(User.id.in_(missing))))
    return found


def _unique_ids(user_ids: Iterable[int | User | None]) -> list[int]:
    seen: list[int] = []
    for item in user_ids or ():
        user_id = item.id if isinstance(item, User) else item
        if user_id is not None and int(user_id) not in seen:
            seen.append(int(user_id))
    return seen


def _json_value(value: Any) -> Any:
    """Parameters are stored as JSON: people become their display names, times ISO text."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, User):
        return value.display_name
    if isinstance(value, datetime):
        # Stored times are UTC (naive from SQLite); people read them in business time, with the
        # offset, since the text may be read far away (an e-mail, a chat message).
        return business_time.text(value)
    if isinstance(value, (date, Decimal)):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): _json_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_json_value(v) for v in value]
    return str(value)


def _params(record: Any, task: Any, params: Mapping[str, Any] | None) -> dict[str, Any]:
    """The message parameters: what the record and task say about themselves, then the caller's."""
    values: dict[str, Any] = {}
    if task is not None:
        values["task_id"] = task.id
        values["step_key"] = task.step_key
        values["step"] = task.step_key
        values["step_name"] = _step_name(task)
        if record is None:
            record = task.record
    if record is not None:
        values["record_id"] = record.id
        values["form_key"] = record.form_key
        values["form_title"] = _form_title(record)
        if record.title:
            values["title"] = record.title
        base_url = (current_app.config.get("FORMWORK_BASE_URL") or "").rstrip("/")
        if base_url:
            values["url"] = f"{base_url}/records/{record.id}"
    for key, value in (params or {}).items():
        values[str(key)] = _json_value(value)
    return values


def _form_title(record: Any) -> Any:
    """The form's bilingual title, from the compiled form of the record's version (cached per
    version), so the definition's JSON content is not loaded again for every message."""
    definition = getattr(record, "definition", None)
    if definition is None:
        return record.form_key

    try:
        return compiled_form(definition).titles or record.form_key
    except Exception:  # a version that no longer compiles still names its form
        content = getattr(definition, "content", None) or {}
        return content.get("title") or record.form_key


def _step_name(task: Any) -> Any:
    """The step's bilingual name from the route version the process runs on, else its key."""
    process = getattr(task, "process", None)
    route = getattr(process, "route", None)
    if route is None:
        return task.step_key

    try:
        step = compiled_route(route).steps.get(task.step_key)
    except Exception:  # a version that no longer compiles: read its definition instead
        content = getattr(route, "content", None) or {}
        found = _find_step(content.get("steps") or [], task.step_key)
        return (found or {}).get("name") or (found or {}).get("title") or task.step_key
    return (step.name if step is not None else None) or task.step_key


def _find_step(nodes: Any, key: str) -> dict | None:
    """Walk a route definition's nodes (steps, parallel branches, branch cases) for step ``key``."""
    if isinstance(nodes, Mapping):
        if nodes.get("key") == key and ("approvers" in nodes or "name" in nodes):
            return dict(nodes)
        nodes = list(nodes.values())
    if isinstance(nodes, list):
        for node in nodes:
            if isinstance(node, (Mapping, list)):
                found = _find_step(node, key)
                if found:
                    return found
    return None


# ---- reading and marking -----------------------------------------------------------------


def unread_count(user: Any) -> int:
    """How many of ``user``'s notifications are unread (for the navigation badge)."""
    if user is None or not getattr(user, "is_authenticated", True) or getattr(user, "id", None) is None:
        return 0
    return int(
        db.session.scalar(
            select(func.count(Notification.id)).where(
                Notification.user_id == user.id, Notification.read_at.is_(None)
            )
        )
        or 0
    )


def notifications_of(user: Any, *, page: int = 1, per_page: int = 20, unread_only: bool = False):
    """One page of ``user``'s notifications, newest first, and the total."""
    stmt = select(Notification).where(Notification.user_id == user.id)
    if unread_only:
        stmt = stmt.where(Notification.read_at.is_(None))
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    items = db.session.scalars(
        stmt.order_by(Notification.created_at.desc(), Notification.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return list(items), int(total)


def mark_read(user: Any, notification_id: int) -> Notification | None:
    """Mark one of ``user``'s notifications read (None when it is not theirs). Commits."""
    notification = db.session.scalar(
        select(Notification).where(Notification.id == notification_id, Notification.user_id == user.id)
    )
    if notification is None:
        return None
    if notification.read_at is None:
        notification.read_at = utcnow()
        db.session.commit()
    return notification


def mark_all_read(user: Any) -> int:
    """Mark every unread notification of ``user`` read; returns how many. Commits."""
    count = rows_affected(
        update(Notification)
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
    )
    db.session.commit()
    return count


def notification_text(notification: Notification, locale: str) -> tuple[str, str]:
    """A stored notification's subject and body in ``locale`` (``zh_CN`` or ``en``)."""
    return render(notification.kind, notification.params or {}, locale)
