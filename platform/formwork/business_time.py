"""The clock and the business time zone: store UTC, show and reckon days in business time.

Every timestamp is stored as UTC. People, though, live in one business time zone
(``FORMWORK_TIMEZONE``, default ``Asia/Shanghai``): a claim submitted at 07:30 in Beijing
(23:30 UTC the day before) is dated that morning, ``$today`` is Beijing's date, and an
out-of-office period "1 to 3 May" runs from Beijing midnight to Beijing midnight. This
module is the one place that knows both: :func:`now` is the clock (tests move it), and the
other functions turn UTC instants into business dates and times and back.

It sits on the ground layer beside ``config``: it reads the zone from the application's
configuration when there is one, and the default otherwise (command-line tools without an
application, offline checks).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime, time, timedelta, timezone
from typing import overload
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import current_app, has_app_context

DEFAULT_TIMEZONE = "Asia/Shanghai"


def zone_named(name: str) -> ZoneInfo:
    """The IANA zone called ``name``; ``ValueError`` naming the setting when there is none."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"FORMWORK_TIMEZONE={name!r} is not an IANA time zone (e.g. Asia/Shanghai)") from exc


def zone() -> ZoneInfo:
    """The business time zone."""
    name = current_app.config.get("FORMWORK_TIMEZONE") if has_app_context() else None
    return zone_named(name or DEFAULT_TIMEZONE)


# Set while the demo generator replays months of work (``at``): every timestamp written then is
# the replayed moment's, as if it had happened at that time.
_REPLAYED: ContextVar[datetime | None] = ContextVar("formwork_replayed_now", default=None)


def now() -> datetime:
    """The current instant, aware, in UTC: the one clock everything reads."""
    replayed = _REPLAYED.get()
    return replayed if replayed is not None else datetime.now(timezone.utc)


@contextmanager
def at(moment: datetime) -> Iterator[None]:
    """Within this block the clock reads ``moment`` (aware; a naive one is taken as UTC)."""
    token = _REPLAYED.set(moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment)
    try:
        yield
    finally:
        _REPLAYED.reset(token)


@overload
def as_utc(moment: datetime) -> datetime: ...
@overload
def as_utc(moment: None) -> None: ...
@overload
def as_utc(moment: datetime | None) -> datetime | None: ...
def as_utc(moment: datetime | None) -> datetime | None:
    """``moment`` as an aware UTC datetime; naive values (SQLite gives them back) were written as UTC."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


@overload
def local(moment: datetime) -> datetime: ...
@overload
def local(moment: None) -> None: ...
@overload
def local(moment: datetime | None) -> datetime | None: ...
def local(moment: datetime | None) -> datetime | None:
    """A stored instant as business time (aware, in the business zone)."""
    utc = as_utc(moment)
    if utc is None:
        return None
    try:
        return utc.astimezone(zone())
    except OverflowError:  # at the very end of year 9999 the business day would be in year 10000
        return utc


def local_now() -> datetime:
    return now().astimezone(zone())


def today() -> date:
    """The business calendar day now."""
    return local_now().date()


@overload
def local_date(moment: datetime) -> date: ...
@overload
def local_date(moment: None) -> None: ...
@overload
def local_date(moment: datetime | None) -> date | None: ...
def local_date(moment: datetime | None) -> date | None:
    """The business calendar day of a stored instant."""
    value = local(moment)
    return value.date() if value is not None else None


def from_local(moment: datetime) -> datetime:
    """A date-time as people enter it (no offset: business time) as an aware UTC instant.

    A value with an offset keeps its own meaning. Of a wall-clock time that happens twice or
    never (a daylight-saving change, in zones that have one), the first is taken.
    """
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone())
    return moment.astimezone(timezone.utc)


def day_start(day: date) -> datetime:
    """The UTC instant at which business day ``day`` begins (business midnight)."""
    return from_local(datetime.combine(day, time.min))


def day_end(day: date) -> datetime:
    """The UTC instant at which business day ``day`` ends: the start of the next day."""
    return day_start(day + timedelta(days=1))


def iso_utc(moment: datetime | None) -> str | None:
    """The form every API answer uses: ISO 8601 in UTC with its offset (``2026-05-01T23:30:00+00:00``)."""
    utc = as_utc(moment)
    return utc.isoformat() if utc is not None else None


def offset_label(moment: datetime | None = None) -> str:
    """``UTC+08:00``: the business zone's offset at ``moment`` (now by default), for texts sent out."""
    value = local(moment) if moment is not None else local_now()
    offset = value.utcoffset() or timedelta(0)
    sign = "-" if offset < timedelta(0) else "+"
    minutes = abs(int(offset.total_seconds())) // 60
    return f"UTC{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def text(moment: datetime | None) -> str:
    """A stored instant as plain business time, for texts and command output.

    ``2026-05-02 07:30 (UTC+08:00)``: the offset says which zone, as these texts leave the app."""
    value = local(moment)
    if value is None:
        return ""
    return f"{value:%Y-%m-%d %H:%M} ({offset_label(moment)})"
