"""KPIs: the ones the caller may see, a KPI's values by dimensions, and the records behind a value.

Every value is computed by the database within the caller's data scope (``kpis.service``); two
people asking for the same KPI get the numbers of the records each may see.
"""

from __future__ import annotations

from flask import abort, jsonify, request
from flask_login import current_user, login_required

from .. import business_time
from ..i18n import current_locale_tag
from ..input_limits import MAX_ROW_ID
from ..kpis import alerts, params, presentation, service
from ..kpis.model import GRAINS, Kpi
from ..kpis.published import current_kpis
from ..kpis.query import QueryError, Request
from .blueprint import api_bp, error_response
from .spec import DATE_TIME, ID, Param, component, error, nullable, obj, operation, query_args, reply

KEY = {"type": "string", "pattern": "^[a-z][a-z0-9_]*$", "maxLength": 100}
DATE = {"type": "string", "format": "date", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"}
PERIOD = {
    "type": "string",
    "minLength": 4,
    "maxLength": 10,
    "pattern": "^[0-9]{4}(-[0-9A-Z]{2,3}(-[0-9]{2})?)?$",
}
NUMBER = nullable({"type": ["string", "integer"]})

SUMMARY = component(
    "KpiSummary",
    obj(
        {
            "key": {"type": "string"},
            "title": {"type": "string"},
            "unit": {"type": "string"},
            "currency": nullable({"type": "string"}),
            "measures": {"type": "array", "items": {"type": "string"}},
            "target": nullable({"type": "object"}),
        }
    ),
)
ROW = component(
    "KpiRow",
    obj(
        {
            "dimensions": {"type": "object"},
            "value": NUMBER,
            "display": {"type": "string"},
            "level": nullable({"type": "string", "enum": ["normal", "warning", "alert"]}),
            "target": NUMBER,
            "measures": {"type": "object"},
        }
    ),
)
VALUES = component(
    "KpiValues",
    obj(
        {
            "key": {"type": "string"},
            "title": {"type": "string"},
            "unit": {"type": "string"},
            "currency": nullable({"type": "string"}),
            "by": {"type": "array", "items": {"type": "string"}},
            "from": nullable({"type": "string"}),
            "to": nullable({"type": "string"}),
            "filters": {"type": "object"},
            "rows": {"type": "array", "items": ROW},
            "total": ROW,
        }
    ),
)
DRILL = component(
    "KpiDrillDown",
    obj(
        {
            "key": {"type": "string"},
            "measure": {"type": "string"},
            "value": NUMBER,
            "rows": {
                "type": "array",
                "items": obj(
                    {
                        "id": {"type": "integer"},
                        "title": nullable({"type": "string"}),
                        "voucher_number": nullable({"type": "string"}),
                        "status": {"type": "string"},
                        "department_id": nullable({"type": "integer"}),
                        "owner_id": {"type": "integer"},
                        "value": NUMBER,
                    }
                ),
            },
            "truncated": {"type": "boolean"},
        }
    ),
)
QUERY = {
    "by": Param(
        {"type": "string", "maxLength": 200, "pattern": "^[a-z][a-z0-9_]*(,[a-z][a-z0-9_]*)*$"},
        "Dimensions, comma-separated: department (rolled up along the tree), submitter, form, one of "
        "day/week/month/quarter/year (business calendar), a choice field of the KPI's form, or — for "
        "KPIs over approval tasks — step and approver.",
    ),
    "from": Param(DATE, "First day (inclusive, business calendar)."),
    "to": Param(DATE, "Last day (inclusive)."),
    "department": Param(
        {"type": "integer", "minimum": 1, "maximum": MAX_ROW_ID}, "Only this department and those below it."
    ),
    "submitter": Param(
        {"type": "integer", "minimum": 1, "maximum": MAX_ROW_ID}, "Only this submitter's records."
    ),
    "form": Param(KEY, "Only this form's records."),
    "step": Param(
        {"type": "string", "maxLength": 64, "pattern": "^[a-z][a-z0-9_]*$"},
        "Only approval tasks of this route step (KPIs over approval tasks).",
    ),
    "approver": Param(
        {"type": "integer", "minimum": 1, "maximum": MAX_ROW_ID},
        "Only approval tasks assigned to this person (KPIs over approval tasks).",
    ),
    **{grain: Param(PERIOD, f"Only this {grain} (as the rows label it, e.g. 2026-03).") for grain in GRAINS},
}
FILTERS_NOTE = "Any other query parameter filters a choice field of the KPI's form (category=travel)."


def _visible() -> dict[str, Kpi]:
    kpis = current_kpis()
    return {key: kpi for key, kpi in kpis.items() if service.visible_to(kpi, current_user)}


def _kpi(key: str) -> Kpi:
    found = _visible().get(key)
    if found is None:
        abort(404, "no such KPI")
    return found


def _request() -> Request:
    """The query as a ``Request`` (choice-field filters are the undeclared parameters)."""
    try:
        return params.parse(request.args.to_dict(flat=True))
    except QueryError as exc:
        response, status = error_response(400, str(exc))
        response.status_code = status
        abort(response)


@api_bp.get("/kpis")
@login_required
@operation(
    "The KPIs the caller may see.",
    tag="kpis",
    responses={200: reply(obj({"items": {"type": "array", "items": SUMMARY}}), "The KPIs, by key.")},
)
def list_kpis():
    locale = current_locale_tag()
    return jsonify({"items": [presentation.summary(kpi, locale) for _key, kpi in sorted(_visible().items())]})


@api_bp.get("/kpis/<key>")
@login_required
@operation(
    "A KPI's values by the dimensions asked for, within the caller's data scope.",
    tag="kpis",
    path={"key": Param(KEY, "The KPI's key.")},
    query=QUERY,
    description=FILTERS_NOTE,
    responses={
        200: reply(VALUES, "One row per group (ratios recomputed in each) and the overall total."),
        400: error("A parameter is malformed, or a dimension the KPI's measures do not have."),
        404: error("No such KPI, or one the caller may not see."),
    },
)
def kpi_values(key: str):
    kpi = _kpi(key)
    req = _request()
    try:
        result = service.compute(kpi, current_kpis(), req, current_user)
    except QueryError as exc:
        return error_response(400, str(exc))
    locale = current_locale_tag()
    return jsonify(
        {
            **presentation.summary(kpi, locale),
            "by": list(req.by),
            "from": req.start.isoformat() if req.start else None,
            "to": req.end.isoformat() if req.end else None,
            "filters": dict(req.filters),
            "rows": [presentation.row_json(result, row, locale) for row in result.rows],
            "total": presentation.row_json(result, result.total, locale),
        }
    )


@api_bp.get("/kpis/<key>/records")
@login_required
@operation(
    "The records behind one value of a KPI's measure (same filters, within the caller's scope), "
    "each with what it adds to the value.",
    tag="kpis",
    path={"key": Param(KEY, "The KPI's key.")},
    query={
        **{name: param for name, param in QUERY.items() if name != "by"},
        "measure": Param(
            {"type": "string", "maxLength": 200, "pattern": r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$"},
            "The measure as kpi.measure (default: the KPI's first measure over records or approvals).",
        ),
    },
    description="Pin the value's cell with its dimensions: department=3&month=2026-03. " + FILTERS_NOTE,
    responses={
        200: reply(DRILL, "The records (at most 1,000; truncated says when there are more)."),
        400: error("A parameter is malformed, or the measure is not one over records or approvals."),
        404: error("No such KPI, or one the caller may not see."),
    },
)
def kpi_records(key: str):
    kpi = _kpi(key)
    args = query_args()
    req = _request()
    try:
        found = service.drill(kpi, current_kpis(), args.get("measure"), req, current_user)
    except QueryError as exc:
        return error_response(400, str(exc))
    measures = service.leaf_measures(kpi, current_kpis())
    t = measures[found.measure].type
    return jsonify(
        {
            "key": kpi.key,
            "measure": found.measure,
            "value": service.canonical(found.value, t),
            "rows": [{**row, "value": service.canonical(row["value"], t)} for row in found.rows],
            "truncated": found.truncated,
        }
    )


ALERT = component(
    "KpiAlert",
    obj(
        {
            "id": ID,
            "department": nullable(obj({"id": ID, "code": {"type": "string"}, "name": {"type": "string"}})),
            "period": {"type": "string", "description": "The period checked (2026-03, 2026-Q1, 2026)."},
            "level": {"enum": ["normal", "warning", "alert"]},
            "previous_level": {"enum": ["normal", "warning", "alert"]},
            "value": nullable({"type": "string", "description": "Exact decimal text."}),
            "threshold": nullable({"type": "string"}),
            "at": DATE_TIME,
        }
    ),
)


@api_bp.get("/kpis/<key>/alerts")
@login_required
@operation(
    "A KPI's changes of level (warning, alert, back to normal), newest first, as they were told.",
    tag="kpis",
    path={"key": Param(KEY, "The KPI's key.")},
    description="Administrators and the roles the alerts notify read all of them; a department head "
    "those of the departments they head and below; anyone else none.",
    responses={
        200: reply(obj({"items": {"type": "array", "items": ALERT}}), "The last 50 changes."),
        404: error("No such KPI, or one the caller may not see."),
    },
)
def kpi_alert_history(key: str):
    kpi = _kpi(key)
    locale = current_locale_tag()
    found = alerts.history(kpi, current_user)
    departments = alerts.departments_of(found)
    return jsonify(
        {
            "items": [
                {
                    "id": a.id,
                    "department": None
                    if a.department_id is None
                    else {
                        "id": a.department_id,
                        "code": departments[a.department_id].code,
                        "name": departments[a.department_id].name(locale),
                    },
                    "period": a.period,
                    "level": a.level,
                    "previous_level": a.previous_level,
                    "value": a.value,
                    "threshold": a.threshold,
                    "at": business_time.iso_utc(a.at),
                }
                for a in found
            ]
        }
    )
