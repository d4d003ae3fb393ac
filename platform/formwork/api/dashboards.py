"""Dashboards: the ones the caller sees, and one dashboard's cards and chart series for a period —
the numbers of the dashboard page, within the caller's data scope."""

from __future__ import annotations

from datetime import date

from flask import abort, jsonify
from flask_login import current_user, login_required

from ..dashboards import service
from ..dashboards.model import Dashboard
from ..dashboards.published import dashboards_for
from ..i18n import current_locale_tag
from .blueprint import api_bp
from .spec import Param, component, error, nullable, obj, operation, query_args, reply

KEY = {"type": "string", "pattern": "^[a-z][a-z0-9_]*$", "maxLength": 100}
DATE = {"type": "string", "format": "date", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"}
DECIMAL = nullable({"type": "string", "description": "Exact decimal text (money in cents); null: no value."})
NUMBER = {"anyOf": [{"type": "string"}, {"type": "integer"}, {"type": "null"}]}

SUMMARY = component(
    "DashboardSummary",
    obj({"key": KEY, "title": {"type": "string"}, "home": {"type": "boolean"}, "period": {"type": "string"}}),
)
CARD = component(
    "DashboardCard",
    obj(
        {
            "kpi": KEY,
            "title": {"type": "string"},
            "value": NUMBER,
            "previous": NUMBER,
            "change": NUMBER,
            "display": nullable({"type": "string"}),
            "level": nullable({"enum": ["normal", "warning", "alert"]}),
            "target": NUMBER,
            "problem": nullable({"type": "string"}),
        }
    ),
)
SERIES = component(
    "DashboardChart",
    obj(
        {
            "kpi": KEY,
            "scale": {
                "type": "string",
                "description": "Multiply values by this to read them in the unit shown.",
            },
            "type": {"enum": ["trend", "bars"]},
            "title": {"type": "string"},
            "labels": {"type": "array", "items": {"type": "string"}},
            "values": {"type": "array", "items": NUMBER},
            "displays": {"type": "array", "items": {"type": "string"}},
            "levels": {"type": "array", "items": nullable({"type": "string"})},
            "target": NUMBER,
            "problem": nullable({"type": "string"}),
        }
    ),
)


def _dashboard(key: str) -> Dashboard:
    found = next((d for d in dashboards_for(current_user) if d.key == key), None)
    if found is None:
        abort(404, "no such dashboard")
    return found


@api_bp.get("/dashboards")
@login_required
@operation(
    "The dashboards the caller sees, in their order.",
    tag="kpis",
    responses={200: reply(obj({"items": {"type": "array", "items": SUMMARY}}), "The dashboards.")},
)
def dashboard_list():
    locale = current_locale_tag()
    return jsonify(
        {
            "items": [
                {"key": d.key, "title": d.title_for(locale), "home": d.home, "period": d.period}
                for d in dashboards_for(current_user)
            ]
        }
    )


@api_bp.get("/dashboards/<key>")
@login_required
@operation(
    "One dashboard for a period: each card's value, target, level and change against the previous "
    "period, and each chart's series, within the caller's data scope.",
    tag="kpis",
    path={"key": Param(KEY, "The dashboard's key.")},
    query={
        "period": Param(
            {"enum": list(service.PERIODS)}, "month, quarter or year (default: the dashboard's)."
        ),
        "at": Param(DATE, "A day in the period wanted (default: today, the current period to date)."),
    },
    responses={
        200: reply(
            obj(
                {
                    "key": KEY,
                    "title": {"type": "string"},
                    "period": {"type": "string"},
                    "label": {"type": "string"},
                    "from": DATE,
                    "to": DATE,
                    "previous_from": DATE,
                    "previous_to": DATE,
                    "cards": {"type": "array", "items": CARD},
                    "charts": {"type": "array", "items": SERIES},
                }
            ),
            "The dashboard's numbers.",
        ),
        400: error("A parameter is malformed."),
        404: error("No such dashboard, or one the caller does not see."),
    },
)
def dashboard_values(key: str):
    dashboard = _dashboard(key)
    args = query_args()
    at = None
    if args.get("at"):
        try:
            at = date.fromisoformat(args["at"])
        except ValueError:
            abort(400, '"at" must be a real date (YYYY-MM-DD)')
    span = service.window(args.get("period") or dashboard.period, at)
    locale = current_locale_tag()
    cards = service.cards(dashboard, current_user, span, locale)
    charts = service.charts(dashboard, current_user, span, locale)
    return jsonify(
        {
            "key": dashboard.key,
            "title": dashboard.title_for(locale),
            "period": span.period,
            "label": span.label,
            "from": span.start.isoformat(),
            "to": span.end.isoformat(),
            "previous_from": span.previous_start.isoformat(),
            "previous_to": span.previous_end.isoformat(),
            "cards": [{**service.card_json(c), "title": c.kpi.title_for(locale)} for c in cards],
            "charts": [service.series_json(s) for s in charts],
        }
    )
