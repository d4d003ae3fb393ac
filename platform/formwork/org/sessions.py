"""Server-side sign-in sessions: the cookie only names a session, the database decides if it lives.

The session cookie is signed, so nobody can forge one, but a signed cookie alone cannot be
taken back: a copy made before sign-out, or before a password change, would keep working.
So signing in creates a ``sign_in_sessions`` row with a random key, the cookie carries the
key, and every request looks the row up (in the same query that loads the user). Ending a
session deletes its row; ending all of a person's sessions deletes all of theirs. Because
the check is in the database, it takes effect on the next request on every worker.

Sessions older than ``FORMWORK_SESSION_MAX_DAYS`` are refused and removed, so rows of
browsers that were closed without signing out do not pile up.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from flask import current_app, session
from sqlalchemy import bindparam, delete, select
from sqlalchemy.orm import joinedload

from ..extensions import db, rows_affected
from . import clock
from .models import ADMINISTRATOR, Role, RoleAssignment, SignInSession, User, hash_token, in_force

SESSION_KEY = "_session_key"  # the name of the key inside the signed session cookie
_MAX_KEY_LENGTH = 200

# Whether the person holds the administrator role at all (organisation-wide or for a department):
# read with the session, so the menu knows whether to offer Administration without a query of its own.
_ADMINISTERS = (
    select(RoleAssignment.id)
    .join(Role, Role.id == RoleAssignment.role_id)
    .where(RoleAssignment.user_id == User.id, Role.key == ADMINISTRATOR, in_force(bindparam("now")))
    .correlate(User)
    .exists()
)

# Built once: every signed-in request runs it.
_USER_OF_SESSION = (
    select(User, SignInSession.created_at, _ADMINISTERS)
    .join(SignInSession, SignInSession.user_id == User.id)
    .where(SignInSession.key_hash == bindparam("key_hash"), User.id == bindparam("user_id"))
    # Pages read the user's department (scopes, the header) and roles: in the same query, as for
    # API tokens.
    .options(joinedload(User.department), joinedload(User.role_assignments))
)


def _max_age() -> timedelta:
    return timedelta(days=current_app.config.get("FORMWORK_SESSION_MAX_DAYS", 30))


def start(user: User) -> None:
    """Record a new session for ``user`` and put its key in the cookie; the caller commits."""
    key = secrets.token_urlsafe(32)
    db.session.add(SignInSession(user_id=user.id, key_hash=hash_token(key), created_at=clock.now()))
    # The user's expired sessions go now, when a new one is made, rather than by a separate job.
    db.session.execute(
        delete(SignInSession).where(
            SignInSession.user_id == user.id, SignInSession.created_at < clock.now() - _max_age()
        )
    )
    session[SESSION_KEY] = key


def user_of_session(user_id: int) -> User | None:
    """The active user whose live session the current cookie names, or None."""
    key = session.get(SESSION_KEY)
    if not isinstance(key, str) or not key or len(key) > _MAX_KEY_LENGTH:
        return None
    found = db.session.execute(
        _USER_OF_SESSION, {"key_hash": hash_token(key), "user_id": user_id, "now": clock.now()}
    )
    row = found.unique().first()
    if row is None:
        return None
    user, created_at, administers = row
    if not user.active or clock.as_utc(created_at) <= clock.now() - _max_age():
        return None
    user.holds_administrator_role = bool(administers)  # for this request only (see administration_menu)
    return user


def end_current() -> None:
    """End the session the current cookie names (if any); the caller commits."""
    key = session.get(SESSION_KEY)
    if isinstance(key, str) and key:
        db.session.execute(delete(SignInSession).where(SignInSession.key_hash == hash_token(key)))


def end_all(user: User) -> int:
    """End every session of ``user`` (all browsers, all devices); the caller commits."""
    return rows_affected(delete(SignInSession).where(SignInSession.user_id == user.id))
