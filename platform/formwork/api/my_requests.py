"""The submitter's actions on their own requests through the API: delete a draft, copy a request
into a new draft, remind the current approvers (催办) — the same services as the pages."""

from __future__ import annotations

from flask import jsonify
from flask_login import current_user, login_required

from ..records import drafts, serialize
from ..records.service import RecordError
from ..workflow.my_requests import has_process
from ..workflow.reminders import RemindRefused, TooSoon, remind
from .blueprint import api_bp, error_response
from .records import INVALID_DATA, NOT_FOUND, RECORD, validation_response, visible_or_404
from .spec import ID, error, obj, operation, reply

NOT_OWNER = error("The caller may see but does not own this record.")


def _own(record_id: int):
    record = visible_or_404(record_id)
    if record.owner_id != current_user.id:
        return None, error_response(403, "only the owner can do this")
    return record, None


@api_bp.delete("/records/<int:record_id>")
@login_required
@operation(
    "Delete my own draft that was never submitted; its files become unclaimed uploads.",
    tag="records",
    responses={
        204: {"description": "Deleted."},
        403: NOT_OWNER,
        404: NOT_FOUND,
        409: error("Not a draft, or it was submitted before."),
    },
)
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
@operation(
    "Start a new draft of the form's current version from my request's entered values "
    "(without attached files and fields the version no longer has).",
    tag="records",
    responses={201: reply(RECORD, "The new draft."), 403: NOT_OWNER, 404: NOT_FOUND, 422: INVALID_DATA},
)
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
@operation(
    "Remind (催办) the people my running request waits on; at most once per "
    "FORMWORK_REMIND_INTERVAL_SECONDS (default 3600) per request.",
    tag="records",
    responses={
        200: reply(obj({"reminded": {"type": "array", "items": ID}}), "The ids of the people reminded."),
        403: NOT_OWNER,
        404: NOT_FOUND,
        409: error("The request is not waiting for anyone."),
        429: error("A reminder was sent recently; Retry-After says when the next may be sent."),
    },
)
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
