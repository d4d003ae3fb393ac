"""The web shell around the areas: the home page, navigation and the template helpers for values."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask_babel import lazy_gettext as _l

from .formatting import (
    event_label,
    format_datetime_value,
    format_money,
    format_size,
    format_value,
    input_value,
)

STATUS_LABELS: dict[str, Any] = {
    "draft": _l("Draft"),
    "submitted": _l("Submitted"),
    "in_review": _l("In review"),
    "returned": _l("Returned"),
    "approved": _l("Approved"),
    "rejected": _l("Rejected"),
    "withdrawn": _l("Withdrawn"),
}


def status_label(status: str) -> str:
    return str(STATUS_LABELS.get(status, status))


def init_app(app: Flask) -> None:
    from ..forms.views import dom_id
    from .navigation import navigation
    from .views import web_bp

    app.jinja_env.globals.update(
        format_value=format_value,
        format_datetime_value=format_datetime_value,
        event_label=event_label,
        format_money=format_money,
        format_size=format_size,
        input_value=input_value,
        status_label=status_label,
        status_labels=STATUS_LABELS,
        dom_id=dom_id,
    )
    app.context_processor(navigation)
    app.register_blueprint(web_bp)
