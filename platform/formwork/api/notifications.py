"""The caller's in-app notifications: list (paginated), mark one read, mark all read."""

from __future__ import annotations

from typing import Any

from flask import abort, jsonify, request
from flask_login import current_user, login_required

from ..notifications import service
from ..notifications.views import current_reader_locale, notification_view
from . import api_bp
from .records import page_arguments

MAX_PER_PAGE = 100


def _json(view: dict[str, Any]) -> dict[str, Any]:
    return {
        **view,
        "created_at": view["created_at"].isoformat() if view["created_at"] else None,
        "read_at": view["read_at"].isoformat() if view["read_at"] else None,
    }


@api_bp.get("/notifications")
@login_required
def list_notifications():
    page, per_page = page_arguments(MAX_PER_PAGE)
    unread = request.args.get("unread", "")
    if unread not in ("", "0", "1", "true", "false"):
        abort(400, '"unread" must be 1 or 0')
    items, total = service.notifications_of(
        current_user, page=page, per_page=per_page, unread_only=unread in ("1", "true")
    )
    locale = current_reader_locale()
    return jsonify(
        {
            "items": [_json(notification_view(n, locale)) for n in items],
            "page": page,
            "per_page": per_page,
            "total": total,
            "unread": service.unread_count(current_user),
        }
    )


@api_bp.post("/notifications/<int:notification_id>/read")
@login_required
def read_notification(notification_id: int):
    notification = service.mark_read(current_user, notification_id)
    if notification is None:
        abort(404, "notification not found")
    return jsonify(_json(notification_view(notification, current_reader_locale())))


@api_bp.post("/notifications/read-all")
@login_required
def read_all_notifications():
    marked = service.mark_all_read(current_user)
    return jsonify({"marked": marked, "unread": 0})
