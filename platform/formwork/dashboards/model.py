"""A dashboard definition compiled: its cards and charts, checked against the KPIs they show.

``compile_dashboard(content, kpis)`` gives an immutable ``Dashboard`` or raises
``DefinitionError`` with every problem at its pointer: a KPI that does not exist, a trend of a
KPI that has no months (a budget is by quarter). ``kpis(key)`` gives a compiled KPI or None —
the caller decides whether from the set being published or from the database.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..definitions.problems import DefinitionError, Problem
from ..kpis.model import BudgetMeasure, Kpi

KIND = "dashboard"
DEPARTMENT_HEAD = "department_head"  # a viewer "role" meaning the head of any department

KpiLookup = Callable[[str], Kpi | None]


@dataclass(frozen=True)
class Chart:
    kpi: str
    type: str  # "trend" (by month, with the target line) or "bars" (by department)
    title: Mapping[str, str] | None


@dataclass(frozen=True)
class Dashboard:
    key: str
    title: Mapping[str, str]
    description: Mapping[str, str] | None
    viewers: tuple[str, ...] | None
    home: bool
    order: int
    period: str
    cards: tuple[str, ...]
    charts: tuple[Chart, ...]

    def title_for(self, locale: str | None) -> str:
        return self.title.get(locale or "en") or self.title["en"]

    def kpi_keys(self) -> list[str]:
        return list(dict.fromkeys([*self.cards, *(chart.kpi for chart in self.charts)]))


def compile_dashboard(content: Mapping[str, Any], kpis: KpiLookup) -> Dashboard:
    problems: list[Problem] = []
    for index, key in enumerate(content["cards"]):
        if kpis(key) is None:
            problems.append(Problem(f"unknown KPI {key!r}: no published KPI has this key", f"/cards/{index}"))
    charts = []
    for index, spec in enumerate(content.get("charts") or ()):
        kpi = kpis(spec["kpi"])
        if kpi is None:
            problems.append(
                Problem(f"unknown KPI {spec['kpi']!r}: no published KPI has this key", f"/charts/{index}/kpi")
            )
            continue
        if spec["type"] == "trend" and _has_no_months(kpi, kpis):
            problems.append(
                Problem(
                    f"{spec['kpi']!r} is a budget, kept by quarter: it has no monthly trend; show it as bars",
                    f"/charts/{index}/type",
                )
            )
            continue
        charts.append(Chart(spec["kpi"], spec["type"], spec.get("title")))
    if problems:
        raise DefinitionError(problems)
    return Dashboard(
        key=content["key"],
        title=content["title"],
        description=content.get("description"),
        viewers=tuple(content["viewers"]) if content.get("viewers") else None,
        home=bool(content.get("home", False)),
        order=int(content.get("order", 100)),
        period=content.get("period", "month"),
        cards=tuple(content["cards"]),
        charts=tuple(charts),
    )


def _has_no_months(kpi: Kpi, kpis: KpiLookup) -> bool:
    return any(isinstance(m, BudgetMeasure) for m in kpi.measures.values()) or any(
        (other := kpis(key)) is not None and _has_no_months(other, kpis) for key in kpi.references
    )
