"""API bearer tokens: created for a user, shown once, stored only as a hash.

A token is ``fw_`` followed by 43 URL-safe random characters. The database keeps its
SHA-256 digest, so a copy of the database does not give anyone a working token.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import joinedload

from ..audit import actions, trail
from ..extensions import db, rows_affected
from . import clock
from .models import ApiToken, User, hash_token

TOKEN_PREFIX = "fw_"
# Writing last_used_at on every request would turn every API read into a write; once a
# minute is precise enough to see which tokens are still in use.
LAST_USED_RESOLUTION = timedelta(minutes=1)
_MAX_TOKEN_LENGTH = 200


def create_token(user: User, name: str, days: int | None = None) -> str:
    """Create a token for ``user`` (expiring after ``days`` if given), commit, return the plaintext."""
    if days is not None and days <= 0:
        raise ValueError("days must be positive")
    plaintext = TOKEN_PREFIX + secrets.token_urlsafe(32)
    expires_at = clock.now() + timedelta(days=days) if days else None
    token = ApiToken(user=user, name=name or "token", token_hash=hash_token(plaintext), expires_at=expires_at)
    db.session.add(token)
    db.session.flush()
    _audit(actions.TOKEN_CREATE, token, user)
    db.session.commit()
    return plaintext


def _audit(action: str, token: ApiToken, owner: User) -> None:
    """Whose token, its name and expiry: never the secret or its hash."""
    trail.append(
        action,
        object_type="token",
        object_id=token.id,
        department_id=owner.department_id,
        details={"owner": owner.username, "name": token.name, "expires_at": token.expires_at},
    )


def list_tokens(user: User) -> list[ApiToken]:
    return list(db.session.scalars(select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id)))


def revoke_token(token_id: int) -> ApiToken | None:
    """Revoke one token by id (idempotent); None when there is no such token."""
    token = db.session.get(ApiToken, token_id)
    if token is None:
        return None
    if token.revoked_at is None:
        token.revoked_at = clock.now()
        _audit(actions.TOKEN_REVOKE, token, token.user)
    db.session.commit()
    return token


def revoke_user_tokens(user: User) -> int:
    """Revoke every live token of ``user``; the caller commits. Returns how many were revoked."""
    return rows_affected(
        update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=clock.now())
    )


def token_is_live(token: ApiToken) -> bool:
    if token.revoked_at is not None:
        return False
    expires_at = clock.as_utc(token.expires_at)
    return expires_at is None or expires_at > clock.now()


# Built once: every API request runs it.
_TOKEN_WITH_USER = (
    select(ApiToken)
    .where(ApiToken.token_hash == bindparam("token_hash"))
    .options(
        joinedload(ApiToken.user).joinedload(User.department),
        joinedload(ApiToken.user).joinedload(User.role_assignments),
    )
)


def user_for_token(plaintext: str) -> User | None:
    """The active user a live token belongs to, or None (unknown, expired, revoked, user left)."""
    if not plaintext or not plaintext.startswith(TOKEN_PREFIX) or len(plaintext) > _MAX_TOKEN_LENGTH:
        return None
    # One query for token, user, department and roles: every API request needs them all.
    token = db.session.execute(_TOKEN_WITH_USER, {"token_hash": hash_token(plaintext)}).unique().scalar()
    if token is None or not token_is_live(token):
        return None
    user = token.user
    if user is None or not user.active:
        return None
    _touch(token)
    return user


def _touch(token: ApiToken) -> None:
    now = clock.now()
    last_used = clock.as_utc(token.last_used_at)
    if last_used is not None and now - last_used < LAST_USED_RESOLUTION:
        return
    # A conditional UPDATE, committed before the view runs, so it never mixes with the view's work.
    db.session.execute(
        update(ApiToken)
        .where(ApiToken.id == token.id)
        .values(last_used_at=now)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
