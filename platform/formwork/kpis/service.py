"""A KPI's values for one viewer: the statement of ``query`` run once, the formula applied per group.

The database aggregates every measure per group (and overall); here each group's measures —
a handful of numbers per department and month, never the records — go through the KPI's
formula in the expression language (exact decimals; division by zero gives no value), and the
value gets its target, level and display. A ratio is therefore always numerator over
denominator of the same group, at every grain and every level of the department tree.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _

from ..expressions import ExpressionError, T
from ..extensions import db
from ..org.models import Department, User
from ..records.models import Record
from .model import GRAINS, PROCESS_DIMENSIONS, Kpi, Measure, ProcessMeasure, RecordMeasure
from .query import FIXED_DIMENSIONS, Builder, QueryError, Request

DRILL_CAP = 1000  # rows a drill-down lists at most (it says when there are more)
_ZERO_WHEN_EMPTY = ("sum", "count", "count_distinct")  # the sum or count of nothing is 0


def visible_to(kpi: Kpi, user: Any) -> bool:
    """Whether ``user`` may see ``kpi`` at all (its values are then limited to their data scope)."""
    if not getattr(user, "is_authenticated", False):
        return False
    if kpi.viewers is None or user.has_role("administrator"):
        return True
    return any(user.has_role(role) for role in kpi.viewers)


def leaf_measures(kpi: Kpi, kpis: Mapping[str, Kpi]) -> dict[str, Measure]:
    """``"kpi.measure"`` → measure, for ``kpi`` and every KPI its formula names (recursively)."""
    found = {f"{kpi.key}.{name}": measure for name, measure in kpi.measures.items()}
    for key in kpi.references:
        if key not in kpis:
            raise QueryError(
                _("the KPI %(key)s that %(kpi)s refers to is not available", key=key, kpi=kpi.key)
            )
        found.update(leaf_measures(kpis[key], kpis))
    return found


def check_request(kpi: Kpi, kpis: Mapping[str, Kpi], request: Request) -> None:
    """A ``QueryError`` for dimensions and filters the KPI's measures do not have."""
    if len(set(request.by)) != len(request.by):
        raise QueryError(_("a dimension is named twice in by"))
    if len([d for d in request.by if d in GRAINS]) > 1:
        raise QueryError(_("ask for one time grain at a time (day, week, month, quarter or year)"))
    if request.start and request.end and request.start > request.end:
        raise QueryError(_("from is after to"))
    measures = leaf_measures(kpi, kpis).values()
    for name in (*request.by, *request.filters):
        if name in FIXED_DIMENSIONS or name in GRAINS:
            continue
        if name in PROCESS_DIMENSIONS:
            if not all(isinstance(m, ProcessMeasure) and m.tasks for m in measures):
                raise QueryError(
                    _('"%(name)s" is a dimension of approval tasks; this KPI does not count tasks', name=name)
                )
            continue
        if not all(isinstance(m, RecordMeasure) and name in m.choice_fields for m in measures):
            raise QueryError(
                _(
                    'unknown dimension "%(name)s"; use department, submitter, form, day, week, month, '
                    "quarter, year or a choice field of the KPI's form",
                    name=name,
                )
            )


def _read(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _measure_value(measure: Measure, raw: Decimal | None) -> Any:
    if isinstance(measure, ProcessMeasure):
        if measure.aggregate == "count":
            return 0 if raw is None else int(raw)
        # Durations are aggregated in whole seconds; shown in the measure's unit.
        return None if raw is None or measure.divisor is None else raw / measure.divisor
    if raw is None:
        if isinstance(measure, RecordMeasure) and measure.aggregate in _ZERO_WHEN_EMPTY:
            return 0 if measure.type == T.INTEGER else Decimal(0)
        return None
    return int(raw) if measure.type == T.INTEGER else raw


def evaluate(kpi: Kpi, values: Mapping[str, Decimal | None], kpis: Mapping[str, Kpi]) -> dict[str, Any]:
    """The KPI's value (``""`` key) and its measures' and referenced KPIs' values, for one group."""
    names: dict[str, Any] = {
        name: _measure_value(measure, values.get(f"{kpi.key}.{name}"))
        for name, measure in kpi.measures.items()
    }
    for key in kpi.references:
        names[key] = evaluate(kpis[key], values, kpis)[""]
    if kpi.formula is None:
        value = next(iter(names.values()))
    else:
        try:
            value = kpi.formula.evaluate(names)
        except ExpressionError:
            value = None  # e.g. a number too large for the decimal context: no value, never an error
    return {**names, "": value}


@dataclass
class Row:
    dimensions: dict[str, Any]
    values: dict[str, Any]

    @property
    def value(self) -> Any:
        return self.values[""]


@dataclass
class Result:
    kpi: Kpi
    request: Request
    rows: list[Row]
    total: Row
    departments: dict[int, Department]
    users: dict[int, User]


def _without_jit(dialect: str) -> None:
    """PostgreSQL: no JIT compilation for this transaction's KPI statements. The tree's closure
    and the joins make the planner's estimates large enough to trigger it, and compiling a
    statement of this size took seconds where running it took a fraction of one."""
    if dialect == "postgresql":
        db.session.execute(sa.text("SET LOCAL jit = off"))


def compute(kpi: Kpi, kpis: Mapping[str, Kpi], request: Request, user: Any) -> Result:
    """The KPI for ``user`` by ``request.by``, one statement, plus the overall value."""
    check_request(kpi, kpis, request)
    measures = leaf_measures(kpi, kpis)
    dialect = db.session.get_bind().dialect.name
    statement = Builder(request, user, dialect).statement(measures)
    _without_jit(dialect)
    groups: dict[tuple[Any, ...], dict[str, Decimal | None]] = {}
    overall: dict[str, Decimal | None] = {}
    for found in db.session.execute(statement).mappings():
        if found["grouped"]:
            key = tuple(found[name] for name in request.by)
            groups.setdefault(key, {})[found["measure"]] = _read(found["value"])
        else:
            overall[found["measure"]] = _read(found["value"])
    rows = [
        Row(dict(zip(request.by, key, strict=True)), evaluate(kpi, values, kpis))
        for key, values in sorted(groups.items(), key=lambda item: tuple(_order(v) for v in item[0]))
    ]
    department_ids = {r.dimensions.get("department") for r in rows} | {request.filters.get("department")}
    user_ids = {r.dimensions.get(name) for r in rows for name in ("submitter", "approver")}
    return Result(
        kpi,
        request,
        rows,
        Row({}, evaluate(kpi, overall, kpis)),
        _by_id(Department, department_ids),
        _by_id(User, user_ids),
    )


def _order(value: Any) -> tuple[int, Any]:
    return (1, "") if value is None else (0, value)


def _by_id(model: Any, ids: set[Any]) -> dict[int, Any]:
    wanted = [i for i in ids if isinstance(i, int)]
    if not wanted:
        return {}
    return {item.id: item for item in db.session.scalars(sa.select(model).where(model.id.in_(wanted)))}


# --- drill-down ----------------------------------------------------------------------------------


@dataclass
class Drill:
    measure: str
    value: Any
    rows: list[dict[str, Any]]
    truncated: bool


def drill(kpi: Kpi, kpis: Mapping[str, Kpi], measure_key: str | None, request: Request, user: Any) -> Drill:
    """The records behind one value of a measure (the cell is pinned by ``request.filters``), each
    with its contribution, read with the same joins, filters and scope as the value itself."""
    check_request(kpi, kpis, request)
    measures = leaf_measures(kpi, kpis)
    drillable = (RecordMeasure, ProcessMeasure)
    if measure_key is None:
        measure_key = next((k for k, m in measures.items() if isinstance(m, drillable)), None)
    measure = measures.get(measure_key or "")
    if measure_key is None or measure is None or not isinstance(measure, drillable):
        names = ", ".join(k for k, m in measures.items() if isinstance(m, drillable))
        raise QueryError(_("choose the measure to drill into: one of %(names)s", names=names or "—"))
    dialect = db.session.get_bind().dialect.name
    builder = Builder(request, user, dialect)
    r = Record.__table__
    if isinstance(measure, ProcessMeasure):
        # Each record with its share of the value: its tasks counted, or their durations' aggregate.
        history = builder.process_rows(measure, "rows_0")
        source: Any = history.join(r, r.c.id == history.c.record_id)
        conditions: list[Any] = []
        contribution = builder.process_value(measure, history)
    else:
        (source, v), conditions, day = builder.record_base(measure)
        conditions += builder.record_filters(measure, day)
        contribution = builder.value_of(
            measure, r.c.id, lambda column: r.c[column], builder.typed_value(measure, v)
        )
    statement = (
        sa.select(
            r.c.id, r.c.title, r.c.voucher_number, r.c.status, r.c.department_id, r.c.owner_id, contribution
        )
        .select_from(source)
        .where(*conditions)
        .group_by(r.c.id, r.c.title, r.c.voucher_number, r.c.status, r.c.department_id, r.c.owner_id)
        .order_by(r.c.id)
        .limit(DRILL_CAP + 1)
    )
    _without_jit(dialect)
    found = db.session.execute(statement).all()
    rows = [
        {
            "id": row[0],
            "title": row[1],
            "voucher_number": row[2],
            "status": row[3],
            "department_id": row[4],
            "owner_id": row[5],
            "value": _measure_value(measure, _read(row[6])),
        }
        for row in found[:DRILL_CAP]
    ]
    # The measure's value for the same cell, by the statement the KPI's own values use.
    cell = Builder(Request((), request.start, request.end, request.filters), user, dialect)
    rows_cte = (
        cell.process_rows(measure, "rows_0")
        if isinstance(measure, ProcessMeasure)
        else cell.record_rows(measure, "rows_0")
    )
    total = (
        db.session.execute(cell.record_select(measure_key, measure, rows_cte, grouped=False)).mappings().one()
    )
    return Drill(measure_key, _measure_value(measure, _read(total["value"])), rows, len(found) > DRILL_CAP)


# --- display -------------------------------------------------------------------------------------

_WORDS = {
    "zh": {
        "yuan": "{} 元",
        "wan": "{} 万元",
        "percent": "{}%",
        "hours": "{} 小时",
        "days": "{} 天",
        "count": "{}",
        "number": "{}",
    },
    "en": {
        "yuan": "CNY {}",
        "wan": "CNY {} wan",
        "percent": "{}%",
        "hours": "{} hours",
        "days": "{} days",
        "count": "{}",
        "number": "{}",
    },
}


def canonical(value: Any, t: T.Type) -> str | int | None:
    """The exact value as JSON carries it: an integer, or decimal text (money to the cent)."""
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    number = Decimal(value)
    if t == T.MONEY:
        # In cents, as amounts are written (an average may carry more places: it is kept exact).
        cents = number.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        if cents == number:
            return str(cents)
    text = format(number.quantize(Decimal("1e-10"), rounding=ROUND_HALF_UP).normalize(), "f")
    return text


def display(kpi: Kpi, value: Any, locale: str | None) -> str:
    """The value as people read it: 1,234.50 元, 12.35 万元, 45.0%, 3.5 天."""
    if value is None:
        return "—"
    words = _WORDS["zh" if (locale or "").startswith("zh") else "en"]
    number = Decimal(value)
    style = kpi.unit
    if kpi.unit == "money":
        style = kpi.money_display
        if style == "wan":
            number = number / 10000
    elif kpi.unit == "percent":
        number = number * 100
    places = 0 if kpi.unit == "count" else kpi.decimals
    shown = number.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    return words[style].format(f"{shown:,}")
