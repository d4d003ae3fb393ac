"""Out-of-office delegation: tasks arriving for someone who is away go to their delegate.

A delegation covers ``starts_at <= t < ends_at`` unless cancelled. Only tasks *arriving*
in the period are redirected (tasks already waiting stay where they are; the person can
transfer them). Delegations chain (A away → B, B away → C gives C), at most
``MAX_CHAIN`` hops and never back to someone already on the chain.

Periods as people enter them (the settings page and ``/api/me/out-of-office``) are read by
``set_period``: dates or date-times, a delegate by id or user name. Every refusal is an
``OutOfOfficeError`` naming the input at fault. Periods of one person never overlap, so
there is never a doubt about whom a task goes to.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any, Sequence

from flask_babel import gettext as _
from sqlalchemy import bindparam, select

from .. import business_time
from ..db_types import utcnow
from ..extensions import db
from ..input_limits import row_id
from ..org import directory
from ..org.clock import as_utc
from ..org.models import User
from ..org.users import user_by_username
from .errors import InvalidDecision
from .models import Delegation

MAX_CHAIN = 5
# A period longer than this is almost certainly a typing mistake (a year instead of a week).
MAX_DAYS = 366


class OutOfOfficeError(InvalidDecision):
    """A period that cannot be saved; ``field`` names the input at fault (for forms and the API)."""


# ---- the rule: who receives a task -------------------------------------------------------------


# A delegation in force at the bound time ``at``: not cancelled, its period around ``at``.
_IN_FORCE_AT = (
    Delegation.cancelled_at.is_(None),
    Delegation.starts_at <= bindparam("at"),
    Delegation.ends_at > bindparam("at"),
)

# Built once: every task created asks it.
_IN_FORCE = (
    select(Delegation)
    .where(Delegation.user_id == bindparam("user_id"), *_IN_FORCE_AT)
    .order_by(Delegation.created_at.desc(), Delegation.id.desc())
    .limit(1)
)


def active_delegation(user_id: int, at: datetime | None = None) -> Delegation | None:
    """The user's delegation in force at ``at`` (now by default), the latest created first."""
    return db.session.scalar(_IN_FORCE, {"user_id": user_id, "at": at or utcnow()})


def delegate_for(user: User, at: datetime | None = None, *, avoid: set[int] | None = None) -> User:
    """Who actually receives a task meant for ``user`` now: ``user`` themself unless away.

    An inactive delegate, or one in ``avoid`` (e.g. the submitter), ends the chain: the task
    then stays with the last person reached.
    """
    seen = {user.id}
    current = user
    for _step in range(MAX_CHAIN):
        delegation = active_delegation(current.id, at)
        if delegation is None:
            break
        delegate = delegation.delegate
        if delegate is None or not delegate.active or delegate.id in seen or delegate.id in (avoid or set()):
            break
        seen.add(delegate.id)
        current = delegate
    return current


# Built once: the delegations in force for several people (a step's approvers) in one query.
_IN_FORCE_FOR_MANY = select(Delegation.user_id).where(
    Delegation.user_id.in_(bindparam("user_ids", expanding=True)), *_IN_FORCE_AT
)


def delegates_for(
    users: list[User],
    at: datetime | None = None,
    *,
    avoid: set[int] | None = None,
    known_away: dict[int, bool] | None = None,
) -> dict[int, User]:
    """``delegate_for`` for each of ``users`` (by id), asking the database once for them all:
    only the few who are away have their chain followed one by one. ``known_away`` (user id →
    away at ``at``, e.g. from ``role_holders_with_absence``) spares the question when it covers them all."""
    if not users:
        return {}
    at = at or utcnow()
    if known_away is not None and all(u.id in known_away for u in users):
        away = {u.id for u in users if known_away[u.id]}
    else:
        away = set(
            db.session.scalars(_IN_FORCE_FOR_MANY, {"user_ids": sorted({u.id for u in users}), "at": at})
        )
    return {user.id: delegate_for(user, at, avoid=avoid) if user.id in away else user for user in users}


# Built once: holders of a step's roles, each with whether they are away at ``at`` (one query).
_AWAY = select(Delegation.id).where(Delegation.user_id == User.id, *_IN_FORCE_AT).exists().label("away")
_HOLDERS_WITH_ABSENCE = directory.role_holders_statement(_AWAY)


def role_holders_with_absence(role_keys: list[str], at: datetime) -> Sequence[Any]:
    """Rows ``(User, assignment department id, role key, away)`` for ``directory.role_holders_known``."""
    return db.session.execute(_HOLDERS_WITH_ABSENCE, {"role_keys": role_keys, "at": at}).all()


# ---- periods -----------------------------------------------------------------------------------


def set_out_of_office(
    user: User, delegate: User | None, starts_at: datetime, ends_at: datetime
) -> Delegation:
    """Record a period away; raises ``OutOfOfficeError`` for a bad period or delegate. The caller commits."""
    if delegate is None:
        raise OutOfOfficeError(_("Choose the person who acts for you."), "delegate")
    if not delegate.active:
        raise OutOfOfficeError(
            _("%(name)s is no longer active and cannot act for you.", name=delegate.display_name), "delegate"
        )
    if delegate.id == user.id:
        raise OutOfOfficeError(_("Choose someone other than yourself."), "delegate")
    starts_at, ends_at = as_utc(starts_at), as_utc(ends_at)
    if ends_at <= starts_at:
        raise OutOfOfficeError(_("The period must end after it starts."), "ends_at")
    if ends_at <= utcnow():
        raise OutOfOfficeError(_("The period is already over; choose a later last day."), "ends_at")
    if ends_at - starts_at > timedelta(days=MAX_DAYS):
        raise OutOfOfficeError(_("A period can last at most %(n)s days.", n=MAX_DAYS), "ends_at")
    overlapping = db.session.scalar(
        select(Delegation.id)
        .where(
            Delegation.user_id == user.id,
            Delegation.cancelled_at.is_(None),
            Delegation.starts_at < ends_at,
            Delegation.ends_at > starts_at,
        )
        .limit(1)
    )
    if overlapping is not None:
        raise OutOfOfficeError(
            _("This period overlaps one you already set; cancel that one first."), "starts_at"
        )
    delegation = Delegation(user_id=user.id, delegate_id=delegate.id, starts_at=starts_at, ends_at=ends_at)
    db.session.add(delegation)
    db.session.flush()
    return delegation


def cancel_out_of_office(delegation: Delegation, user: User) -> None:
    """End a delegation early (only its owner may); the caller commits."""
    if delegation.user_id != user.id:
        raise InvalidDecision(_("This is not your delegation."))
    if delegation.cancelled_at is None:
        delegation.cancelled_at = utcnow()


def delegations_of(user: User, *, include_past: bool = False) -> list[Delegation]:
    """The user's delegations, current and coming (and past ones when asked), soonest first."""
    stmt = select(Delegation).where(Delegation.user_id == user.id, Delegation.cancelled_at.is_(None))
    if not include_past:
        stmt = stmt.where(Delegation.ends_at > utcnow())
    return list(db.session.scalars(stmt.order_by(Delegation.starts_at)))


# ---- periods as people enter them --------------------------------------------------------------


def parse_moment(value: Any, *, end: bool = False) -> datetime:
    """An ISO date or date-time as an aware UTC datetime.

    A bare date means the whole business day (``FORMWORK_TIMEZONE``): as a start, business
    midnight; as an end, business midnight at the end of that day (so ``2026-05-01 ..
    2026-05-03`` covers three full days in Beijing, not three UTC days). A date-time without
    an offset, as people type it, is business time too; one with an offset keeps its meaning.
    """
    if isinstance(value, datetime):
        return as_utc(value)  # a value from code (or the database): naive ones are UTC
    if isinstance(value, date):
        day = value
    else:
        text = str(value or "").strip()
        if not text:
            raise ValueError("empty")
        if len(text) == 10:
            day = date.fromisoformat(text)
        else:
            return business_time.from_local(datetime.fromisoformat(text.replace("Z", "+00:00")))
    return business_time.day_end(day) if end else business_time.day_start(day)


def find_user(value: Any) -> User | None:
    """A user by id (int or digits) or by user name."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int) or (isinstance(value, str) and value.strip().isdigit()):
        user_id = row_id(value)  # digits beyond an id's range name nobody
        return db.session.get(User, user_id) if user_id is not None else None
    if isinstance(value, str) and value.strip():
        return user_by_username(value)
    return None


def set_period(user: User, delegate_ref: Any, starts: Any, ends: Any) -> Delegation:
    """Save a new period from form or JSON input (``OutOfOfficeError`` names the field at fault); commits."""
    delegate = find_user(delegate_ref)
    if delegate is None:
        raise OutOfOfficeError(_("Choose the person who acts for you."), "delegate")
    try:
        starts_at = parse_moment(starts)
    except (TypeError, ValueError):
        raise OutOfOfficeError(
            _("Give the first day as a date (YYYY-MM-DD) or a date and time."), "starts_at"
        ) from None
    try:
        ends_at = parse_moment(ends, end=True)
    except (TypeError, ValueError):
        raise OutOfOfficeError(
            _("Give the last day as a date (YYYY-MM-DD) or a date and time."), "ends_at"
        ) from None
    period = set_out_of_office(user, delegate, starts_at, ends_at)
    db.session.commit()
    return period


def cancel(user: User, delegation_id: int | None = None) -> list[Delegation]:
    """Cancel one of the user's current or coming periods (without an id: all of them). Commits.

    Returns what was cancelled; an id that is not one of the user's periods cancels nothing.
    """
    rows = [row for row in delegations_of(user) if delegation_id is None or row.id == delegation_id]
    for row in rows:
        cancel_out_of_office(row, user)
    db.session.commit()
    return rows


def delegation_json(period: Delegation) -> dict[str, Any]:
    delegate = period.delegate
    now = utcnow()
    starts_at, ends_at = as_utc(period.starts_at), as_utc(period.ends_at)
    return {
        "id": period.id,
        "delegate": {"id": delegate.id, "username": delegate.username, "display_name": delegate.display_name},
        "starts_at": starts_at.isoformat(),
        "ends_at": ends_at.isoformat(),
        "active": period.cancelled_at is None and starts_at <= now < ends_at,
        "cancelled_at": as_utc(period.cancelled_at).isoformat() if period.cancelled_at else None,
    }
