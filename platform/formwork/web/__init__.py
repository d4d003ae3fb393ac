"""The web shell around the areas: the home page, navigation and the template helpers for values."""

from __future__ import annotations

from flask import Flask

from .. import business_time
from ..formatting import (
    STATUS_LABELS,
    event_label,
    format_date_value,
    format_datetime_value,
    format_money,
    format_size,
    format_value,
    input_value,
    status_label,
)
from ..forms.views import dom_id
from .navigation import navigation
from .views import web_bp


def init_app(app: Flask) -> None:
    app.jinja_env.globals.update(
        format_value=format_value,
        format_datetime_value=format_datetime_value,
        format_date_value=format_date_value,
        event_label=event_label,
        format_money=format_money,
        format_size=format_size,
        input_value=input_value,
        status_label=status_label,
        status_labels=STATUS_LABELS,
        dom_id=dom_id,
    )
    # Every timestamp a page shows goes through business time: ``{{ moment|business_datetime }}``,
    # ``{{ moment|business_date }}``; ``|iso_utc`` for machine-readable ``<time datetime>``.
    app.jinja_env.filters.update(
        business_datetime=format_datetime_value,
        business_date=format_date_value,
        iso_utc=business_time.iso_utc,
    )
    app.context_processor(navigation)
    app.register_blueprint(web_bp)
