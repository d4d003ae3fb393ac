"""The caller's in-app notifications: list (paginated), mark one read, mark all read."""

from __future__ import annotations

from typing import Any

from flask import abort, jsonify
from flask_login import current_user, login_required

from .. import business_time
from ..notifications import service
from ..notifications.reading import current_reader_locale, notification_view
from .blueprint import api_bp
from .spec import (
    DATE_TIME,
    ID,
    PAGING,
    Param,
    component,
    error,
    nullable,
    obj,
    operation,
    page_arguments,
    query_args,
    reply,
)

NOTIFICATION = component(
    "Notification",
    obj(
        {
            "id": ID,
            "kind": {
                "type": "string",
                "examples": [
                    "task_assigned",
                    "reminder",
                    "escalated",
                    "approved",
                    "rejected",
                    "returned",
                    "cc",
                    "alert",
                    "kpi_alert",
                    "kpi_normal",
                ],
            },
            "subject": {"type": "string", "description": "In the caller's interface language."},
            "body": {
                "type": "string",
                "description": "In the caller's interface language; lines separated by \\n.",
            },
            "record_id": nullable(ID),
            "task_id": nullable(ID),
            "kpi_key": nullable({"type": "string", "description": "The KPI a KPI alert is about."}),
            "created_at": nullable(DATE_TIME),
            "read_at": nullable(DATE_TIME),
            "read": {"type": "boolean"},
        }
    ),
)


def _json(view: dict[str, Any]) -> dict[str, Any]:
    return {
        **view,
        "created_at": business_time.iso_utc(view["created_at"]),
        "read_at": business_time.iso_utc(view["read_at"]),
    }


@api_bp.get("/notifications")
@login_required
@operation(
    "My notifications, newest first, paginated, with the unread count.",
    tag="notifications",
    query={"unread": Param({"type": "boolean"}, "true (or 1): only unread notifications."), **PAGING},
    responses={
        200: reply(
            obj(
                {
                    "items": {"type": "array", "items": NOTIFICATION},
                    "page": {"type": "integer", "minimum": 1},
                    "per_page": {"type": "integer", "minimum": 1},
                    "total": {"type": "integer", "minimum": 0},
                    "unread": {"type": "integer", "minimum": 0},
                }
            ),
            "One page.",
        )
    },
)
def list_notifications():
    page, per_page = page_arguments()
    items, total = service.notifications_of(
        current_user, page=page, per_page=per_page, unread_only=query_args().get("unread", False)
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
@operation(
    "Mark one of my notifications read (repeating it changes nothing).",
    tag="notifications",
    responses={200: reply(NOTIFICATION, "The notification."), 404: error("No such notification of mine.")},
)
def read_notification(notification_id: int):
    notification = service.mark_read(current_user, notification_id)
    if notification is None:
        abort(404, "notification not found")
    return jsonify(_json(notification_view(notification, current_reader_locale())))


@api_bp.post("/notifications/read-all")
@login_required
@operation(
    "Mark every unread notification of mine read.",
    tag="notifications",
    responses={
        200: reply(
            obj({"marked": {"type": "integer", "minimum": 0}, "unread": {"const": 0}}),
            "How many were marked.",
        )
    },
)
def read_all_notifications():
    marked = service.mark_all_read(current_user)
    return jsonify({"marked": marked, "unread": 0})
