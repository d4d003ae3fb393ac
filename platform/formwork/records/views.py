"""Record pages: "my records" (paging, search, filters), a record's detail, attachment downloads.

Every lookup goes through ``records.access``; a record or file outside the
user's scope is a 404, exactly like one that does not exist.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from ..definitions import store
from ..extensions import db
from ..forms import catalogue
from ..i18n import current_locale_tag
from ..input_limits import row_id
from ..org.models import Department, User
from . import access, attachments
from .models import Attachment, RecordEvent

records_bp = Blueprint("records", __name__)
EDITABLE_STATUSES = ("draft", "returned")


def form_titles() -> dict[str, str]:
    """Form key → title of its current version, in the interface language (also for unavailable forms)."""
    tag = current_locale_tag()
    return {v.key: catalogue.form_title(v, tag) for v in store.list_current("form")}


@records_bp.get("/records")
@login_required
def index():
    """The list moved to "my requests" (one list of one's own requests); old links land there."""
    query = request.query_string.decode("utf-8", "replace")
    return redirect(url_for("workflow.requests") + (f"?{query}" if query else ""), code=301)


def _names(form: Any, data: dict[str, Any]) -> dict[str, dict[int, str]]:
    """Display names of the users and departments a record's fields refer to, in two queries."""
    wanted: dict[str, set[int]] = {"user": set(), "department": set()}
    for field in form.fields:
        fields = field.fields if field.is_lines else [field]
        rows = (data.get(field.key) or []) if field.is_lines else [data]
        for sub in fields:
            if sub.type.widget in wanted:
                for row in rows:
                    value = row.get(sub.key)
                    found = row_id(value)
                    if found is not None:
                        wanted[sub.type.widget].add(found)
    tag = current_locale_tag()
    names: dict[str, dict[int, str]] = {"user": {}, "department": {}}
    if wanted["user"]:
        names["user"] = {
            u.id: u.display_name for u in db.session.scalars(select(User).where(User.id.in_(wanted["user"])))
        }
    if wanted["department"]:
        names["department"] = {
            d.id: d.name(tag)
            for d in db.session.scalars(select(Department).where(Department.id.in_(wanted["department"])))
        }
    return names


@records_bp.get("/records/<int:record_id>")
@login_required
def detail(record_id: int):
    from ..forms.state import context_for, evaluate_state
    from ..forms.validation import runtime_values

    record = access.get_visible(current_user, record_id)
    if record is None:
        abort(404)
    version = record.definition
    form = catalogue.compiled_form(version)
    data = record.data or {}
    # Visibility and computed values come from the same evaluator as the form page.
    state = evaluate_state(form, runtime_values(form, data), context=context_for(record.owner))
    files = {a.id: a for a in db.session.scalars(select(Attachment).where(Attachment.record_id == record.id))}
    events = db.session.scalars(
        select(RecordEvent).where(RecordEvent.record_id == record.id).order_by(RecordEvent.at, RecordEvent.id)
    ).all()
    return render_template(
        "records/detail.html",
        record=record,
        form=form,
        version=version,
        data=data,
        state=state,
        names=_names(form, data),
        files=files,
        events=events,
        can_edit=record.owner_id == current_user.id and record.status in EDITABLE_STATUSES,
    )


@records_bp.get("/attachments/<int:attachment_id>")
@login_required
def download(attachment_id: int):
    attachment: Attachment | None = attachments.get_visible_attachment(current_user, attachment_id)
    if attachment is None:
        abort(404)
    return attachments.send_attachment(attachment)
