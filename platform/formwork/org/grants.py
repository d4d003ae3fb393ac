"""Role grants: the one place a role is given or taken back — by an administrator (pages, API,
command line, import), by a route action on a decision, by the due work when a grant ends.

A grant may be limited to a department and may run *until a date*: it then ends at the end of
that business day (``FORMWORK_TIMEZONE``), stops counting at that instant wherever roles are read
(``RoleAssignment.in_force``), and ``expire_due`` removes it. Granting a role already held
extends it (a later end, or no end); it never shortens one silently. Every grant, extension,
revocation and expiry is a ``RoleGrantEvent`` (by whom, why, any override) and an audit entry.

Pairs of roles one person must not hold together (segregation of duties) are declared in the
permission definitions, above this package: a source of them is registered here (``on_pairs``).
A grant that would join a pair is refused (``GrantRefused``) unless an override reason is
recorded; the import checks its rows with the same ``conflicts_between``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from .. import business_time
from ..audit import actions, trail
from ..db_types import utcnow
from ..extensions import db
from .models import Department, Role, RoleAssignment, RoleGrantEvent, User

MAX_REASON = 500
# () -> [((role, role), label)]: the declared pairs of incompatible roles.
PairSource = Callable[[], Iterable[tuple[tuple[str, str], str]]]
_PAIR_SOURCES: dict[str, PairSource] = {}


class GrantRefused(ValueError):
    """A grant that would create a conflict (segregation of duties) and has no override reason."""

    def __init__(self, conflicts: list[str]):
        self.conflicts = conflicts
        super().__init__(
            _(
                "This grant conflicts with the person's other roles: %(conflicts)s. Record an override "
                "reason to grant it anyway.",
                conflicts="; ".join(conflicts),
            )
        )


def on_pairs(name: str, source: PairSource) -> None:
    """Register a source of incompatible role pairs (registering a name again replaces it)."""
    _PAIR_SOURCES[name] = source


def conflicts_between(held: set[str], role_key: str) -> list[str]:
    """The declared pairs that ``role_key`` would complete with the roles in ``held``."""
    return [
        f"{label} ({first}, {second})"
        for source in _PAIR_SOURCES.values()
        for (first, second), label in source()
        if role_key in (first, second) and ({first, second} - {role_key}) & held
    ]


def conflicts_of(user: User, role: Role) -> list[str]:
    """What granting ``role`` to ``user`` would join, given the roles they hold in force now."""
    now = utcnow()
    return conflicts_between({a.role.key for a in user.role_assignments if a.in_force(now)}, role.key)


def end_of(day: date) -> datetime:
    """The instant a grant "until ``day``" ends: the end of that business day, in UTC."""
    return business_time.day_end(day)


def _role(role: Role | str) -> Role:
    if isinstance(role, Role):
        return role
    found = db.session.scalar(select(Role).where(Role.key == role))
    if found is None:
        raise LookupError(f"no role {role!r}")
    return found


def _clean(text: str | None) -> str | None:
    text = (text or "").strip()
    return text[:MAX_REASON] or None


def _event(
    assignment: RoleAssignment,
    user: User,
    event: str,
    *,
    by: User | None,
    reason: str | None = None,
    override_reason: str | None = None,
) -> None:
    db.session.add(
        RoleGrantEvent(
            assignment_id=assignment.id,
            user_id=user.id,
            role_id=assignment.role.id,
            department_id=assignment.department_id,
            event=event,
            until=assignment.expires_at,
            by_id=by.id if by is not None else None,
            reason=reason,
            override_reason=override_reason,
            at=utcnow(),
        )
    )


def _audit(action: str, user: User, assignment: RoleAssignment, **details: Any) -> None:
    trail.append(
        action,
        object_type="user",
        object_id=user.id,
        department_id=user.department_id,
        details={
            "username": user.username,
            "role": assignment.role.key,
            "department": assignment.department.code if assignment.department else None,
            "until": business_time.iso_utc(assignment.expires_at),
            **{key: value for key, value in details.items() if value is not None},
        },
    )


def grant_role(
    user: User,
    role: Role | str,
    department: Department | None = None,
    *,
    until: date | None = None,
    reason: str | None = None,
    by: User | None = None,
    override_reason: str | None = None,
) -> RoleAssignment:
    """Give ``user`` the role (idempotent; a later ``until`` extends). The caller commits.

    Raises ``GrantRefused`` for conflicts without ``override_reason``, ``ValueError`` for an end
    date already past."""
    role = _role(role)
    reason, override_reason = _clean(reason), _clean(override_reason)
    expires_at = end_of(until) if until is not None else None
    now = utcnow()
    if expires_at is not None and expires_at <= now:
        raise ValueError(_("The end date has passed; choose today or a later day."))
    department_id = department.id if department is not None else None
    held = next(
        (a for a in user.role_assignments if a.role_id == role.id and a.department_id == department_id),
        None,
    )
    if held is not None and held.in_force(now):
        if held.expires_at is not None and (
            expires_at is None or expires_at > business_time.as_utc(held.expires_at)
        ):
            held.expires_at = expires_at
            if reason:
                held.reason = reason
            db.session.flush()
            _event(held, user, "extended", by=by, reason=reason)
            _audit(actions.ROLE_GRANT, user, held, extended=True, reason=reason)
        return held
    conflicts = conflicts_of(user, role)
    if conflicts and not override_reason:
        raise GrantRefused(conflicts)
    if held is not None:  # ended but not yet removed by the due work: its end is kept, then anew
        _event(held, user, "expired", by=None)
        _audit(actions.ROLE_REVOKE, user, held, expired=True)
        user.role_assignments.remove(held)
        db.session.flush()
    assignment = RoleAssignment(
        role=role,
        department=department,
        expires_at=expires_at,
        reason=reason,
        granted_by_id=by.id if by is not None else None,
        granted_at=now,
    )
    user.role_assignments.append(assignment)
    db.session.flush()
    _event(
        assignment,
        user,
        "granted",
        by=by,
        reason=reason,
        override_reason=override_reason if conflicts else None,
    )
    _audit(
        actions.ROLE_GRANT,
        user,
        assignment,
        reason=reason,
        override_reason=override_reason if conflicts else None,
        conflicts=conflicts or None,
    )
    return assignment


def revoke_role(assignment: RoleAssignment, *, by: User | None = None, reason: str | None = None) -> None:
    """Take the grant back now. The caller commits."""
    user = assignment.user
    _event(assignment, user, "revoked", by=by, reason=_clean(reason))
    _audit(actions.ROLE_REVOKE, user, assignment, reason=_clean(reason))
    user.role_assignments.remove(assignment)
    db.session.flush()


def expire_due(now: datetime | None = None) -> int:
    """Remove every grant whose end has come (each with an ``expired`` event and an audit entry);
    returns how many. The caller commits. Safe to run twice: an expired grant is gone."""
    now = now or utcnow()
    due = db.session.scalars(
        select(RoleAssignment).where(RoleAssignment.expires_at.is_not(None), RoleAssignment.expires_at <= now)
    ).all()
    for assignment in due:
        user = assignment.user
        _event(assignment, user, "expired", by=None)
        _audit(actions.ROLE_REVOKE, user, assignment, expired=True)
        user.role_assignments.remove(assignment)
    db.session.flush()
    return len(due)


def history(user: User, limit: int = 50) -> list[RoleGrantEvent]:
    return list(
        db.session.scalars(
            select(RoleGrantEvent)
            .where(RoleGrantEvent.user_id == user.id)
            .order_by(RoleGrantEvent.id.desc())
            .limit(limit)
        )
    )
