"""KPI pages: the KPIs a person may see, one KPI as a table by the dimensions chosen, and the
records behind a value (drill-down). The same service and presentation as the API, so the page
and ``/api/kpis`` always show the same numbers, each person's within their data scope."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, render_template, request
from flask_login import current_user, login_required

from ..i18n import current_locale_tag
from . import alerts, params, presentation, service
from .model import GRAINS, Kpi, ProcessMeasure
from .published import current_kpis
from .query import QueryError, Request

kpis_bp = Blueprint("kpis", __name__)

# The groupings the page offers (any other ``by`` still works when typed into the address).
BY_CHOICES = ("department", "month", "department,month", "quarter", "department,quarter", "year", "submitter")
# KPIs over approval tasks are read by step and approver too, and their throughput by week.
TASK_CHOICES = ("step", "step,month", "approver", "week")


def _by_choices(kpi: Kpi) -> tuple[str, ...]:
    try:
        measures = service.leaf_measures(kpi, current_kpis()).values()
    except QueryError:
        return BY_CHOICES  # the page says what is missing
    if all(isinstance(m, ProcessMeasure) and m.tasks for m in measures):
        return BY_CHOICES + TASK_CHOICES
    if any(isinstance(m, ProcessMeasure) for m in measures):
        return BY_CHOICES + ("week",)
    return BY_CHOICES


def _visible() -> dict[str, Kpi]:
    return {key: kpi for key, kpi in current_kpis().items() if service.visible_to(kpi, current_user)}


def _kpi(key: str) -> Kpi:
    found = _visible().get(key)
    if found is None:
        abort(404)
    return found


def _cell(req: Request, dimensions: dict[str, Any]) -> dict[str, Any]:
    """The query parameters that pin one row's value: the page's filters and the row's dimensions."""
    pinned: dict[str, Any] = dict(req.filters)
    for name, value in dimensions.items():
        pinned[name] = value["id"] if isinstance(value, dict) else value
    if req.start:
        pinned["from"] = req.start.isoformat()
    if req.end:
        pinned["to"] = req.end.isoformat()
    return pinned


@kpis_bp.get("/kpis")
@login_required
def index():
    locale = current_locale_tag()
    return render_template(
        "kpis/index.html", kpis=[presentation.summary(kpi, locale) for _k, kpi in sorted(_visible().items())]
    )


@kpis_bp.get("/kpis/<key>")
@login_required
def show(key: str):
    kpi = _kpi(key)
    locale = current_locale_tag()
    problem = None
    rows: list[dict[str, Any]] = []
    total = None
    args = request.args.to_dict(flat=True)
    args.setdefault("by", "department")
    try:
        req = params.parse(args)
        result = service.compute(kpi, current_kpis(), req, current_user)
        rows = [{**presentation.row_json(result, row, locale), "cell": _cell(req, {})} for row in result.rows]
        for row in rows:
            row["cell"] = _cell(req, row["dimensions"])
        total = {**presentation.row_json(result, result.total, locale), "cell": _cell(req, {})}
    except QueryError as exc:
        req = Request()
        problem = str(exc)
    return render_template(
        "kpis/show.html",
        kpi=presentation.summary(kpi, locale),
        description=kpi.description,
        by=args.get("by", ""),
        by_choices=_by_choices(kpi),
        start=args.get("from", ""),
        end=args.get("to", ""),
        req=req,
        rows=rows,
        total=total,
        problem=problem,
        grains=GRAINS,
        alerts=_alerts(kpi, locale),
    ), (400 if problem else 200)


def _alerts(kpi: Kpi, locale: str) -> list[dict[str, Any]]:
    """The KPI's last changes of level the reader may see, as the page lists them."""
    if kpi.alerts is None:
        return []
    found = alerts.history(kpi, current_user, limit=10)
    departments = alerts.departments_of(found)
    return [
        {
            "at": alert.at,
            "scope": departments[alert.department_id].name(locale) if alert.department_id else None,
            "period": alert.period,
            "level": alert.level,
            "value": service.display(kpi, alert.value, locale),
            "threshold": service.display(kpi, alert.threshold, locale),
        }
        for alert in found
    ]


@kpis_bp.get("/kpis/<key>/records")
@login_required
def records(key: str):
    kpi = _kpi(key)
    try:
        req = params.parse(request.args.to_dict(flat=True))
        found = service.drill(kpi, current_kpis(), request.args.get("measure") or None, req, current_user)
    except QueryError as exc:
        abort(400, str(exc))
    measure = service.leaf_measures(kpi, current_kpis())[found.measure]
    return render_template(
        "kpis/records.html",
        kpi=presentation.summary(kpi, current_locale_tag()),
        filters=dict(req.filters),
        start=req.start,
        end=req.end,
        value=service.canonical(found.value, measure.type),
        rows=[{**row, "value": service.canonical(row["value"], measure.type)} for row in found.rows],
        truncated=found.truncated,
    )
