"""A dashboard's numbers for one viewer and period: each card's value, target, level and change
against the previous period, and each chart's series — every one a KPI computed by
``kpis.service.compute`` within the viewer's data scope, the same values as the KPI's page and API.

The period is the current month, quarter or year to date (or the one holding ``at``); the
previous period is compared over the same span (1–15 March against 1–15 February), so a month
to date is not set against a whole month.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _

from .. import business_time
from ..kpis import presentation
from ..kpis.model import Kpi
from ..kpis.published import current_kpis
from ..kpis.query import QueryError, Request
from ..kpis.service import canonical, compute, display, visible_to
from .model import Dashboard

PERIODS = ("month", "quarter", "year")
TREND_MONTHS = 12


@dataclass(frozen=True)
class Window:
    period: str
    label: str
    start: date
    end: date
    previous_start: date
    previous_end: date


def _first(period: str, day: date) -> date:
    if period == "year":
        return date(day.year, 1, 1)
    if period == "quarter":
        return date(day.year, (day.month - 1) // 3 * 3 + 1, 1)
    return date(day.year, day.month, 1)


def _months_back(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def _label(period: str, start: date) -> str:
    if period == "year":
        return str(start.year)
    if period == "quarter":
        return f"{start.year}-Q{(start.month - 1) // 3 + 1}"
    return f"{start.year}-{start.month:02d}"


def window(period: str, at: date | None = None) -> Window:
    """The period holding ``at`` (default today): to ``at`` when it is the current one, else whole."""
    today = business_time.today()
    day = at or today
    start = _first(period, day)
    length = {"month": 1, "quarter": 3, "year": 12}[period]
    after = _months_back(start, -length)
    end = min(today, after - timedelta(days=1)) if day <= today else after - timedelta(days=1)
    end = max(end, start)
    previous_start = _months_back(start, length)
    previous_end = min(previous_start + (end - start), start - timedelta(days=1))
    return Window(period, _label(period, start), start, end, previous_start, previous_end)


@dataclass
class Card:
    kpi: Kpi
    value: Any
    previous: Any
    total: dict[str, Any]  # the KPI's total as the API gives it (display, level, target...)
    problem: str | None = None

    @property
    def change(self) -> Decimal | None:
        if self.value is None or self.previous is None:
            return None
        return Decimal(self.value) - Decimal(self.previous)


@dataclass
class Series:
    kpi: Kpi
    type: str
    title: str
    labels: list[str] = field(default_factory=list)
    values: list[Any] = field(default_factory=list)  # exact decimal text or None
    displays: list[str] = field(default_factory=list)
    levels: list[str | None] = field(default_factory=list)
    cells: list[dict[str, Any]] = field(default_factory=list)  # the query that pins each point
    target: Any = None
    problem: str | None = None


def _visible(dashboard: Dashboard, user: Any) -> dict[str, Kpi]:
    kpis = current_kpis()
    return {key: kpis[key] for key in dashboard.kpi_keys() if key in kpis and visible_to(kpis[key], user)}


def cards(dashboard: Dashboard, user: Any, span: Window, locale: str) -> list[Card]:
    """The cards the viewer may see (a KPI they may not see is left out)."""
    kpis = current_kpis()
    shown = _visible(dashboard, user)
    found = []
    for key in dashboard.cards:
        kpi = shown.get(key)
        if kpi is None:
            continue
        try:
            now = compute(kpi, kpis, Request((), span.start, span.end), user)
            before = compute(kpi, kpis, Request((), span.previous_start, span.previous_end), user)
        except QueryError as exc:
            found.append(Card(kpi, None, None, {}, str(exc)))
            continue
        found.append(
            Card(kpi, now.total.value, before.total.value, presentation.row_json(now, now.total, locale))
        )
    return found


def charts(dashboard: Dashboard, user: Any, span: Window, locale: str) -> list[Series]:
    kpis = current_kpis()
    shown = _visible(dashboard, user)
    found = []
    for chart in dashboard.charts:
        kpi = shown.get(chart.kpi)
        if kpi is None:
            continue
        title = (chart.title or {}).get(locale) or kpi.title_for(locale)
        series = Series(kpi, chart.type, title)
        if chart.type == "trend":
            start = _months_back(_first("month", span.end), TREND_MONTHS - 1)
            request = Request(("month",), start, span.end)
        else:
            request = Request(("department",), span.start, span.end)
        try:
            result = compute(kpi, kpis, request, user)
        except QueryError as exc:
            series.problem = str(exc)
            found.append(series)
            continue
        rows = result.rows
        if chart.type == "bars":
            rows = _without_parents(rows, result.departments)
        for row in rows:
            shaped = presentation.row_json(result, row, locale)
            if chart.type == "trend":
                label = row.dimensions["month"]
                cell = {"month": label, "from": start.isoformat(), "to": span.end.isoformat()}
            else:
                department = shaped["dimensions"]["department"]
                label = department["name"] or department["code"] or str(department["id"])
                cell = {
                    "department": department["id"],
                    "from": span.start.isoformat(),
                    "to": span.end.isoformat(),
                }
            series.labels.append(label)
            series.values.append(canonical(row.value, kpi.type))
            series.displays.append(shaped["display"])
            series.levels.append(shaped["level"])
            series.cells.append(cell)
        if kpi.target is not None and kpi.target.overall.value is not None:
            series.target = canonical(kpi.target.overall.value, kpi.type)
        found.append(series)
    return found


def _without_parents(rows: list[Any], departments: dict[int, Any]) -> list[Any]:
    """Bars for the departments that are not above another one shown: a parent's value already
    holds its children's (roll-up), so a bar for both would show the same money twice."""
    shown = {row.dimensions["department"] for row in rows}
    above: set[int] = set()
    for department_id in shown:
        department = departments.get(department_id)
        parent = department.parent_id if department is not None else None
        while parent is not None:
            above.add(parent)
            parent_row = departments.get(parent)
            parent = parent_row.parent_id if parent_row is not None else None
    leaves = [row for row in rows if row.dimensions["department"] not in above]
    return leaves or rows


def card_json(card: Card) -> dict[str, Any]:
    kpi = card.kpi
    return {
        "kpi": kpi.key,
        "value": canonical(card.value, kpi.type),
        "previous": canonical(card.previous, kpi.type),
        "change": canonical(card.change, kpi.type),
        "display": card.total.get("display"),
        "level": card.total.get("level"),
        "target": card.total.get("target"),
        "problem": card.problem,
    }


def change_text(card: Card, locale: str) -> str | None:
    """The change against the previous period as people read it (+12.5 万元, −3.0%)."""
    change = card.change
    if change is None:
        return None
    shown = display(card.kpi, abs(change), locale)
    if change == 0:
        return _("no change")
    return ("+" if change > 0 else "−") + shown


def axis_scale(kpi: Kpi) -> str:
    """What the chart's axis multiplies values by, to read in the unit the KPI shows (万元, %)."""
    if kpi.unit == "money" and kpi.money_display == "wan":
        return "0.0001"
    return "100" if kpi.unit == "percent" else "1"


def series_json(series: Series) -> dict[str, Any]:
    return {
        "scale": axis_scale(series.kpi),
        "kpi": series.kpi.key,
        "type": series.type,
        "title": series.title,
        "labels": series.labels,
        "values": series.values,
        "displays": series.displays,
        "levels": series.levels,
        "target": series.target,
        "problem": series.problem,
    }
