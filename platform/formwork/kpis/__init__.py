"""KPI definitions (指标): measures over records and budgets, formulas and targets, computed in
SQL within each viewer's data scope (docs/kpis.md)."""

from __future__ import annotations
