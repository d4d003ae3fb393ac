"""``GET /api/permissions/review`` and ``GET /api/permissions/review/export``: the permission review
report for administrators, as on /admin/permission-review (``exports.permission_review``)."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request
from flask_login import current_user, login_required

from .. import business_time
from ..exports import permission_review
from ..exports.records import MEDIA_TYPES
from ..org.admin_scope import scope_of
from ..permissions import review
from .blueprint import api_bp, error_response
from .spec import DATE_TIME, ID, MAX_ID, Param, binary, component, error, nullable, obj, operation, reply

TEXT = {"type": "string", "maxLength": permission_review.MAX_TEXT}

LINE = component(
    "PermissionReviewLine",
    obj(
        {
            "user_id": ID,
            "username": {"type": "string"},
            "form": {"type": "string"},
            "operation": {"type": "string", "enum": list(review.OPERATIONS)},
            "scope": {"type": "string", "description": "Which records: own, department_tree of FIN, all, …"},
            "detail": {
                "type": "string",
                "description": "The fields masked or written, the route steps approved.",
            },
            "role": {"type": "string"},
            "assignment_id": nullable(ID),
            "department_limit": nullable(
                {"type": "string", "description": "The department the grant is limited to."}
            ),
            "granted_at": nullable(DATE_TIME),
            "granted_by": nullable({"type": "string"}),
            "expires_at": nullable(DATE_TIME),
            "source": {"type": "string", "description": "Where the grant, rule or route step is written."},
        }
    ),
)
CONFLICT = component(
    "PermissionReviewConflict",
    obj(
        {
            "user_id": ID,
            "username": {"type": "string"},
            "title": {"type": "string"},
            "roles": {"type": "array", "items": {"type": "string"}},
        }
    ),
)
FILTERS = {
    "form": Param(TEXT, "A published form's key (left out: every form)."),
    "user": Param({"type": "integer", "minimum": 1, "maximum": MAX_ID}, "One person's id."),
    "q": Param(TEXT, "Part of a name or user name."),
    "operation": Param({"type": "string", "enum": list(review.OPERATIONS)}, "Only lines of this operation."),
}
NOT_ADMIN = error("The caller administers nothing, or the person is outside their scope.")
FILE = binary("text/csv", "The CSV (UTF-8 with a byte order mark), streamed.")
FILE["content"].update(binary(MEDIA_TYPES["xlsx"], "The workbook.")["content"])
FILE["description"] = (
    "The report's lines for the filters: CSV (format=csv) or an .xlsx workbook (format=xlsx)."
)


def _line(row: review.ReviewRow) -> dict[str, Any]:
    return {
        "user_id": row.user_id,
        "username": row.username,
        "form": row.form,
        "operation": row.operation,
        "scope": row.scope,
        "detail": row.detail,
        "role": row.role,
        "assignment_id": row.assignment_id,
        "department_limit": row.department_limit,
        "granted_at": business_time.iso_utc(row.granted_at) if row.granted_at else None,
        "granted_by": row.granted_by,
        "expires_at": business_time.iso_utc(row.expires_at) if row.expires_at else None,
        "source": row.source,
    }


@api_bp.get("/permissions/review")
@login_required
@operation(
    "The permission review report: what each person in the caller's scope may do with each form, "
    "and the grant behind each line (a page of people at a time).",
    tag="permissions",
    query={**FILTERS, "page": Param({"type": "integer", "minimum": 1, "maximum": 100000}, "Page of people.")},
    responses={
        200: reply(
            obj(
                {
                    "items": {"type": "array", "items": LINE},
                    "conflicts": {"type": "array", "items": CONFLICT},
                    "total": {"type": "integer", "description": "People matching."},
                    "page": {"type": "integer"},
                    "pages": {"type": "integer"},
                }
            ),
            "One page of the report.",
        ),
        404: NOT_ADMIN,
        422: error("An unknown form or operation."),
    },
)
def permission_review_report():
    scope = scope_of(current_user)
    if scope is None:
        return error_response(404, "not found")
    try:
        query = permission_review.parse_query(request.args)
        page = permission_review.search(scope, query)
    except permission_review.NotInScope:
        return error_response(404, "not found")
    except permission_review.ReviewQueryError as exc:
        return error_response(exc.status, exc.message)
    return jsonify(
        {
            "items": [_line(row) for row in page.report.rows],
            "conflicts": [
                {"user_id": c.user_id, "username": c.username, "title": c.title, "roles": list(c.roles)}
                for c in page.report.conflicts
            ],
            "total": page.total,
            "page": page.page,
            "pages": page.pages,
        }
    )


@api_bp.get("/permissions/review/export")
@login_required
@operation(
    "Export the permission review report for the filters as CSV or .xlsx (the export is itself audited).",
    tag="permissions",
    query={
        **FILTERS,
        "format": Param(
            {"type": "string", "enum": list(permission_review.FORMATS), "default": "csv"}, "csv or xlsx."
        ),
    },
    responses={
        200: FILE,
        404: NOT_ADMIN,
        422: error("Bad filters, or more rows than an .xlsx export allows."),
    },
)
def export_permission_review():
    scope = scope_of(current_user)
    if scope is None:
        return error_response(404, "not found")
    try:
        query = permission_review.parse_query(request.args)
        return permission_review.response(current_user, scope, query, request.args.get("format") or "csv")
    except permission_review.NotInScope:
        return error_response(404, "not found")
    except permission_review.ExportError as exc:
        return error_response(exc.status, exc.message)
