"""Records as JSON for the API and the browser: decimals stay exact text, times are ISO 8601 UTC."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_babel import get_locale

from .. import business_time
from . import access
from .models import Record


def _iso(value: datetime | None) -> str | None:
    # Always with the UTC offset: SQLite gives stored instants back without one.
    return business_time.iso_utc(value)


def _locale() -> str | None:
    try:
        locale = get_locale()
        return str(locale) if locale else None
    except Exception:  # outside a request
        return None


def user_json(user: Any) -> dict[str, Any] | None:
    if user is None:
        return None
    return {"id": user.id, "username": user.username, "display_name": user.display_name}


def department_json(department: Any) -> dict[str, Any] | None:
    if department is None:
        return None
    return {"id": department.id, "code": department.code, "name": department.name(_locale())}


def records_json(records: list[Record], user: Any) -> list[dict[str, Any]]:
    """``record_json`` of each of a page's records, their field rights read together (a few
    statements for the page, not a few per record)."""
    rights = access.rights_of_many(user, records)
    return [_record_json(record, user, rights.get(record.id)) for record in records]


def record_json(record: Record, user: Any) -> dict[str, Any]:
    """One record as the API returns it.

    ``user`` is the reader: field rights (hidden / masked fields) filter ``data`` here, so
    every read path gets them. Stored data already holds decimals as strings.
    """
    return _record_json(record, user, access.rights_of(user, record))


def _record_json(record: Record, user: Any, rights: Any) -> dict[str, Any]:
    # The reader is usually the owner: reuse the loaded user instead of another query.
    owner = (
        user if getattr(user, "id", None) == record.owner_id and hasattr(user, "username") else record.owner
    )
    return {
        "id": record.id,
        "form": record.form_key,
        "form_version": record.form_version,
        "status": record.status,
        "title": record.title,
        "data": dict(record.data or {}) if rights is None else rights.redact(record.data or {}),
        "owner": user_json(owner),
        "department": department_json(record.department),
        "created_at": _iso(record.created_at),
        "updated_at": _iso(record.updated_at),
        "submitted_at": _iso(record.submitted_at),
        "lock_version": record.lock_version,
    }
