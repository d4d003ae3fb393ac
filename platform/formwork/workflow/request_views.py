"""The submitter's actions on their own requests, from the list and the record page: delete a
draft, copy a request into a new draft, and remind the current approvers (催办).

Plain forms with CSRF; each answers with a redirect and a message, and a refusal says why.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..extensions import db
from ..records import access, drafts
from ..records.service import RecordError
from .my_requests import has_process
from .reminders import RemindRefused, TooSoon, remind

requests_bp = Blueprint("my_requests", __name__)


def _own(record_id: int):
    record = access.get_visible(current_user, record_id)
    if record is None or record.owner_id != current_user.id:
        abort(404)
    return record


def _back(record_id: int | None = None):
    target = request.form.get("next") or ""
    if target.startswith("/") and not target.startswith("//"):
        return redirect(target, code=303)
    if record_id is not None:
        return redirect(url_for("records.detail", record_id=record_id), code=303)
    return redirect(url_for("workflow.requests"), code=303)


@requests_bp.post("/records/<int:record_id>/delete")
@login_required
def delete_draft(record_id: int):
    record = _own(record_id)
    try:
        drafts.delete_draft(record, current_user, has_process=has_process(record.id))
    except drafts.DraftRefused as exc:
        flash(exc.message, "error")
        return _back(record_id)
    flash(_("The draft was deleted."), "success")
    return redirect(url_for("workflow.requests"), code=303)


@requests_bp.post("/records/<int:record_id>/copy")
@login_required
def copy_request(record_id: int):
    record = _own(record_id)
    try:
        draft = drafts.copy_to_draft(record, current_user)
    except RecordError as exc:
        db.session.rollback()
        flash(_("This request cannot be copied: %(reason)s", reason=exc.message), "error")
        return _back(record_id)
    flash(
        _("A new draft was made from %(title)s; check it and submit.", title=record.title or f"#{record.id}"),
        "success",
    )
    return redirect(url_for("forms.edit_record", record_id=draft.id), code=303)


@requests_bp.post("/records/<int:record_id>/remind")
@login_required
def remind_approvers(record_id: int):
    record = _own(record_id)
    try:
        people = remind(record, current_user)
    except TooSoon as exc:
        flash(exc.message, "warning")
        return _back(record_id)
    except RemindRefused as exc:
        flash(exc.message, "error")
        return _back(record_id)
    flash(_("Reminder sent to %(n)s approver(s).", n=len(people)), "success")
    return _back(record_id)
