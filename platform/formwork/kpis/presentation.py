"""KPI values as the API answers them and the pages show them: dimensions named, values exact
text, display, target and level per row."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from .model import Kpi
from .service import Result, Row, canonical, display


def _levels(kpi: Kpi, row: Row, department_code: str | None) -> tuple[Any, Any]:
    if kpi.target is None:
        return None, None
    levels = kpi.target.levels_for(department_code)
    value = row.value
    return (
        kpi.target.level(None if value is None else Decimal(value), levels),
        canonical(levels.value, kpi.type) if levels.value is not None else None,
    )


def row_json(result: Result, row: Row, locale: str) -> dict[str, Any]:
    """One row (or the total): ``{"dimensions", "value", "display", "level", "target", "measures"}``."""
    kpi = result.kpi
    dims: dict[str, Any] = {}
    code = None
    for name, value in row.dimensions.items():
        if name == "department":
            dept = result.departments.get(value)
            code = dept.code if dept else None
            dims[name] = {"id": value, "code": code, "name": dept.name(locale) if dept else None}
        elif name in ("submitter", "approver"):
            user = result.users.get(value)
            dims[name] = {"id": value, "username": user.username if user else None}
        else:
            dims[name] = value
    if code is None and "department" in result.request.filters:
        dept = result.departments.get(result.request.filters["department"])
        code = dept.code if dept else None
    level, target = _levels(kpi, row, code)
    measures = {
        name: canonical(value, (kpi.measures[name].type if name in kpi.measures else kpi.type))
        for name, value in row.values.items()
        if name
    }
    return {
        "dimensions": dims,
        "value": canonical(row.value, kpi.type),
        "display": display(kpi, row.value, locale),
        "level": level,
        "target": target,
        "measures": measures,
    }


def summary(kpi: Kpi, locale: str) -> dict[str, Any]:
    """What a list of KPIs says of one: key, title, unit, currency, measures, target."""
    target = None
    if kpi.target is not None:
        overall = kpi.target.overall
        target = {
            "good": kpi.target.good,
            **{
                name: canonical(getattr(overall, name), kpi.type)
                for name in ("value", "warning", "alert")
                if getattr(overall, name) is not None
            },
        }
    return {
        "key": kpi.key,
        "title": kpi.title_for(locale),
        "unit": kpi.unit,
        "currency": kpi.currency,
        "measures": sorted(kpi.measures),
        "target": target,
    }
