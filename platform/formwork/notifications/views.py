"""The notifications page: my notifications, newest first and grouped by day; mark one or all read;
and the bell in the header, which refreshes itself."""

from __future__ import annotations

from datetime import date, datetime
from itertools import groupby
from typing import Any

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask_babel import format_date
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from .. import business_time
from ..extensions import db
from ..input_limits import page_number
from ..org.clock import as_utc
from ..workflow.models import Task
from . import service
from .models import Notification
from .reading import current_reader_locale, notification_view

notifications_bp = Blueprint("notifications", __name__)


def business_day(moment: datetime | None) -> date | None:
    """The calendar day of ``moment`` (stored UTC) in business time (``FORMWORK_TIMEZONE``)."""
    if moment is None:
        return None
    return business_time.local_date(as_utc(moment))


def day_heading(day: date | None, today: date) -> str:
    if day is None:
        return ""
    if day == today:
        return _("Today")
    if (today - day).days == 1:
        return _("Yesterday")
    return format_date(day, format="full")


def _my_task_ids(task_ids: set[int]) -> set[int]:
    """Which of these tasks are the reader's own (a link to the task page); the rest link to the record."""
    if not task_ids:
        return set()
    return set(
        db.session.scalars(select(Task.id).where(Task.id.in_(task_ids), Task.assignee_id == current_user.id))
    )


def target_of(notification: Notification | dict[str, Any], own_tasks: set[int]) -> str | None:
    """Where a notification leads: the reader's task when it is theirs, else the record."""
    item = notification if isinstance(notification, dict) else notification_view(notification, "en")
    if item["task_id"] and item["task_id"] in own_tasks:
        return url_for("workflow.task", task_id=item["task_id"])
    if item["record_id"]:
        return url_for("records.detail", record_id=item["record_id"])
    if item.get("kpi_key"):
        return url_for("kpis.show", key=item["kpi_key"])
    return None


def _item_view(
    notification: Notification, locale: str | None = None, own_tasks: set[int] | None = None
) -> dict[str, Any]:
    """A notification as the page lists it: its text and where it leads."""
    if own_tasks is None:
        own_tasks = _my_task_ids({notification.task_id} if notification.task_id else set())
    item = notification_view(notification, locale or current_reader_locale())
    item["href"] = target_of(item, own_tasks)
    item["opens_task"] = bool(item["task_id"] and item["task_id"] in own_tasks)
    return item


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
    own_tasks = _my_task_ids({n.task_id for n in items if n.task_id})
    views = [_item_view(n, locale, own_tasks) for n in items]
    today = business_time.today()
    days = [
        {"heading": day_heading(day, today), "day": day, "entries": list(group)}
        for day, group in groupby(views, key=lambda item: business_day(item["created_at"]))
    ]
    return render_template(
        "notifications/index.html",
        notifications=views,
        days=days,
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
    if request.form.get("open"):
        target = target_of(
            notification, _my_task_ids({notification.task_id} if notification.task_id else set())
        )
        if target:
            return redirect(target)
    if request.headers.get("HX-Request"):
        # Marked in place: the list item shows itself read, and the bell counts again.
        item = _item_view(notification)
        return (
            render_template("notifications/_item.html", item=item),
            200,
            {"HX-Trigger": "formwork:notifications-changed"},
        )
    return redirect(url_for("notifications.index"))


@notifications_bp.post("/notifications/read-all")
@login_required
def mark_all_read():
    service.mark_all_read(current_user)
    return redirect(url_for("notifications.index"))


@notifications_bp.get("/notifications/bell")
def bell():
    """The header's bell alone, for htmx to refresh it. Signed out (an expired session) it answers
    204, which leaves the bell as it is instead of swapping a login page into the header."""
    if not getattr(current_user, "is_authenticated", False):
        return "", 204
    return render_template("notifications/_bell.html"), 200, {"Cache-Control": "no-store"}


def unread_notifications() -> int:
    """For the header's bell: the signed-in user's unread notification count (0 when signed out)."""
    if not (current_user and current_user.is_authenticated):
        return 0
    try:
        return service.unread_count(current_user)
    except Exception:  # the bell must never break a page (an error page after a failed transaction)
        db.session.rollback()
        return 0
