"""Failed sign-in counting per user name, kept in the database so every worker shares it.

Unknown user names are counted exactly like real ones, so neither the lock nor its
message tells anyone whether an account exists.
"""
from __future__ import annotations

import math
from datetime import timedelta

from flask import current_app
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from . import clock
from .models import LoginThrottle

_KEY_LENGTH = 80  # LoginThrottle.username


def throttle_key(username: str) -> str:
    return username.strip().lower()[:_KEY_LENGTH]


def _row(key: str) -> LoginThrottle | None:
    return db.session.scalar(select(LoginThrottle).where(LoginThrottle.username == key).with_for_update())


def seconds_locked(username: str) -> int:
    """Seconds until ``username`` may try again; 0 when it is not locked."""
    row = db.session.scalar(select(LoginThrottle).where(LoginThrottle.username == throttle_key(username)))
    locked_until = clock.as_utc(row.locked_until) if row else None
    if locked_until is None:
        return 0
    remaining = (locked_until - clock.now()).total_seconds()
    return max(0, math.ceil(remaining))


def record_failure(username: str) -> int:
    """Count one failed attempt; lock the name once the limit is reached. Returns seconds locked (0 if not)."""
    key = throttle_key(username)
    max_failures = int(current_app.config["FORMWORK_LOGIN_MAX_FAILURES"])
    lock_seconds = int(current_app.config["FORMWORK_LOGIN_LOCK_SECONDS"])
    now = clock.now()
    row = _row(key)
    if row is None:
        row = LoginThrottle(username=key, failures=0)
        db.session.add(row)
        try:
            db.session.flush()
        except IntegrityError:  # another worker inserted the same name just now
            db.session.rollback()
            row = _row(key)
            assert row is not None
    locked_until = clock.as_utc(row.locked_until)
    if locked_until is not None and locked_until <= now:
        # The previous lock has run out: start counting afresh.
        row.failures, row.locked_until = 0, None
    row.failures = (row.failures or 0) + 1
    row.last_failure_at = now
    if row.failures >= max_failures:
        row.locked_until = now + timedelta(seconds=lock_seconds)
    db.session.commit()
    return lock_seconds if row.locked_until is not None else 0


def clear(username: str) -> None:
    """Forget failures after a successful sign-in."""
    db.session.execute(delete(LoginThrottle).where(LoginThrottle.username == throttle_key(username)))
    db.session.commit()
