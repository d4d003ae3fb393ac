"""Records through the API: list, read, edit drafts, history.

Request bodies are parsed with ``parse_float=Decimal`` so money never passes
through a binary float; Flask's JSON provider writes ``Decimal`` back as a
string. Every read goes through ``records.access`` so data scopes apply, and a
record outside the caller's scope is a 404, never a 403.
"""

from __future__ import annotations

from flask import abort, jsonify, url_for
from flask_login import current_user, login_required

from ..records import access, listing, serialize, service
from ..records.models import EDITABLE_STATUSES, STATUSES, Record
from ..records.queries import newest_page, record_filters
from ..workflow import submission
from .blueprint import api_bp, error_response
from .shapes import history_json
from .spec import (
    DATE_TIME,
    ID,
    PAGING,
    Param,
    body,
    component,
    error,
    nullable,
    obj,
    operation,
    page_arguments,
    query_args,
    ref,
    reply,
)

PERSON = component(
    "Person",
    obj(
        {"id": ID, "username": {"type": "string"}, "display_name": {"type": "string"}},
        optional=("username",),
    ),
)
RECORD = component(
    "Record",
    obj(
        {
            "id": ID,
            "form": {"type": "string", "description": "The form key."},
            "form_version": {
                "type": "integer",
                "description": "The definition version the record was made with.",
            },
            "status": {"type": "string", "enum": list(STATUSES)},
            "title": nullable({"type": "string"}),
            "data": ref("FormData"),
            "owner": nullable(PERSON),
            "department": nullable(
                obj({"id": ID, "code": nullable({"type": "string"}), "name": nullable({"type": "string"})})
            ),
            "created_at": nullable(DATE_TIME),
            "updated_at": nullable(DATE_TIME),
            "submitted_at": nullable(DATE_TIME),
            "lock_version": {
                "type": "integer",
                "description": "Send it back with PATCH to refuse the edit if someone changed "
                "the record since.",
            },
        }
    ),
)
component(
    "FormData",
    {
        "type": "object",
        "description": (
            'Field values by field key. Decimal and money values are strings ("1234.50") or JSON numbers, '
            "never rounded through binary floats; dates are ISO strings; line items are lists of objects; "
            "attachments are lists of attachment ids. The form's definition says which fields there are."
        ),
        "additionalProperties": True,
    },
)
component(
    "ValidationErrors",
    obj(
        {
            "error": {
                "type": "string",
                "description": '"validation failed" for field values; for body fields that do not fit the '
                "declaration, the first fault in words.",
            },
            "errors": {"type": "array", "items": ref("FieldError")},
        },
        closed=False,
    ),
)
INVALID_DATA = reply(
    ref("ValidationErrors"),
    "Field values failed validation (wrong JSON type, bounds, rules, fields the caller may not write); "
    "paths like lines[2].amount. Body fields that do not fit the declaration are a 422 too.",
)
UNAVAILABLE = error(
    "The form's version cannot be used in this installation (e.g. a plugin it needs is not loaded); "
    "the error names what is missing."
)
NOT_FOUND = error("Not found, or outside the caller's data scope (never 403, to reveal nothing).")
RECORD_DATA = {
    "type": "object",
    "description": "Field values by field key (see FormData).",
    "additionalProperties": True,
}
SUBMIT = {"type": "boolean", "default": False, "description": "true submits; false keeps a draft."}


def validation_response(exc: service.RecordError):
    """A refusal of the records service as JSON; validation failures in the agreed 422 shape:
    ``{"error": "validation failed", "errors": [{"field": "lines[2].amount", "message": "..."}]}``."""
    if isinstance(exc, service.ValidationFailed):
        return error_response(422, "validation failed", errors=list(exc.errors))
    return error_response(exc.status, exc.message)


def visible_or_404(record_id: int) -> Record:
    record = access.get_visible(current_user, record_id)
    if record is None:
        abort(404, "record not found")
    return record


@api_bp.get("/records")
@login_required
@operation(
    "Records in the caller's data scope, newest first (by creation, ties by id), a page at a time. "
    "Page on with the answer's `next_cursor` (or follow `next`): every page costs what the first "
    "one costs and no record is skipped or repeated when records are added meanwhile. `page` "
    "(an offset) still works for old clients, but a deep page reads every record before it. "
    "`total` is counted up to 1,000 (`FORMWORK_COUNT_CAP`): with `total_is_capped` true there "
    "are more than `total`.",
    tag="records",
    query={
        "form": Param({"type": "string"}, "Only records of this form key."),
        "status": Param({"type": "string", "enum": list(STATUSES)}, "Only records in this status."),
        "q": Param({"type": "string"}, "Search the title and searchable text (the first 200 characters)."),
        "cursor": Param(
            {"type": "string", "maxLength": 300},
            "The `next_cursor` of the previous page, with the same filters: the page after it. "
            "An opaque, signed value; one the server did not give out is a 400.",
        ),
        **PAGING,
    },
    responses={
        200: reply(
            obj(
                {
                    "items": {"type": "array", "items": RECORD},
                    "page": {"type": "integer", "minimum": 1},
                    "per_page": {"type": "integer", "minimum": 1},
                    "total": {
                        "type": "integer",
                        "minimum": 0,
                        "description": "How many records match, counted up to the cap (1,000 unless "
                        "configured).",
                    },
                    "total_is_capped": {
                        "type": "boolean",
                        "description": "true: more records match than `total` (counting stopped at the cap).",
                    },
                    "next_cursor": nullable(
                        {
                            "type": "string",
                            "description": "The `cursor` of the next page; null on the last page.",
                        }
                    ),
                    "next": nullable(
                        {
                            "type": "string",
                            "description": "The URL of the next page (same filters); null on the last page.",
                        }
                    ),
                }
            ),
            "One page.",
        ),
        400: error("A query parameter is wrong, e.g. a `cursor` this server did not give out."),
    },
)
def list_records():
    args = query_args()
    page, per_page = page_arguments()
    q = (args.get("q") or "").strip()[:200] or None
    after = None
    if args.get("cursor") is not None:
        try:
            after = listing.decode_cursor(args["cursor"])
        except listing.BadCursor:
            message = "the cursor is not one this list gave out (changed, cut short or made up)"
            return error_response(400, message, errors=[{"field": "cursor", "message": message}])
        if page != 1:
            message = "give either a cursor or a page, not both"
            return error_response(400, message, errors=[{"field": "page", "message": message}])
    conditions = record_filters(args.get("form"), args.get("status"), q)
    found = newest_page(current_user, conditions, per_page=per_page, page=page, after=after)
    next_cursor = listing.encode_cursor(found.next_after) if found.next_after else None
    kept = {key: args[key] for key in ("form", "status", "q") if args.get(key)}
    return jsonify(
        {
            "items": serialize.records_json(found.items, current_user),
            "page": page,
            "per_page": per_page,
            "total": found.total,
            "total_is_capped": found.capped,
            "next_cursor": next_cursor,
            "next": url_for("api.list_records", cursor=next_cursor, per_page=per_page, **kept)
            if next_cursor
            else None,
        }
    )


@api_bp.get("/records/<int:record_id>")
@login_required
@operation(
    "One record, fields filtered by the caller's field rights.",
    tag="records",
    responses={200: reply(RECORD, "The record."), 404: NOT_FOUND},
)
def get_record(record_id: int):
    return jsonify(serialize.record_json(visible_or_404(record_id), current_user))


@api_bp.patch("/records/<int:record_id>")
@login_required
@operation(
    "Edit a draft or returned record of mine (partial or full data); submit=true submits it.",
    tag="records",
    body=obj(
        {
            "data": RECORD_DATA,
            "submit": SUBMIT,
            "lock_version": {
                "type": "integer",
                "minimum": 0,
                "description": "The record's lock_version as last read: a 409 instead of overwriting "
                "someone else's change. Without it the edit applies to the record as it stands.",
            },
        },
        optional=("data", "submit", "lock_version"),
    ),
    responses={
        200: reply(RECORD, "The updated record."),
        403: error("The caller may see but not edit this record (only its owner can)."),
        404: NOT_FOUND,
        409: error("The record is no longer a draft or returned, or it changed since lock_version."),
        422: INVALID_DATA,
        503: UNAVAILABLE,
    },
)
def patch_record(record_id: int):
    record = visible_or_404(record_id)
    fields = body()
    if record.owner_id != current_user.id:
        # Seeing a record (e.g. as an administrator) is not the right to edit someone's draft.
        abort(403, "only the owner can edit this record")
    if record.status not in EDITABLE_STATUSES:
        abort(409, f'the record is "{record.status}"; only drafts and returned records can be edited')
    try:
        record = submission.update_record(
            record,
            fields.get("data", {}),
            current_user,
            submit=fields.get("submit", False),
            lock_version=fields.get("lock_version"),
            json_input=True,
        )
    except service.RecordError as exc:
        return validation_response(exc)
    return jsonify(serialize.record_json(record, current_user))


@api_bp.get("/records/<int:record_id>/history")
@login_required
@operation(
    "The record's history: its changes (creation, edits, submission) and the approval trail, in time order.",
    tag="records",
    responses={
        200: reply(
            obj(
                {
                    "record_id": ID,
                    "items": {"type": "array", "items": {"anyOf": [ref("RecordEvent"), ref("TrailEntry")]}},
                }
            ),
            "Changes (kind change) and trail entries (kind approval), oldest first.",
        ),
        404: NOT_FOUND,
    },
)
def record_history(record_id: int):
    record = visible_or_404(record_id)
    return jsonify({"record_id": record.id, "items": history_json(record, current_user)})


component(
    "RecordEvent",
    obj(
        {
            "id": ID,
            "kind": {"const": "change"},
            "action": {"type": "string"},
            "at": nullable(DATE_TIME),
            "actor": nullable(PERSON),
            "changes": {"description": "What changed, by field (null when nothing is recorded)."},
            "comment": nullable({"type": "string"}),
        }
    ),
)
