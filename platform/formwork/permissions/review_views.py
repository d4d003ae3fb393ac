"""``/admin/permission-review``: the permission review report for administrators (by form, by person),
and its CSV and .xlsx export. Who is reviewed is ``exports.permission_review``'s; anyone who
administers nothing, and a person out of scope, is a 404."""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from flask_login import current_user, login_required

from .. import business_time
from ..exports import permission_review
from ..org.admin_scope import AdminScope, scope_of
from . import review

review_bp = Blueprint("permission_review", __name__)


def _scope() -> AdminScope:
    scope = scope_of(current_user)
    if scope is None:
        abort(404)
    return scope


@review_bp.get("/admin/permission-review")
@login_required
def report():
    scope = _scope()
    error = None
    try:
        query = permission_review.parse_query(request.args)
        page = permission_review.search(scope, query)
    except permission_review.NotInScope:
        abort(404)
    except permission_review.ReviewQueryError as exc:
        error, query = exc.message, permission_review.Query()
        page = permission_review.search(scope, query)
    by_person: dict[int, list[review.ReviewRow]] = {}
    for row in page.report.rows:
        by_person.setdefault(row.user_id, []).append(row)
    template = (
        "admin/_permission_review_results.html"
        if request.headers.get("HX-Request") and request.headers.get("HX-Target") == "admin-results"
        else "admin/permission_review.html"
    )
    return render_template(
        template,
        tab="review",
        query=query,
        filters=query.filters(),
        page=page,
        by_person=by_person,
        forms=review.published_forms(),
        operations=review.OPERATIONS,
        local=business_time.local,
        error=error,
    ), (422 if error else 200)


@review_bp.get("/admin/permission-review/export")
@login_required
def export():
    scope = _scope()
    try:
        query = permission_review.parse_query(request.args)
        return permission_review.response(current_user, scope, query, request.args.get("format") or "csv")
    except permission_review.NotInScope:
        abort(404)
    except permission_review.ExportError as exc:
        abort(exc.status, exc.message)
