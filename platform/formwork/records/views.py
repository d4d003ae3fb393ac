"""Record pages: "my records" (now part of my requests), a record's detail, attachment downloads,
exports of a form's records (``exports.records``).

Every lookup goes through ``records.access``; a record or file outside the
user's scope is a 404, exactly like one that does not exist.
"""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from ..exports import records as exports
from . import access, attachments
from .models import EDITABLE_STATUSES, Attachment
from .queries import events_of, record_display

records_bp = Blueprint("records", __name__)


@records_bp.get("/records")
@login_required
def index():
    """The list moved to "my requests" (one list of one's own requests); old links land there."""
    query = request.query_string.decode("utf-8", "replace")
    return redirect(url_for("workflow.requests") + (f"?{query}" if query else ""), code=301)


@records_bp.get("/records/export")
@login_required
def export():
    """The records of one form the person may export (the list's filters), as CSV or .xlsx."""
    args = request.args
    fmt = args.get("format") or "csv"
    filters = {"status": args.get("status") or None, "q": (args.get("q") or "").strip()[:200] or None}
    try:
        found = exports.plan(current_user, args.get("form"), lines=args.get("lines"), **filters)
        return exports.response(found, fmt, filters)
    except exports.ExportError as exc:
        abort(exc.status, exc.message)


@records_bp.get("/records/<int:record_id>")
@login_required
def detail(record_id: int):
    record = access.get_visible(current_user, record_id)
    if record is None:
        abort(404)
    return render_template(
        "records/detail.html",
        version=record.definition,
        events=events_of(record, current_user),
        can_edit=record.owner_id == current_user.id and record.status in EDITABLE_STATUSES,
        **record_display(record, current_user),
    )


@records_bp.get("/attachments/<int:attachment_id>")
@login_required
def download(attachment_id: int):
    attachment: Attachment | None = attachments.get_visible_attachment(current_user, attachment_id)
    if attachment is None:
        abort(404)
    return attachments.send_attachment(attachment)
