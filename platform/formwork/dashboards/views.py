"""Dashboard pages: the list, one dashboard (cards and charts for a period, filters in the
address), and its export as CSV or Excel."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from flask import Blueprint, Response, abort, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..i18n import current_locale_tag
from . import export, service
from .model import Dashboard
from .published import dashboards_for

dashboards_bp = Blueprint("dashboards", __name__)


def _dashboard(key: str) -> Dashboard:
    found = next((d for d in dashboards_for(current_user) if d.key == key), None)
    if found is None:
        abort(404)
    return found


def _window(dashboard: Dashboard) -> service.Window:
    period = request.args.get("period") or dashboard.period
    if period not in service.PERIODS:
        abort(400, _("period must be month, quarter or year"))
    at = None
    if request.args.get("at"):
        try:
            text = request.args["at"]
            if len(text) != 10 or not text.isascii():
                raise ValueError(text)
            at = date.fromisoformat(text)
        except ValueError:
            abort(400, _('"at" must be a real date (YYYY-MM-DD)'))
    return service.window(period, at)


@dashboards_bp.get("/dashboards")
@login_required
def index():
    locale = current_locale_tag()
    return render_template(
        "dashboards/index.html",
        dashboards=[(d.key, d.title_for(locale)) for d in dashboards_for(current_user)],
    )


def chart_options(series: service.Series) -> str:
    """What ``static/js/dashboards.js`` draws, as JSON in a data attribute (no inline script)."""
    return json.dumps(
        {
            **service.series_json(series),
            "links": [url_for("kpis.records", key=series.kpi.key, **cell) for cell in series.cells],
        },
        ensure_ascii=False,
    )


@dashboards_bp.get("/dashboards/<key>")
@login_required
def show(key: str):
    dashboard = _dashboard(key)
    span = _window(dashboard)
    locale = current_locale_tag()
    cards = service.cards(dashboard, current_user, span, locale)
    charts = service.charts(dashboard, current_user, span, locale)
    return render_template(
        "dashboards/show.html",
        dashboard=dashboard,
        title=dashboard.title_for(locale),
        span=span,
        cards=[card_view(card, span, locale) for card in cards],
        charts=[(series, chart_options(series)) for series in charts],
        periods=service.PERIODS,
        at=request.args.get("at", ""),
    )


def card_view(card: service.Card, span: service.Window, locale: str) -> dict[str, Any]:
    shaped = service.card_json(card)
    return {
        **shaped,
        "title": card.kpi.title_for(locale),
        "change_text": service.change_text(card, locale),
        "target_text": service.display(card.kpi, shaped["target"], locale) if shaped["target"] else None,
        "href": url_for("kpis.show", key=card.kpi.key, **_span_args(span)),
    }


@dashboards_bp.get("/dashboards/<key>/export")
@login_required
def export_view(key: str):
    dashboard = _dashboard(key)
    span = _window(dashboard)
    kind = request.args.get("format", "xlsx")
    if kind not in ("csv", "xlsx"):
        abort(400, _("format must be csv or xlsx"))
    locale = current_locale_tag()
    table = export.rows(
        service.cards(dashboard, current_user, span, locale),
        service.charts(dashboard, current_user, span, locale),
        locale,
    )
    name = f"{dashboard.key}-{span.label}.{kind}"
    if kind == "csv":
        body, mimetype = export.csv_bytes(table), "text/csv; charset=utf-8"
    else:
        body = export.xlsx_bytes(table, dashboard.title_for(locale))
        mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(
        body, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


def _span_args(span: service.Window) -> dict[str, Any]:
    return {"from": span.start.isoformat(), "to": span.end.isoformat()}
