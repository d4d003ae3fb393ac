"""The submitter's actions on their own requests through the API: delete a draft, copy a request
into a new draft, remind the current approvers (催办) — the same services as the pages."""

from __future__ import annotations

from flask import jsonify
from flask_login import current_user, login_required

from ..records import drafts, serialize
from ..records.service import RecordError
from ..workflow.my_requests import has_process
from ..workflow.reminders import RemindRefused, TooSoon, remind
from . import api_bp, error_response
from .records import validation_response, visible_or_404


def _own(record_id: int):
    record = visible_or_404(record_id)
    if record.owner_id != current_user.id:
        return None, error_response(403, "only the owner can do this")
    return record, None


@api_bp.delete("/records/<int:record_id>")
@login_required
def delete_record(record_id: int):
    record, refused = _own(record_id)
    if refused:
        return refused
    try:
        drafts.delete_draft(record, current_user, has_process=has_process(record.id))
    except drafts.DraftRefused as exc:
        return error_response(409, exc.message)
    return "", 204


@api_bp.post("/records/<int:record_id>/copy")
@login_required
def copy_record(record_id: int):
    record, refused = _own(record_id)
    if refused:
        return refused
    try:
        draft = drafts.copy_to_draft(record, current_user)
    except RecordError as exc:
        return validation_response(exc)
    return jsonify(serialize.record_json(draft, current_user)), 201


@api_bp.post("/records/<int:record_id>/remind")
@login_required
def remind_record(record_id: int):
    record, refused = _own(record_id)
    if refused:
        return refused
    try:
        people = remind(record, current_user)
    except TooSoon as exc:
        body, status = error_response(429, exc.message, retry_after=exc.retry_after)
        body.headers["Retry-After"] = str(exc.retry_after)
        return body, status
    except RemindRefused as exc:
        return error_response(409, exc.message)
    return jsonify({"reminded": people})
