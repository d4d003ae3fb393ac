"""``/admin/audit``: administrators search the audit trail and export what they found.

Who reads what is ``exports.audit_trail``'s (scope by the administrator role's departments,
values masked by field rights); anyone else gets a 404, as for a page that does not exist.
"""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from flask_login import current_user, login_required

from .. import business_time
from ..exports import audit_trail
from . import actions

audit_bp = Blueprint("audit", __name__)


def _scope() -> audit_trail.Scope:
    scope = audit_trail.scope_of(current_user)
    if scope is None:
        abort(404)
    return scope


@audit_bp.get("/admin/audit")
@login_required
def trail_page():
    scope = _scope()
    error = None
    try:
        query = audit_trail.parse_query(request.args)
        page = audit_trail.search(current_user, scope, query)
    except audit_trail.AuditQueryError as exc:
        error, query, page = exc.message, audit_trail.Query(), audit_trail.Page()
    return render_template(
        "audit/trail.html",
        scope=scope,
        query=query,
        filters=query.filters(),
        page=page,
        error=error,
        actions=[(name, audit_trail.action_label(name)) for name in actions.ALL],
        object_types=audit_trail.OBJECT_TYPES,
        label=audit_trail.action_label,
        local=business_time.local,
        iso=business_time.iso_utc,
        zone=business_time.offset_label(),
    ), (422 if error else 200)


@audit_bp.get("/admin/audit/export")
@login_required
def export():
    scope = _scope()
    try:
        query = audit_trail.parse_query(request.args)
        return audit_trail.response(current_user, scope, query, request.args.get("format") or "csv")
    except audit_trail.ExportError as exc:
        abort(exc.status, exc.message)
