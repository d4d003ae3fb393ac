"""Which records a user may see: the one place data scopes plug in.

Every read path (lists, detail, search, the API, downloads of attachments) asks
here, so a later data-scope definition changes visibility everywhere at once.
Today: people see their own records; administrators see all.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select

from ..extensions import db
from .models import Record

ADMINISTRATOR = "administrator"


def sees_everything(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and user.has_role(ADMINISTRATOR)


def visible_records(user: Any) -> Select:
    """A ``SELECT Record`` limited to what ``user`` may see (add filters and ordering to it)."""
    stmt = select(Record)
    if user is None or not getattr(user, "is_authenticated", False) or getattr(user, "id", None) is None:
        return stmt.where(Record.id.is_(None))  # matches nothing
    if sees_everything(user):
        return stmt
    return stmt.where(Record.owner_id == user.id)


def get_visible(user: Any, record_id: int) -> Record | None:
    """The record if ``user`` may see it, else None (callers answer 404, revealing nothing)."""
    if not isinstance(record_id, int) or isinstance(record_id, bool):
        return None
    return db.session.scalar(visible_records(user).where(Record.id == record_id))


def can_see(user: Any, record: Record) -> bool:
    if record is None or user is None or not getattr(user, "is_authenticated", False):
        return False
    return record.owner_id == user.id or sees_everything(user)
