"""``GET /api/records/export``: the records of one form the caller may export, as CSV or .xlsx.

The rules are ``exports.records``' (docs/permissions.md, "Exports"): the ``export`` right,
the data scope, each record's field rights; the filters are the record list's.
"""

from __future__ import annotations

from flask_login import current_user, login_required

from ..exports import records as exports
from ..records.models import STATUSES
from .blueprint import api_bp, error_response
from .spec import Param, binary, error, operation, query_args

FILE = binary("text/csv", "The CSV (UTF-8 with a byte order mark), streamed.")
FILE["content"].update(
    binary(exports.MEDIA_TYPES["xlsx"], "The workbook, at most FORMWORK_EXPORT_XLSX_MAX_ROWS rows.")[
        "content"
    ]
)
FILE["description"] = (
    "The export, as an attachment: CSV (format=csv) or an .xlsx workbook (format=xlsx). Columns: id, "
    "number, title, status, submitter, department, submission time in the business time zone, then "
    "the form's fields in form order, labelled in the caller's language; hidden fields empty, masked "
    "ones masked."
)


@api_bp.get("/records/export")
@login_required
@operation(
    "Export the records of one form the caller may export, with the record list's filters.",
    tag="records",
    query={
        "form": Param({"type": "string", "minLength": 1, "maxLength": 100}, "The form key.", required=True),
        "format": Param({"type": "string", "enum": list(exports.FORMATS), "default": "csv"}, "csv or xlsx."),
        "status": Param({"type": "string", "enum": list(STATUSES)}, "Only records in this status."),
        "q": Param({"type": "string"}, "Search the title and searchable text (the first 200 characters)."),
        "lines": Param(
            {"type": "string", "enum": list(exports.LINES), "default": "count"},
            "Line items: count (the number of lines in the field's column) or rows (one row per line, "
            "the record's columns repeated).",
        ),
    },
    responses={
        200: FILE,
        403: error("The caller holds no export right on this form."),
        404: error("There is no such form."),
        422: error("More rows than an .xlsx export allows (export as CSV or narrow the filters)."),
        503: error(
            "The form cannot be used in this installation, or its permission filters are unavailable."
        ),
    },
)
def export_records():
    args = query_args()
    fmt = args.get("format") or "csv"
    filters = {"status": args.get("status"), "q": (args.get("q") or "").strip()[:200] or None}
    try:
        export = exports.plan(current_user, args.get("form"), lines=args.get("lines"), **filters)
        return exports.response(export, fmt, filters)
    except exports.ExportError as exc:
        return error_response(exc.status, exc.message)
