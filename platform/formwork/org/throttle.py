"""Failed sign-in counting per user name and per client address, in the database so every worker shares it.

Unknown user names are counted exactly like real ones, so neither the lock nor its
message tells anyone whether an account exists.

Two counters, one table (``login_throttles``): a user name's row is keyed by the name,
a client address's by ``ip:<address>`` (an IPv6 address by its /64 network, which one
client usually holds whole). A user name that itself begins with ``ip:`` is stored as
``name:ip:...``, so no name can stand for an address.

* A **user name** is locked after ``FORMWORK_LOGIN_MAX_FAILURES`` failures for
  ``FORMWORK_LOGIN_LOCK_SECONDS``; while it is locked even the right password is refused.
  When the lock runs out, counting starts afresh.
* A **client address** is locked after ``FORMWORK_LOGIN_MAX_FAILURES_PER_IP`` failures,
  across every name, for the same time; after that, each further failure from it within
  the window locks it again, so one address is slowed to one guess per lock period.
  Attempts from a locked address are refused *without* counting against the user name:
  an attacker cannot keep someone's name locked without spending their own address's
  allowance, and a lock on a name lasts at most one lock period after the last failure.
* Failures older than ``FORMWORK_LOGIN_FAILURE_WINDOW_SECONDS`` are forgotten and their
  rows removed (whenever a failure is recorded), so guessed names do not fill the table.

**An attempt is counted before its password is checked** (``claim_attempt``): one
``UPDATE ... WHERE not locked ... RETURNING`` per counter, committed at once, takes a slot or
finds the counter locked. Parallel attempts for one name therefore queue on its row, and no more
than the limit are ever checked — a burst cannot slip a right password in past the limit, as
it could when the lock was read first and the failure written after the (slow) check. A
successful sign-in then clears the name (``attempt_succeeded``) and gives its slot back to the
address.

The address is ``request.remote_addr``: behind reverse proxies set ``FORMWORK_PROXY_COUNT``
so that it is the client's address (the app then trusts that many ``X-Forwarded-For`` hops).
"""

from __future__ import annotations

import ipaddress
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from flask import current_app
from sqlalchemy import Table, and_, case, delete, literal, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError, IntegrityError

from ..extensions import db
from . import clock
from .models import LoginThrottle

_KEY_LENGTH = 80  # LoginThrottle.username
_TABLE = cast(Table, LoginThrottle.__table__)  # the counters, for single-statement INSERT/UPDATE
ADDRESS_PREFIX = "ip:"


def throttle_key(username: str) -> str:
    key = username.strip().lower()
    if key.startswith(ADDRESS_PREFIX):
        key = "name:" + key
    return key[:_KEY_LENGTH]


def address_key(address: str | None) -> str | None:
    """The row key of a client address (None when there is none to count)."""
    text = (address or "").strip()
    if not text:
        return None
    try:
        parsed = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return (ADDRESS_PREFIX + text.lower())[:_KEY_LENGTH]
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            parsed = parsed.ipv4_mapped
        else:
            return ADDRESS_PREFIX + str(ipaddress.IPv6Network(f"{parsed}/64", strict=False))
    return ADDRESS_PREFIX + str(parsed)


@dataclass(frozen=True)
class Lock:
    seconds: int = 0
    by_address: bool = False  # the client's address is locked, not (only) the user name

    def __bool__(self) -> bool:
        return self.seconds > 0


def _settings() -> tuple[int, int, int, timedelta]:
    config = current_app.config
    return (
        int(config["FORMWORK_LOGIN_MAX_FAILURES"]),
        int(config.get("FORMWORK_LOGIN_MAX_FAILURES_PER_IP", 20)),
        int(config["FORMWORK_LOGIN_LOCK_SECONDS"]),
        timedelta(seconds=int(config.get("FORMWORK_LOGIN_FAILURE_WINDOW_SECONDS", 3600))),
    )


def _row(key: str) -> LoginThrottle | None:
    return db.session.scalar(select(LoginThrottle).where(LoginThrottle.username == key).with_for_update())


def _remaining(key: str | None, now: datetime) -> int:
    if key is None:
        return 0
    row = db.session.scalar(select(LoginThrottle).where(LoginThrottle.username == key))
    locked_until = clock.as_utc(row.locked_until) if row else None
    if locked_until is None:
        return 0
    return max(0, math.ceil((locked_until - now).total_seconds()))


def lock_for(username: str, address: str | None = None) -> Lock:
    """Whether a sign-in as ``username`` from ``address`` is refused now, and for how long."""
    now = clock.now()
    by_address = _remaining(address_key(address), now)
    if by_address:
        return Lock(by_address, by_address=True)
    return Lock(_remaining(throttle_key(username), now))


def seconds_locked(username: str, address: str | None = None) -> int:
    """Seconds until ``username`` (from ``address``) may try again; 0 when it is not locked."""
    return lock_for(username, address).seconds


def _count(
    key: str,
    now: datetime,
    max_failures: int,
    lock_seconds: int,
    window: timedelta,
    *,
    fresh_after_lock: bool,
) -> int:
    """Count one failure against ``key``; seconds it is now locked (0 if not). Does not commit."""
    row = _row(key)
    if row is None:
        row = LoginThrottle(username=key, failures=0)
        db.session.add(row)
        db.session.flush()  # IntegrityError when another worker inserted the same key just now
    locked_until = clock.as_utc(row.locked_until)
    last = clock.as_utc(row.last_failure_at)
    expired_lock = locked_until is not None and locked_until <= now
    if (last is not None and last <= now - window) or (expired_lock and fresh_after_lock):
        row.failures, row.locked_until = 0, None
    row.failures = (row.failures or 0) + 1
    row.last_failure_at = now
    if row.failures >= max_failures:
        row.locked_until = now + timedelta(seconds=lock_seconds)
    locked_until = clock.as_utc(row.locked_until)
    return (
        max(0, math.ceil((locked_until - now).total_seconds())) if locked_until and locked_until > now else 0
    )


def record_failure(username: str, address: str | None = None) -> int:
    """Count one failed attempt against the name and the address; lock each at its limit.

    Returns the seconds this client now has to wait (0 if neither is locked).
    """
    return record_failure_lock(username, address).seconds


def record_failure_lock(username: str, address: str | None = None, *, name_locked: bool = False) -> Lock:
    """As ``record_failure``, with which lock applies. ``name_locked``: the attempt was refused because
    the name is locked; it counts against the address only."""
    max_failures, max_per_address, lock_seconds, window = _settings()
    now = clock.now()
    for attempt in (1, 2):
        try:
            lock = _count_both(
                username, address, now, name_locked, max_failures, max_per_address, lock_seconds, window
            )
            db.session.commit()
            break
        except IntegrityError:  # a row was inserted by another worker meanwhile: it exists now
            db.session.rollback()
            if attempt == 2:
                raise
    _forget_old(now, window)
    return lock


def _count_both(
    username: str,
    address: str | None,
    now: datetime,
    name_locked: bool,
    max_failures: int,
    max_per_address: int,
    lock_seconds: int,
    window: timedelta,
) -> Lock:
    by_name = 0
    if not name_locked:
        by_name = _count(
            throttle_key(username), now, max_failures, lock_seconds, window, fresh_after_lock=True
        )
    key = address_key(address)
    by_address = 0
    if key is not None:
        by_address = _count(key, now, max_per_address, lock_seconds, window, fresh_after_lock=False)
    if by_address:
        return Lock(max(by_address, by_name), by_address=True)
    return Lock(by_name)


@dataclass(frozen=True)
class Claim:
    """The outcome of ``claim_attempt``: whether the password may be checked, and the lock."""

    allowed: bool
    lock: Lock
    address_locked_now: bool = False  # this attempt's count locked the address (undone on success)


def _ensure_row(key: str) -> None:
    """The counter's row exists afterwards (inserted, or already there: never an error)."""
    table = _TABLE
    dialect = db.session.get_bind().dialect.name
    make = postgresql_insert if dialect == "postgresql" else sqlite_insert
    db.session.execute(
        make(table).values(username=key, failures=0).on_conflict_do_nothing(index_elements=["username"])
    )


def _take_slot(
    key: str, now: datetime, limit: int, lock_seconds: int, window: timedelta, *, fresh_after_lock: bool
) -> int | None:
    """Count one attempt against ``key`` unless it is locked, in one statement.

    Returns the seconds the key is locked after this attempt (0: not locked), or None when it was
    locked already and nothing was counted. On PostgreSQL a second worker's UPDATE waits for the
    first's row lock and re-checks ``locked_until`` on the row the first one wrote."""
    _ensure_row(key)
    table = _TABLE
    stamp = table.c.locked_until.type
    locked_now = literal(now + timedelta(seconds=lock_seconds), stamp)
    stale = or_(table.c.last_failure_at.is_(None), table.c.last_failure_at <= now - window)
    if fresh_after_lock:
        stale = or_(stale, and_(table.c.locked_until.is_not(None), table.c.locked_until <= now))
    counted = case((stale, 1), else_=table.c.failures + 1)
    row = db.session.execute(
        update(table)
        .where(
            table.c.username == key,
            or_(table.c.locked_until.is_(None), table.c.locked_until <= now),
        )
        .values(
            failures=counted,
            last_failure_at=literal(now, stamp),
            locked_until=case(
                (counted >= limit, locked_now),
                (stale, literal(None, stamp)),
                else_=table.c.locked_until,
            ),
        )
        .returning(table.c.locked_until)
        .execution_options(synchronize_session=False)
    ).first()
    if row is None:
        return None
    locked_until = clock.as_utc(row[0])
    return (
        max(0, math.ceil((locked_until - now).total_seconds())) if locked_until and locked_until > now else 0
    )


def claim_attempt(username: str, address: str | None = None) -> Claim:
    """Count a sign-in attempt against the address, then the name, before its password is checked.

    A locked address refuses without touching the name's counter; a locked name refuses and the
    attempt still counts against the address. Each count is committed at once (so parallel
    attempts see it); a failure needs nothing more, a success calls ``attempt_succeeded``."""
    max_failures, max_per_address, lock_seconds, window = _settings()
    now = clock.now()
    key = address_key(address)
    by_address = 0
    if key is not None:
        taken = _take_slot(key, now, max_per_address, lock_seconds, window, fresh_after_lock=False)
        db.session.commit()
        if taken is None:
            return Claim(False, Lock(_remaining(key, now), by_address=True))
        by_address = taken
    by_name = _take_slot(
        throttle_key(username), now, max_failures, lock_seconds, window, fresh_after_lock=True
    )
    db.session.commit()
    _forget_old(now, window)
    if by_name is None:
        seconds = _remaining(throttle_key(username), now)
        if by_address:
            return Claim(False, Lock(max(seconds, by_address), by_address=True), address_locked_now=True)
        return Claim(False, Lock(seconds))
    if by_address:
        return Claim(True, Lock(max(by_address, by_name), by_address=True), address_locked_now=True)
    return Claim(True, Lock(by_name))


def attempt_succeeded(username: str, address: str | None, claim: Claim) -> None:
    """The claimed attempt signed in: forget the name's failures and give the address its slot back
    (signing in to one's own account neither resets nor spends the address's allowance)."""
    db.session.execute(delete(LoginThrottle).where(LoginThrottle.username == throttle_key(username)))
    key = address_key(address)
    if key is not None:
        table = _TABLE
        values: dict = {"failures": table.c.failures - 1}
        if claim.address_locked_now:
            values["locked_until"] = None  # the lock this very attempt set: it did not fail after all
        db.session.execute(
            update(table)
            .where(table.c.username == key, table.c.failures > 0)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
    db.session.commit()


def _forget_old(now: datetime, window: timedelta) -> None:
    """Remove rows whose last failure is older than the window and that hold no lock any more.

    Housekeeping in a transaction of its own, after the failure is counted: if it collides
    with another worker's (a deadlock report on PostgreSQL), the next failure does it.
    """
    try:
        db.session.execute(
            delete(LoginThrottle)
            .where(
                LoginThrottle.last_failure_at < now - window,
                or_(LoginThrottle.locked_until.is_(None), LoginThrottle.locked_until <= now),
            )
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
    except DBAPIError:
        db.session.rollback()


def clear(username: str) -> None:
    """Forget a name's failures after a successful sign-in (an address's failures are kept: signing
    in to one's own account must not reset the allowance for guessing at others)."""
    db.session.execute(delete(LoginThrottle).where(LoginThrottle.username == throttle_key(username)))
    db.session.commit()
