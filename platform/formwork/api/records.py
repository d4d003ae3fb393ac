"""Records through the API: list, read, edit drafts, history.

Request bodies are parsed with ``parse_float=Decimal`` so money never passes
through a binary float; Flask's JSON provider writes ``Decimal`` back as a
string. Every read goes through ``records.access`` so data scopes apply, and a
record outside the caller's scope is a 404, never a 403.
"""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, jsonify, request
from flask_login import current_user, login_required
from sqlalchemy import func, or_, select

from ..extensions import db
from ..input_limits import MAX_JSON_DEPTH, MAX_PAGE, MAX_ROW_ID, JSONInputError, load_json, whole_number
from ..records import access, serialize, service
from ..records.models import DRAFT, STATUSES, Record, RecordEvent
from . import api_bp, error_response

EDITABLE_STATUSES = (DRAFT, "returned")
MAX_PER_PAGE = 100


def parse_json_body(raw: bytes, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """A JSON request body, decimals exact; 400 saying what and where for anything refused
    (malformed, nested too deeply, an absurd number, NUL in a text)."""
    try:
        return load_json(raw, max_depth=max_depth)
    except JSONInputError as exc:
        if exc.pointer is not None:
            response, status = error_response(400, f"{exc.message} (at {exc.pointer})", field=exc.pointer)
            response.status_code = status
            abort(response)
        abort(400, f"the request body is refused: {exc}")


def json_body(allowed_keys: frozenset[str] | None = None) -> dict[str, Any]:
    """The request body as a JSON object, decimals exact; 415, 413 or 400 with a clear message otherwise."""
    mimetype = request.mimetype or ""
    if not (mimetype == "application/json" or mimetype.endswith("+json")):
        abort(415, "send the request body as JSON with Content-Type: application/json")
    raw = request.get_data(cache=True)  # raises 413 beyond MAX_CONTENT_LENGTH
    if not raw.strip():
        abort(400, "the request body is empty; send a JSON object")
    body = parse_json_body(raw)
    if not isinstance(body, dict):
        abort(400, "the request body must be a JSON object")
    if allowed_keys is not None:
        unknown = sorted(set(body) - allowed_keys)
        if unknown:
            abort(400, f"unknown key(s) in the request body: {', '.join(unknown)}")
    return body


def write_arguments(body: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """``data`` (an object) and ``submit`` (a boolean) from a create or edit body."""
    data = body.get("data", {})
    if not isinstance(data, dict):
        abort(400, '"data" must be a JSON object of field values')
    submit = body.get("submit", False)
    if not isinstance(submit, bool):
        abort(400, '"submit" must be true or false')
    return data, submit


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


def query_int(name: str, default: int | None, low: int, high: int = MAX_ROW_ID) -> int:
    """A whole-number query parameter in ASCII digits from ``low`` to ``high``; 400 otherwise.

    Without the parameter, ``default`` (None: the parameter is required).
    """
    value = request.args.get(name)
    if value in (None, ""):
        if default is None:
            abort(400, f'"{name}" is required: a whole number from {low} to {high}')
        return default
    number = whole_number(value, low, high)
    if number is None:
        abort(400, f'"{name}" must be a whole number from {low} to {high}')
    return number


def page_arguments(max_per_page: int = MAX_PER_PAGE) -> tuple[int, int]:
    """``page`` and ``per_page`` of a list request (400 when out of range; default page size from config)."""
    page = query_int("page", 1, 1, MAX_PAGE)
    per_page = query_int("per_page", current_app.config.get("FORMWORK_PAGE_SIZE", 20), 1, max_per_page)
    return page, per_page


def filtered_records(form_key: str | None, status: str | None, q: str | None):
    """The caller's visible records, filtered, newest first (shared with the browser list)."""
    stmt = access.visible_records(current_user)
    if form_key:
        stmt = stmt.where(Record.form_key == form_key)
    if status:
        stmt = stmt.where(Record.status == status)
    if q:
        # Escape LIKE wildcards so a search for "100%" means the text, not a pattern.
        needle = "%" + q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        stmt = stmt.where(
            or_(
                func.lower(Record.title).like(needle, escape="\\"),
                func.lower(Record.search_text).like(needle, escape="\\"),
            )
        )
    return stmt


def paginate(stmt, page: int, per_page: int) -> tuple[list[Record], int]:
    """One page of ``stmt`` (newest first) and the total count."""
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    items = db.session.scalars(
        stmt.order_by(Record.created_at.desc(), Record.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return list(items), int(total or 0)


@api_bp.get("/records")
@login_required
def list_records():
    status = request.args.get("status") or None
    if status and status not in STATUSES:
        abort(400, f'unknown status "{status}"; one of: {", ".join(STATUSES)}')
    page, per_page = page_arguments()
    q = (request.args.get("q") or "").strip()[:200] or None
    stmt = filtered_records(request.args.get("form") or None, status, q)
    items, total = paginate(stmt, page, per_page)
    return jsonify(
        {
            "items": [serialize.record_json(record, current_user) for record in items],
            "page": page,
            "per_page": per_page,
            "total": total,
        }
    )


@api_bp.get("/records/<int:record_id>")
@login_required
def get_record(record_id: int):
    return jsonify(serialize.record_json(visible_or_404(record_id), current_user))


@api_bp.patch("/records/<int:record_id>")
@login_required
def patch_record(record_id: int):
    record = visible_or_404(record_id)
    body = json_body(frozenset({"data", "submit", "lock_version"}))
    data, submit = write_arguments(body)
    lock_version = body.get("lock_version")
    if lock_version is not None and (isinstance(lock_version, bool) or not isinstance(lock_version, int)):
        abort(400, '"lock_version" must be an integer (the record\'s lock_version as last read)')
    if record.owner_id != current_user.id:
        # Seeing a record (e.g. as an administrator) is not the right to edit someone's draft.
        abort(403, "only the owner can edit this record")
    if record.status not in EDITABLE_STATUSES:
        abort(409, f'the record is "{record.status}"; only drafts and returned records can be edited')
    try:
        record = service.update_record(
            record, data, current_user, submit=submit, lock_version=lock_version, json_input=True
        )
    except service.RecordError as exc:
        return validation_response(exc)
    return jsonify(serialize.record_json(record, current_user))


@api_bp.get("/records/<int:record_id>/history")
@login_required
def record_history(record_id: int):
    record = visible_or_404(record_id)
    events = db.session.scalars(
        select(RecordEvent).where(RecordEvent.record_id == record.id).order_by(RecordEvent.at, RecordEvent.id)
    ).all()
    from .processes import history_items  # record changes and the approval trail, in time order

    return jsonify(
        {"record_id": record.id, "items": history_items(record, [event_json(event) for event in events])}
    )


def event_json(event: RecordEvent) -> dict[str, Any]:
    actor = event.actor
    return {
        "id": event.id,
        "action": event.action,
        "at": event.at.isoformat() if event.at else None,
        "actor": None
        if actor is None
        else {"id": actor.id, "username": actor.username, "display_name": actor.display_name},
        "changes": event.changes,
        "comment": event.comment,
    }
