"""The notifications page: my notifications, newest first; mark one or all read."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from ..i18n import current_locale_tag, normalise_locale
from ..input_limits import page_number
from . import service
from .models import Notification

notifications_bp = Blueprint("notifications", __name__)


def current_reader_locale() -> str:
    """The interface language of this request as a catalog locale (``zh_CN`` or ``en``)."""
    return normalise_locale(current_locale_tag()) or "zh_CN"


def notification_view(notification: Notification, locale: str) -> dict[str, Any]:
    """What the page and the API show of one notification, in ``locale``."""
    subject, body = service.notification_text(notification, locale)
    return {
        "id": notification.id,
        "kind": notification.kind,
        "subject": subject,
        "body": body,
        "record_id": notification.record_id,
        "task_id": notification.task_id,
        "created_at": notification.created_at,
        "read_at": notification.read_at,
        "read": notification.read_at is not None,
    }


@notifications_bp.get("/notifications")
@login_required
def index():
    per_page = current_app.config.get("FORMWORK_PAGE_SIZE", 20)
    unread_only = request.args.get("unread") == "1"
    page = page_number(request.args.get("page"))
    items, total = service.notifications_of(
        current_user, page=page, per_page=per_page, unread_only=unread_only
    )
    locale = current_reader_locale()
    return render_template(
        "notifications/index.html",
        notifications=[notification_view(n, locale) for n in items],
        total=total,
        unread=service.unread_count(current_user),
        page=page,
        pages=max(1, -(-total // per_page)),
        unread_only=unread_only,
    )


@notifications_bp.post("/notifications/<int:notification_id>/read")
@login_required
def mark_read(notification_id: int):
    notification = service.mark_read(current_user, notification_id)
    if notification is None:
        abort(404)
    if request.form.get("open") and notification.record_id:
        return redirect(url_for("records.detail", record_id=notification.record_id))
    return redirect(url_for("notifications.index"))


@notifications_bp.post("/notifications/read-all")
@login_required
def mark_all_read():
    service.mark_all_read(current_user)
    return redirect(url_for("notifications.index"))
