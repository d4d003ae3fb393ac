"""Bulk onboarding through the API: check or import a file of departments, people and grants,
and export the same formats (``org.onboarding``).

``POST /api/admin/import?dry_run=1`` answers what the import would change and every problem,
writing nothing; without ``dry_run`` the file is checked again and written whole or not at all.
Passing the dry run's ``token`` makes sure the file imported is the one that was checked.
"""

from __future__ import annotations

from flask import Response, abort, request
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.exc import IntegrityError

from ..extensions import transaction
from ..org import administration, onboarding
from .blueprint import api_bp, error_response
from .spec import Param, binary, error, obj, operation, query_args, reply

TAG = "administration"
FILE_PART = {
    "type": "string",
    "contentMediaType": "application/octet-stream",
    "description": "An .xlsx workbook (sheets departments, users, grants), one .csv section or a .zip.",
}
PLAN = obj(
    {
        "token": {
            "type": "string",
            "description": "SHA-256 of the file: pass it to import exactly this file.",
        },
        "ok": {
            "type": "boolean",
            "description": "False: there are problems and nothing was (or would be) written.",
        },
        "applied": {"type": "boolean"},
        "counts": {"type": "object", "description": "Per section: create, update and unchanged row counts."},
        "problems": {
            "type": "array",
            "items": obj(
                {
                    "section": {"type": "string"},
                    "line": {"type": "integer"},
                    "column": {"type": "string"},
                    "message": {"type": "string"},
                }
            ),
        },
        "changes": {"type": "array", "items": {"type": "object"}},
        "changes_total": {"type": "integer"},
        "error": {"type": "string", "description": "With 422: why nothing was (or would be) imported."},
    },
    optional=("error",),
)
NOT_FOUND = error("The caller administers nothing.")
EXPORT = binary("application/zip", "A .zip of departments.csv, users.csv and grants.csv (format=csv).")
EXPORT["content"].update(binary(onboarding.FORMATS["xlsx"][0], "The workbook (format=xlsx).")["content"])
EXPORT["description"] = "The organisation within the caller's reach; imported again, it changes nothing."


def _administrator() -> None:
    try:
        administration.scope(current_user)
    except administration.OutOfScope:
        abort(404)


@api_bp.post("/admin/import")
@login_required
@operation(
    "Check (dry_run) or import departments, people, managers and role grants from a file; all or nothing.",
    tag=TAG,
    query={
        "dry_run": Param({"type": "boolean", "default": False}, "Only check: say what would change."),
        "token": Param(
            {"type": "string", "pattern": "^[0-9a-f]{64}$"}, "The dry run's token: import only that file."
        ),
    },
    multipart=obj({"file": FILE_PART}),
    responses={
        200: reply(PLAN, "The plan (dry run), or what was imported."),
        404: NOT_FOUND,
        409: error("The file is not the one checked, or the organisation changed meanwhile."),
        422: reply(PLAN, "The file has problems (each named by section, line and column); nothing written."),
    },
)
def import_organisation():
    _administrator()
    upload = request.files["file"]
    data = upload.read()
    name = upload.filename or "upload.csv"
    args = query_args()
    try:
        if args.get("dry_run"):
            plan = onboarding.preview(current_user, data, name)
            applied = False
        else:
            with transaction():
                plan = onboarding.apply(current_user, data, name, args.get("token"))
            applied = plan.ok
    except onboarding.FileRefused as exc:
        # The file as a whole is unreadable: one problem, in the shape of any other answer.
        problem = {"section": "", "line": 0, "column": "", "message": str(exc)}
        return error_response(
            422,
            str(exc),
            token=onboarding.token_of(data),
            ok=False,
            applied=False,
            counts={},
            problems=[problem],
            changes=[],
            changes_total=0,
        )
    except onboarding.Stale as exc:
        return error_response(409, str(exc))
    except IntegrityError:
        return error_response(409, "The organisation changed while importing; check the file again.")
    answer = {**plan.as_json(), "applied": applied}
    if not plan.ok:
        answer["error"] = _("The file has problems: nothing is imported until they are corrected.")
    return answer, (200 if plan.ok else 422)


@api_bp.get("/admin/export")
@login_required
@operation(
    "Departments, people and role grants the caller administers, as .xlsx or a .zip of CSV files.",
    tag=TAG,
    query={
        "format": Param({"type": "string", "enum": ["xlsx", "csv"], "default": "xlsx"}, "The file format.")
    },
    responses={
        200: EXPORT,
        404: NOT_FOUND,
    },
)
def export_organisation():
    _administrator()
    with transaction():
        found = onboarding.export(current_user, query_args().get("format") or "xlsx")
    return Response(
        found.data,
        mimetype=found.mimetype,
        headers={"Content-Disposition": f'attachment; filename="{found.filename}"'},
    )
