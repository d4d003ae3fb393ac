"""Drafts people no longer want, and new drafts started from an earlier request.

Deleting is for drafts only: a request that was ever submitted keeps its record and trail. The
draft's files become unclaimed uploads, removed by ``formwork due run`` like any other.

Copying starts a new draft of the form's current version from another request's values: the
entered values only (computed ones are computed again), without attached files (each file belongs
to one request) and without fields the current version no longer has.
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext
from sqlalchemy import delete, update

from ..definitions import store
from ..extensions import db
from ..forms import catalogue
from .models import DRAFT, Attachment, Record, RecordEvent
from .service import create_draft

ATTACHMENT = "attachment"


class DraftRefused(Exception):
    """Not possible for this record (status 409: only drafts can be deleted)."""

    status = 409

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def delete_draft(record: Record, user: Any, *, has_process: bool) -> None:
    """Delete ``user``'s own draft and commit. ``has_process``: whether a route ever ran for it (the
    caller asks the workflow, which lives above this layer); such a record is never deleted."""
    if record.owner_id != user.id:
        raise PermissionError("only the owner can delete a draft")
    if record.status != DRAFT or has_process:
        raise DraftRefused(gettext("Only a draft that was never submitted can be deleted."))
    db.session.execute(update(Attachment).where(Attachment.record_id == record.id).values(record_id=None))
    db.session.execute(delete(RecordEvent).where(RecordEvent.record_id == record.id))
    db.session.delete(record)
    db.session.commit()


def copyable_values(form: Any, data: dict[str, Any]) -> dict[str, Any]:
    """The entered values of ``data`` that ``form`` (the current version) still has, without files."""
    values: dict[str, Any] = {}
    for field in form.fields:
        if field.parent is not None or field.is_computed or field.type.name == ATTACHMENT:
            continue
        if field.key not in data or data[field.key] is None:
            continue
        if field.is_lines:
            keep = [sub for sub in field.fields if not sub.is_computed and sub.type.name != ATTACHMENT]
            values[field.key] = [
                {sub.key: row.get(sub.key) for sub in keep if row.get(sub.key) is not None}
                for row in data[field.key]
                if isinstance(row, dict)
            ]
        else:
            values[field.key] = data[field.key]
    return values


def copy_to_draft(record: Record, user: Any) -> Record:
    """A new draft of ``user``'s own, filled from ``record``; committed. Raises ``FormNotFound`` when
    the form is no longer published and ``ValidationFailed`` for values the current version refuses."""
    version = store.current("form", record.form_key)
    form = catalogue.compiled_form(version) if version is not None else None
    values = copyable_values(form, record.data or {}) if form is not None else {}
    return create_draft(record.form_key, values, user, definition=version, json_input=True)
