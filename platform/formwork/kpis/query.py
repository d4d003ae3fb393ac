"""The SQL of a KPI request: every measure, grouped by the dimensions asked for, in one statement.

Each record measure reads its typed values from ``record_facts`` (``records.facts``): the
measured field's rows joined to the date field's rows of the same record and line item, joined
to ``records`` for the department, the submitter, the form, the measure's filter and the
viewer's data scope (``records.access.visible_branches``, the permissions' SQL filter). The
filter and choice-field dimensions are compiled by the expression language's SQL back end.

Roll-up along the department tree is a join to the tree's closure (a recursive CTE over
``departments``: each department with itself and every department below it), so a department's
row aggregates its whole subtree's records in the database — a sum, a count of distinct
submitters or an average is computed over the subtree's rows, never added up from the
children's results. Time is bucketed in SQL from business-calendar dates (projected so).

Every measure's grouped rows and its overall row are one ``UNION ALL``: one statement per request.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _

from .. import business_time
from ..budgets.models import BudgetLine
from ..expressions import RecordColumns, T, TypeEnv, compile_sql
from ..expressions.sql_values import pg_divide
from ..org.models import Department
from ..records import access
from ..records.models import Record, RecordFact
from .model import (
    FILTER_CONTEXT,
    GRAINS,
    PERCENTILES,
    PROCESS_DIMENSIONS,
    RECORD_COLUMNS,
    BudgetMeasure,
    Measure,
    ProcessMeasure,
    RecordMeasure,
)

PG = "postgresql"
FIXED_DIMENSIONS = ("department", "submitter", "form")
BUDGET_GRAINS = ("quarter", "year")

# The rows of a process measure come from the approval history, which lives in the workflow
# package above this one: it registers the function that selects them (``wiring``).
ProcessRows = Callable[["Builder", ProcessMeasure, str], Any]
_process_rows: list[ProcessRows] = []


def register_process_rows(select: ProcessRows) -> None:
    """Install the function that gives a process measure's rows for one request, as a CTE with
    ``record_id``, ``item_id`` (the task or process), ``department_id``, ``owner_id``,
    ``form_key``, ``day``, ``step``, ``approver`` and ``value`` (a duration in seconds)."""
    _process_rows[:] = [select]


def percentile(value: Any, fraction: float, dialect: str) -> Any:
    """The first value whose position in the ordering reaches ``fraction`` (the same on both)."""
    if dialect == PG:
        return sa.func.percentile_disc(fraction).within_group(value)
    return sa.func.fw_pdisc(value, fraction, type_=sa.String())


class QueryError(ValueError):
    """A request the KPI cannot answer (a dimension its measures do not have); the API's 400."""


@dataclass(frozen=True)
class Request:
    """What is asked: dimensions (``department``, ``submitter``, ``form``, one time grain, choice
    fields), an inclusive date range and filters (``department`` id: its subtree; ``submitter``
    id; ``form`` key; choice field → value; a grain → its period label, for drill-down)."""

    by: tuple[str, ...] = ()
    start: date | None = None
    end: date | None = None
    filters: Mapping[str, Any] = field(default_factory=dict)

    @property
    def grain(self) -> str | None:
        return next((d for d in self.by if d in GRAINS), None)


def _tree() -> Any:
    """(ancestor, descendant) for every department and each department in its subtree, itself included."""
    departments = Department.__table__
    base = sa.select(departments.c.id.label("ancestor"), departments.c.id.label("descendant")).cte(
        "department_tree", recursive=True
    )
    child = departments.alias("child")
    return base.union_all(
        sa.select(base.c.ancestor, child.c.id).join(child, child.c.parent_id == base.c.descendant)
    )


def bucket(day: Any, grain: str, dialect: str) -> Any:
    """The period label of a date column: 2026-03-07, the week's Monday, 2026-03, 2026-Q1, 2026."""
    if dialect == PG:
        formats = {"day": "YYYY-MM-DD", "month": "YYYY-MM", "year": "YYYY"}
        if grain in formats:
            return sa.func.to_char(day, formats[grain])
        if grain == "week":
            return sa.func.to_char(sa.func.date_trunc("week", day), "YYYY-MM-DD")
        return sa.func.to_char(day, "YYYY") + "-Q" + sa.func.to_char(day, "Q")
    if grain == "day":
        return sa.cast(day, sa.String())
    if grain == "week":
        return sa.func.date(day, "weekday 0", "-6 days")
    if grain == "month":
        return sa.func.substr(day, 1, 7)
    if grain == "year":
        return sa.func.substr(day, 1, 4)
    month = sa.cast(sa.func.substr(day, 6, 2), sa.Integer())
    return sa.func.substr(day, 1, 4) + "-Q" + sa.cast((month + 2) // 3, sa.String())


def quarter_of(day: date) -> str:
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


def dimension_type(name: str) -> sa.types.TypeEngine:
    return sa.Integer() if name in ("department", "submitter", "approver") else sa.String()


class Builder:
    """The statement for one request, one viewer and one database."""

    def __init__(self, request: Request, user: Any, dialect: str):
        self.request = request
        self.user = user
        self.dialect = dialect
        self.tree = _tree()
        self.records = Record.__table__

    # -- shared pieces -------------------------------------------------------------------------
    def scope(self) -> Any:
        branches = access.visible_branches(self.user)
        if branches is None:
            return sa.true()
        return sa.or_(*branches) if branches else sa.false()

    def subtree(self, department_id: int) -> Any:
        return sa.select(self.tree.c.descendant).where(self.tree.c.ancestor == department_id)

    def value_of(self, measure: RecordMeasure, ids: Any, column_of: Any, value: Any) -> Any:
        """The measure's aggregate: over ``value`` (the measured field's typed column), or a count
        of distinct ``ids`` (records) or of ``column_of(name)`` (a column of ``records``)."""
        aggregate = measure.aggregate
        if measure.of is None:
            return sa.func.count(sa.distinct(ids))
        if measure.of in RECORD_COLUMNS:  # count_distinct only (the definition's check)
            return sa.func.count(sa.distinct(column_of(RECORD_COLUMNS[measure.of])))
        if aggregate == "count":
            return sa.func.count(value)
        if aggregate == "count_distinct":
            return sa.func.count(sa.distinct(value))
        if aggregate in PERCENTILES:
            return percentile(value, PERCENTILES[aggregate], self.dialect)
        if self.dialect == PG:
            if aggregate == "avg":
                return pg_divide(sa.func.sum(value), sa.func.count(value))
            return getattr(sa.func, aggregate)(value)
        name = {"sum": "fw_dsum", "avg": "fw_davg", "min": "fw_dmin", "max": "fw_dmax"}[aggregate]
        return getattr(sa.func, name)(value, type_=sa.String())

    def typed_value(self, measure: RecordMeasure, v: Any) -> Any:
        """The column of the facts ``v`` that holds the measured field (None: nothing measured)."""
        if measure.of_kind is None:
            return None
        return {"number": v.c.number_value, "date": v.c.date_value, "text": v.c.text_value}[measure.of_kind]

    def _choice(self, measure: RecordMeasure, name: str) -> Any:
        if name not in measure.choice_fields:
            raise QueryError(
                _('"%(name)s" is not a choice field of the form %(form)s', name=name, form=measure.form)
            )
        env = TypeEnv({name: T.TEXT}, context=FILTER_CONTEXT)
        return compile_sql(name, env, RecordColumns.of(self.records), self.dialect).clause

    # -- record measures -----------------------------------------------------------------------
    def record_base(self, measure: RecordMeasure) -> tuple[Any, Any, Any]:
        """(FROM clause, conditions, date column) of a record measure, before dimensions."""
        r = self.records
        facts = RecordFact.__table__
        conditions = [r.c.form_key == measure.form, self.scope()]
        value_path = measure.value_path
        # One fact row per value, its date in the same row (``records.facts``); records counted by
        # their date read the date's rows (a line-item date: the record in each period it has a line).
        path = value_path if value_path is not None else measure.date_path
        v = facts.alias(f"v_{measure.name}")
        on = [v.c.record_id == r.c.id, v.c.form_key == measure.form, v.c.path == path.stored]
        if value_path is None and not measure.date_lines:
            on.append(v.c.row_no == 0)
        source: Any = r.join(v, sa.and_(*on))
        if measure.filter_sql:
            moment = business_time.now()
            clause = measure.filter_sql[self.dialect]
            conditions.append(clause.bind({"today": business_time.local_date(moment), "now": moment}))
        day = v.c.date_value
        if self.request.start is not None:
            conditions.append(day >= self.request.start)
        if self.request.end is not None:
            conditions.append(day <= self.request.end)
        return (source, v), conditions, day

    def record_filters(self, measure: RecordMeasure, day: Any) -> list[Any]:
        r = self.records
        found = []
        for name, wanted in self.request.filters.items():
            if name == "department":
                found.append(r.c.department_id.in_(self.subtree(wanted)))
            elif name == "submitter":
                found.append(r.c.owner_id == wanted)
            elif name == "form":
                found.append(r.c.form_key == wanted)
            elif name in GRAINS:
                found.append(bucket(day, name, self.dialect) == wanted)
            else:
                found.append(self._choice(measure, name) == wanted)
        return found

    def record_rows(self, measure: RecordMeasure, name: str) -> Any:
        """The measure's rows for this request — one per value (or per dated record), within the
        scope, the filter, the period and the filters — with what the groups read, as a CTE that
        the grouped rows and the overall value both aggregate (PostgreSQL materializes it once)."""
        (source, v), conditions, day = self.record_base(measure)
        conditions += self.record_filters(measure, day)
        r = self.records
        columns = [
            r.c.id.label("record_id"),
            r.c.department_id.label("department_id"),
            r.c.owner_id.label("owner_id"),
            r.c.form_key.label("form_key"),
            day.label("day"),
        ]
        value = self.typed_value(measure, v)
        if value is not None:
            columns.append(value.label("value"))
        for dimension in self.request.by:
            if dimension not in FIXED_DIMENSIONS and dimension not in GRAINS:
                columns.append(self._choice(measure, dimension).label(f"choice_{dimension}"))
        return sa.select(*columns).select_from(source).where(*conditions).cte(name)

    def record_select(
        self, key: str, measure: RecordMeasure | ProcessMeasure, rows: Any, grouped: bool
    ) -> Any:
        """The measure's groups (``grouped``) or its overall value, from its ``record_rows``."""
        source: Any = rows
        columns = []
        for name in self.request.by if grouped else ():
            if name == "department":
                source = source.join(self.tree, self.tree.c.descendant == rows.c.department_id)
                column: Any = self.tree.c.ancestor
            elif name == "submitter":
                column = rows.c.owner_id
            elif name == "form":
                column = rows.c.form_key
            elif name in GRAINS:
                column = bucket(rows.c.day, name, self.dialect)
            elif name in PROCESS_DIMENSIONS:
                column = rows.c[name]
            else:
                column = rows.c[f"choice_{name}"]
            columns.append(sa.cast(column, dimension_type(name)).label(name))
        if not grouped:
            columns = [sa.cast(sa.null(), dimension_type(name)).label(name) for name in self.request.by]
        if isinstance(measure, ProcessMeasure):
            value = self.process_value(measure, rows)
        else:
            value = self.value_of(
                measure,
                rows.c.record_id,
                lambda column: rows.c["record_id" if column == "id" else column],
                rows.c.value if "value" in rows.c else None,
            )
        query = sa.select(
            sa.literal(key).label("measure"),
            sa.literal(1 if grouped else 0).label("grouped"),
            *columns,
            self._value(value).label("value"),
        ).select_from(source)
        if grouped and columns:
            query = query.group_by(*(c.element for c in columns))
        return query

    # -- process measures ----------------------------------------------------------------------
    def process_rows(self, measure: ProcessMeasure, name: str) -> Any:
        if not _process_rows:
            raise QueryError(_("the approval history is not available to KPIs here"))
        return _process_rows[0](self, measure, name)

    def process_value(self, measure: ProcessMeasure, rows: Any) -> Any:
        """Rows counted, or the aggregate of their durations (seconds: exact on both databases)."""
        aggregate = measure.aggregate
        if aggregate == "count":
            return sa.func.count(rows.c.item_id)
        if aggregate in PERCENTILES:
            return percentile(rows.c.value, PERCENTILES[aggregate], self.dialect)
        if self.dialect == PG:
            if aggregate == "avg":
                return pg_divide(sa.func.sum(rows.c.value), sa.func.count(rows.c.value))
            return getattr(sa.func, aggregate)(rows.c.value)
        name = {"sum": "fw_dsum", "avg": "fw_davg", "min": "fw_dmin", "max": "fw_dmax"}[aggregate]
        return getattr(sa.func, name)(rows.c.value, type_=sa.String())

    def _value(self, value: Any) -> Any:
        return sa.cast(value, sa.Numeric()) if self.dialect == PG else sa.cast(value, sa.String())

    # -- budget measures -----------------------------------------------------------------------
    def budget_select(self, key: str, measure: BudgetMeasure, grouped: bool) -> Any:
        b = BudgetLine.__table__
        source: Any = b
        conditions = [b.c.currency == measure.currency]
        if measure.categories:
            conditions.append(b.c.category.in_(measure.categories))
        reach = self.budget_reach(measure)
        if reach is not None:
            conditions.append(reach)
        if self.request.start is not None:
            conditions.append(b.c.period >= quarter_of(self.request.start))
        if self.request.end is not None:
            conditions.append(b.c.period <= quarter_of(self.request.end))
        for name, wanted in self.request.filters.items():
            if name == "department":
                conditions.append(b.c.department_id.in_(self.subtree(wanted)))
            elif name == "quarter":
                conditions.append(b.c.period == wanted)
            elif name == "year":
                conditions.append(sa.func.substr(b.c.period, 1, 4) == wanted)
            else:
                raise QueryError(
                    _(
                        "the budget of %(measure)s has no %(name)s; it is by department and quarter",
                        measure=measure.name,
                        name=name,
                    )
                )
        columns = []
        for name in self.request.by if grouped else ():
            if name == "department":
                source = source.join(self.tree, self.tree.c.descendant == b.c.department_id)
                column: Any = self.tree.c.ancestor
            elif name == "quarter":
                column = b.c.period
            elif name == "year":
                column = sa.func.substr(b.c.period, 1, 4)
            else:
                raise QueryError(
                    _(
                        "the budget of %(measure)s is by department and quarter; "
                        "it cannot be shown by %(name)s",
                        measure=measure.name,
                        name=name,
                    )
                )
            columns.append(sa.cast(column, dimension_type(name)).label(name))
        if not grouped:
            columns = [sa.cast(sa.null(), dimension_type(name)).label(name) for name in self.request.by]
        amount = (
            sa.func.sum(b.c.amount)
            if self.dialect == PG
            else sa.func.fw_dsum(sa.cast(b.c.amount, sa.String()), type_=sa.String())
        )
        query = sa.select(
            sa.literal(key).label("measure"),
            sa.literal(1 if grouped else 0).label("grouped"),
            *columns,
            self._value(amount).label("value"),
        ).select_from(source)
        query = query.where(*conditions)
        if grouped and columns:
            query = query.group_by(*(c.element for c in columns))
        return query

    def budget_reach(self, measure: BudgetMeasure) -> Any:
        """Which departments' budgets the viewer sees: all for administrators and the roles the
        measure names; else their own department's and those of the departments they head, with
        everything below them."""
        b = BudgetLine.__table__
        user = self.user
        if access.sees_everything(user) or any(user.has_role(role) for role in measure.all_departments_for):
            return None
        headed = sa.select(Department.id).where(Department.head_id == user.id)
        below = sa.select(self.tree.c.descendant).where(self.tree.c.ancestor.in_(headed))
        return sa.or_(b.c.department_id == user.department_id, b.c.department_id.in_(below))

    # -- the statement -------------------------------------------------------------------------
    def statement(self, measures: Mapping[str, Measure]) -> Any:
        parts = []
        for index, (key, measure) in enumerate(measures.items()):
            if isinstance(measure, BudgetMeasure):
                parts += [self.budget_select(key, measure, grouped) for grouped in (True, False)]
            elif isinstance(measure, ProcessMeasure):
                rows = self.process_rows(measure, f"rows_{index}")
                parts += [self.record_select(key, measure, rows, grouped) for grouped in (True, False)]
            else:
                rows = self.record_rows(measure, f"rows_{index}")
                parts += [self.record_select(key, measure, rows, grouped) for grouped in (True, False)]
        return sa.union_all(*parts)
