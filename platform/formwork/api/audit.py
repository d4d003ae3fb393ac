"""``GET /api/audit`` and ``GET /api/audit/export``: the audit trail for administrators, searched as
on the page (``exports.audit_trail``: their scope, values masked by their field rights)."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request
from flask_login import current_user, login_required

from ..exports import audit_trail
from ..exports.records import MEDIA_TYPES
from .blueprint import api_bp, error_response
from .spec import DATE_TIME, ID, MAX_ID, Param, binary, component, error, nullable, obj, operation, reply

TEXT = {"type": "string", "maxLength": audit_trail.MAX_TEXT}

ENTRY = component(
    "AuditEntry",
    obj(
        {
            "id": ID,
            "at": DATE_TIME,
            "actor_id": nullable(ID),
            "actor": nullable({"type": "string", "description": "The user name at the time (or as typed)."}),
            "address": nullable({"type": "string", "description": "The client's network address."}),
            "action": {"type": "string", "examples": ["session.sign_in", "record.change", "task.decide"]},
            "object_type": nullable({"type": "string"}),
            "object_id": nullable({"type": "string"}),
            "department_id": nullable(ID),
            "details": {
                "description": "What happened, as JSON. A record's entry lists its changes "
                "({path, before, after}); values the caller may not read are masked, or left out "
                "with hidden: true.",
            },
            "hash": {"type": "string", "description": "SHA-256 of the entry and the previous entry's hash."},
        }
    ),
)

SEARCH = {
    "actor": Param(TEXT, "The person's user name at the time (as typed, or in lower case)."),
    "action": Param(TEXT, "An action name (session.sign_in), or its first part ending in a dot (session.)."),
    "object_type": Param(TEXT, "user, record, token, form, route, permission, …"),
    "object_id": Param(TEXT, "The object's id or key."),
    "from": Param({"type": "string", "format": "date"}, "First business day (the business time zone)."),
    "to": Param({"type": "string", "format": "date"}, "Last business day, included."),
}

FILE = binary("text/csv", "The CSV (UTF-8 with a byte order mark), streamed.")
FILE["content"].update(binary(MEDIA_TYPES["xlsx"], "The workbook.")["content"])
FILE["description"] = (
    "The entries found, newest first: CSV (format=csv) or an .xlsx workbook (format=xlsx); the time in "
    "the business time zone."
)
NOT_ADMIN = error("The caller administers nothing (there is no audit trail for them).")


def _scope() -> audit_trail.Scope | None:
    return audit_trail.scope_of(current_user)


@api_bp.get("/audit")
@login_required
@operation(
    "Search the audit trail: newest first, a page at a time (pass next_before as before for the next).",
    tag="audit",
    query={
        **SEARCH,
        "before": Param(
            {"type": "integer", "minimum": 1, "maximum": MAX_ID}, "Only entries older than this id."
        ),
        "per_page": Param(
            {"type": "integer", "minimum": 1, "maximum": audit_trail.MAX_PAGE_SIZE}, "Page size."
        ),
    },
    responses={
        200: reply(
            obj({"items": {"type": "array", "items": ENTRY}, "next_before": nullable(ID)}),
            "One page of entries.",
        ),
        404: NOT_ADMIN,
        422: error("A date is not a date, or the period ends before it starts."),
    },
)
def search_audit():
    scope = _scope()
    if scope is None:
        return error_response(404, "not found")
    try:
        query = audit_trail.parse_query(request.args)
    except audit_trail.AuditQueryError as exc:
        return error_response(exc.status, exc.message)
    size: Any = request.args.get("per_page")
    page = audit_trail.search(current_user, scope, query, int(size) if size else None)
    return jsonify({"items": [item.as_json() for item in page.entries], "next_before": page.next_before})


@api_bp.get("/audit/export")
@login_required
@operation(
    "Export the audit trail entries a search finds, as CSV or .xlsx (the export is itself audited).",
    tag="audit",
    query={
        **SEARCH,
        "format": Param(
            {"type": "string", "enum": list(audit_trail.FORMATS), "default": "csv"}, "csv or xlsx."
        ),
    },
    responses={
        200: FILE,
        404: NOT_ADMIN,
        422: error("A bad search, or more rows than an .xlsx export allows (export as CSV)."),
    },
)
def export_audit():
    scope = _scope()
    if scope is None:
        return error_response(404, "not found")
    try:
        query = audit_trail.parse_query(request.args)
        return audit_trail.response(current_user, scope, query, request.args.get("format") or "csv")
    except audit_trail.ExportError as exc:
        return error_response(exc.status, exc.message)
