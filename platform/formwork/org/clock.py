"""The current time for sign-in and token checks, in one place so tests can move it."""

from __future__ import annotations

from datetime import datetime
from typing import overload

from .. import business_time


def now() -> datetime:
    return business_time.now()


@overload
def as_utc(value: datetime) -> datetime: ...
@overload
def as_utc(value: None) -> None: ...
@overload
def as_utc(value: datetime | None) -> datetime | None: ...
def as_utc(value: datetime | None) -> datetime | None:
    """Timestamps read back from SQLite are naive; they were written as UTC."""
    return business_time.as_utc(value)
