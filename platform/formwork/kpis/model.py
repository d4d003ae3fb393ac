"""A KPI definition compiled: its measures, formula, unit, display and target, checked against
the forms it reads and the other KPIs it names.

``compile_kpi(content, forms, kpis)`` gives an immutable ``Kpi`` or raises ``DefinitionError``
with every problem, each at its JSON pointer: a missing or non-numeric field, a date field that
is not a date, a filter that is not a condition or that SQL cannot run, an unknown name in the
formula, KPIs that refer to each other in a cycle, money in more than one currency.
``forms(key)`` gives a compiled form (or None), ``kpis(key)`` another KPI's content (or None):
the caller decides whether they come from the set being published or from the database.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ..definitions.problems import DefinitionError, Problem
from ..expressions import (
    RECORD_TYPE,
    CompiledExpression,
    ExpressionError,
    RecordColumns,
    SqlExpression,
    SqlTranslationError,
    T,
    TypeEnv,
    compile_expression,
    compile_sql_filter,
    parse,
)
from ..expressions import nodes as N
from ..expressions.sql_values import DIALECTS
from ..records.facts import DATE, NUMBER, TEXT, TypedPath
from ..records.models import Record

KIND = "kpi"
GRAINS = ("day", "week", "month", "quarter", "year")
RECORD_COLUMNS = {"$record.id": "id", "$record.owner": "owner_id", "$record.department": "department_id"}
# What a filter may read besides the form's fields: the record's own columns and the clock.
FILTER_CONTEXT: dict[str, T.Type] = {"record": RECORD_TYPE, "today": T.DATE, "now": T.DATETIME}
MAX_DEPTH = 20  # KPIs built on KPIs built on KPIs...: deeper than this is refused

FormLookup = Callable[[str], Any]
KpiLookup = Callable[[str], Mapping[str, Any] | None]


@dataclass(frozen=True)
class RecordMeasure:
    """An aggregate over one form's records (or their line items), placed in time by ``date``."""

    name: str
    form: str
    aggregate: str
    of: str | None  # a field path, "$record.owner"..., or None (count records)
    of_kind: str | None  # NUMBER, DATE, TEXT for a field; None for a $record column or no field
    date: str
    filter: str | None
    type: T.Type
    currency: str | None
    choice_fields: frozenset[str]  # the form's top-level choice fields: dimensions it offers
    # The filter as SQL, per database ("postgresql", "sqlite"): compiled once with the KPI.
    filter_sql: Mapping[str, SqlExpression] = field(default_factory=dict, compare=False, hash=False)

    @property
    def of_lines(self) -> bool:
        return self.of is not None and self.of_kind is not None and "." in self.of

    @property
    def date_lines(self) -> bool:
        return "." in self.date

    @property
    def value_path(self) -> TypedPath | None:
        """The measured field with its date in one row (None: records counted by their date)."""
        if self.of is None or self.of_kind is None:
            return None
        return TypedPath(self.of, self.of_kind, self.date)

    @property
    def date_path(self) -> TypedPath:
        return TypedPath(self.date, DATE)

    def typed_paths(self) -> set[TypedPath]:
        value = self.value_path
        return {value} if value is not None else {self.date_path}


@dataclass(frozen=True)
class BudgetMeasure:
    """The approved budget lines (``budget_lines``), by department and quarter."""

    name: str
    categories: tuple[str, ...] | None
    currency: str
    all_departments_for: tuple[str, ...]
    type: T.Type = T.MONEY


# Process measures: what the approval history says of the work, not of the records' fields.
# source → (the rows it counts, the conditions ``where`` may name). Decided tasks are placed in
# time by their decision, open tasks by their creation, finished requests by their end.
PROCESS_SOURCES: dict[str, tuple[str, ...]] = {
    "decided_tasks": ("overdue", "returned", "rejected", "approved"),
    "open_tasks": ("overdue",),
    "finished_requests": ("approved", "rejected", "first_pass"),
}
DURATIONS = {"hours": 3600, "days": 86400}  # a duration measured in seconds, shown in this unit
PERCENTILES = {"p50": 0.5, "p90": 0.9, "p95": 0.95}
PROCESS_DIMENSIONS = ("step", "approver")  # dimensions of task sources besides the records' own


@dataclass(frozen=True)
class ProcessMeasure:
    """An aggregate over the approval history: tasks decided or open, requests finished.

    ``of`` is a duration (``hours``, ``days``): a decided task's time from arrival to decision, an
    open task's age, a finished request's time from submission to its end. Without it, rows are
    counted (``where`` narrows them: overdue, returned, first_pass...)."""

    name: str
    source: str
    aggregate: str
    of: str | None
    form: str | None
    step: str | None
    where: str | None
    type: T.Type

    @property
    def tasks(self) -> bool:
        return self.source != "finished_requests"

    @property
    def divisor(self) -> int | None:
        return DURATIONS[self.of] if self.of else None


Measure = RecordMeasure | BudgetMeasure | ProcessMeasure


@dataclass(frozen=True)
class Levels:
    value: Decimal | None = None
    warning: Decimal | None = None
    alert: Decimal | None = None


@dataclass(frozen=True)
class Target:
    good: str  # "higher" or "lower"
    overall: Levels
    departments: Mapping[str, Levels] = field(default_factory=dict)

    def levels_for(self, department_code: str | None) -> Levels:
        if department_code is not None and department_code in self.departments:
            return self.departments[department_code]
        return self.overall

    def level(self, value: Decimal | None, levels: Levels) -> str | None:
        """ "normal", "warning" or "alert" for ``value`` (None when there is no value)."""
        if value is None:
            return None
        worse = (lambda a, b: a >= b) if self.good == "lower" else (lambda a, b: a <= b)
        if levels.alert is not None and worse(value, levels.alert):
            return "alert"
        if levels.warning is not None and worse(value, levels.warning):
            return "warning"
        return "normal"


ALERT_PERIODS = ("month", "quarter", "year")


@dataclass(frozen=True)
class AlertRule:
    """When the KPI's level changes (normal, warning, alert), who is told: checked for the current
    period to date, overall or per department (each against its own thresholds)."""

    period: str
    by_department: bool
    roles: tuple[str, ...]
    department_heads: bool


@dataclass(frozen=True)
class Kpi:
    key: str
    title: Mapping[str, str]
    description: Mapping[str, str] | None
    viewers: tuple[str, ...] | None
    measures: Mapping[str, Measure]
    formula: CompiledExpression | None  # None: the value is the one measure's
    references: tuple[str, ...]  # other KPIs the formula names
    type: T.Type
    currency: str | None
    unit: str
    money_display: str
    decimals: int
    target: Target | None
    alerts: AlertRule | None = None

    def title_for(self, locale: str | None) -> str:
        return self.title.get(locale or "en") or self.title["en"]

    def typed_paths(self, form_key: str) -> set[TypedPath]:
        found: set[TypedPath] = set()
        for measure in self.measures.values():
            if isinstance(measure, RecordMeasure) and measure.form == form_key:
                found |= measure.typed_paths()
        return found


# --- compiling ---------------------------------------------------------------------------------


def _decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _levels(spec: Mapping[str, Any]) -> Levels:
    return Levels(_decimal(spec.get("value")), _decimal(spec.get("warning")), _decimal(spec.get("alert")))


def _field_kind(value_type: T.Type) -> str:
    if value_type in T.NUMERIC:
        return NUMBER
    if value_type in (T.DATE, T.DATETIME):
        return DATE
    return TEXT


class _Compiler:
    def __init__(
        self, content: Mapping[str, Any], forms: FormLookup, kpis: KpiLookup, trail: tuple[str, ...]
    ):
        self.content = content
        self.forms = forms
        self.kpis = kpis
        self.trail = trail
        self.problems: list[Problem] = []

    def problem(self, message: str, pointer: str) -> None:
        self.problems.append(Problem(message, pointer))

    # -- measures ------------------------------------------------------------------------------
    def measure(self, name: str, spec: Mapping[str, Any]) -> Measure | None:
        pointer = f"/measures/{name}"
        if "budget" in spec:
            budget = spec["budget"] or {}
            categories = budget.get("categories")
            return BudgetMeasure(
                name,
                tuple(categories) if categories else None,
                budget.get("currency", "CNY"),
                tuple(budget.get("all_departments_for") or ()),
            )
        if "process" in spec:
            return self.process_measure(name, spec, pointer)
        form = self.forms(spec["form"])
        if form is None:
            self.problem(f"unknown form {spec['form']!r}: no published form has this key", f"{pointer}/form")
            return None
        aggregate = spec["aggregate"]
        of = spec.get("of")
        of_kind: str | None = None
        value_type: T.Type = T.INTEGER
        currency = None
        if of is None:
            if aggregate != "count":
                self.problem(f"{aggregate} needs a field: say which with `of`", pointer)
                return None
        elif of in RECORD_COLUMNS:
            if aggregate != "count_distinct":
                self.problem(
                    f"{of} can only be counted with count_distinct, not {aggregate}", f"{pointer}/of"
                )
                return None
        else:
            target = form.field(of)
            if target is None or target.is_lines:
                self.problem(self._unknown(form, of, "field"), f"{pointer}/of")
                return None
            if isinstance(target.value_type, (T.ListOf, T.RecordOf)):
                self.problem(f"{of!r} holds a list, not one value; name a single field", f"{pointer}/of")
                return None
            of_kind = _field_kind(target.value_type)
            if aggregate in ("sum", "avg", "min", "max", *PERCENTILES):
                if target.value_type not in T.NUMERIC:
                    self.problem(
                        f"{aggregate} needs a number, but {of!r} is a {target.type.name} field "
                        f"({target.value_type.describe()})",
                        f"{pointer}/of",
                    )
                    return None
                value_type = (
                    T.DECIMAL if aggregate == "avg" and target.value_type == T.INTEGER else target.value_type
                )
                if target.value_type == T.MONEY:
                    currency = target.settings.get("currency") or "CNY"
        date_path = spec["date"]
        date_field = form.field(date_path)
        if date_field is None or date_field.is_lines:
            self.problem(self._unknown(form, date_path, "date field"), f"{pointer}/date")
            return None
        if date_field.value_type not in (T.DATE, T.DATETIME):
            self.problem(
                f"the date field {date_path!r} is a {date_field.type.name} field, not a date or date-time",
                f"{pointer}/date",
            )
            return None
        if (
            "." in date_path
            and of_kind is not None
            and of is not None
            and of.split(".")[0] != date_path.split(".")[0]
        ):
            # A record counted by a line's date counts in each period it has a line in; a value of
            # the record itself (or of other line items) has no single line's date.
            self.problem(
                f"the date {date_path!r} belongs to line items, so the measured field must be a field of "
                "the same line items (or the records be counted)",
                f"{pointer}/date",
            )
            return None
        source = spec.get("filter")
        filter_sql: dict[str, SqlExpression] = {}
        if source is not None:
            filter_sql = self._filter(source, form, f"{pointer}/filter")
            if not filter_sql:
                return None
        choices = frozenset(f.key for f in form.fields if f.type.name == "choice")
        return RecordMeasure(
            name,
            form.key,
            aggregate,
            of,
            of_kind,
            date_path,
            source,
            value_type,
            currency,
            choices,
            filter_sql,
        )

    def process_measure(self, name: str, spec: Mapping[str, Any], pointer: str) -> ProcessMeasure | None:
        process = spec["process"]
        source, aggregate, of = process["source"], spec["aggregate"], spec.get("of")
        form_key, step, where = process.get("form"), process.get("step"), process.get("where")
        problems = len(self.problems)
        if form_key is not None and self.forms(form_key) is None:
            self.problem(
                f"unknown form {form_key!r}: no published form has this key", f"{pointer}/process/form"
            )
        if step is not None and source == "finished_requests":
            self.problem(
                "a finished request has no step; name a step for tasks only", f"{pointer}/process/step"
            )
        if where is not None and where not in PROCESS_SOURCES[source]:
            allowed = ", ".join(PROCESS_SOURCES[source])
            self.problem(f"{source} can be narrowed by {allowed}, not {where!r}", f"{pointer}/process/where")
        if aggregate == "count":
            if of is not None:
                self.problem(
                    "count counts rows; leave out `of` (or use avg, min, max, p90 of it)", f"{pointer}/of"
                )
        elif aggregate == "count_distinct":
            self.problem("process measures count rows with count, not count_distinct", f"{pointer}/aggregate")
        elif of not in DURATIONS:
            self.problem(
                f"{aggregate} of the approval history needs a duration: of: hours or of: days",
                f"{pointer}/of",
            )
        if len(self.problems) > problems:
            return None
        value_type = T.INTEGER if aggregate == "count" else T.DECIMAL
        return ProcessMeasure(name, source, aggregate, of, form_key, step, where, value_type)

    def _unknown(self, form: Any, path: str, what: str) -> str:
        return f"unknown {what} {path!r} in form {form.key!r}"

    def _filter(self, source: str, form: Any, pointer: str) -> dict[str, SqlExpression]:
        """The filter compiled for each database (empty, with a problem, when it cannot be)."""
        env = TypeEnv({f.key: f.value_type for f in form.fields}, context=FILTER_CONTEXT)
        columns = RecordColumns.of(Record.__table__)
        try:
            compile_expression(source, env, expected=T.BOOLEAN)
            # A KPI is computed by the database: a filter SQL cannot express is refused now.
            return {dialect: compile_sql_filter(source, env, columns, dialect) for dialect in DIALECTS}
        except SqlTranslationError as exc:
            self.problem(f"a KPI filter runs in the database, and {exc.message} (in {source!r})", pointer)
        except ExpressionError as exc:
            self.problem(f"{exc.message} (in {source!r})", pointer)
        return {}

    # -- formula and references ----------------------------------------------------------------
    def referenced(self, key: str) -> "Kpi | None":
        if key in self.trail or len(self.trail) >= MAX_DEPTH:
            cycle = " → ".join((*self.trail[self.trail.index(key) :], key)) if key in self.trail else key
            self.problem(f"KPIs refer to each other in a cycle: {cycle}", "/formula")
            return None
        content = self.kpis(key)
        if content is None:
            return None
        try:
            return compile_kpi(content, self.forms, self.kpis, _trail=self.trail)
        except DefinitionError as exc:
            cycles = [p for p in exc.problems if p.message.startswith("KPIs refer to each other")]
            if cycles:
                self.problem(cycles[0].message, "/formula")
            else:
                self.problem(f"the KPI {key!r} it refers to has problems of its own", "/formula")
            return None

    def formula(
        self, source: str | None, measures: Mapping[str, Measure]
    ) -> tuple[CompiledExpression | None, tuple[str, ...], dict[str, Kpi]]:
        if source is None:
            if len(measures) > 1:
                self.problem("with more than one measure, a formula must say how they combine", "")
            return None, (), {}
        try:
            tree = parse(source)
        except ExpressionError as exc:
            self.problem(f"{exc.message} (in {source!r})", "/formula")
            return None, (), {}
        names = sorted({n.name for n in N.walk(tree) if isinstance(n, N.Name)})
        others: dict[str, Kpi] = {}
        for name in names:
            if name in measures:
                continue
            if self.kpis(name) is None:
                self.problem(f"unknown measure or KPI {name!r} in the formula", "/formula")
                continue
            other = self.referenced(name)
            if other is not None:
                others[name] = other
        if self.problems:
            return None, (), others
        env = TypeEnv(
            {**{k: m.type for k, m in measures.items()}, **{k: o.type for k, o in others.items()}}, context={}
        )
        try:
            compiled = compile_expression(source, env)
        except ExpressionError as exc:
            self.problem(f"{exc.message} (in {source!r})", "/formula")
            return None, (), others
        if compiled.type not in (*T.NUMERIC, T.NULL):
            self.problem(f"a KPI gives a number; this formula gives {compiled.type.describe()}", "/formula")
        return compiled, tuple(sorted(others)), others

    def currency(self, measures: Mapping[str, Measure], others: Mapping[str, Kpi]) -> str | None:
        seen: dict[str, str] = {}
        for name, measure in measures.items():
            if not isinstance(measure, ProcessMeasure) and measure.type == T.MONEY and measure.currency:
                seen.setdefault(measure.currency, f"/measures/{name}")
        for other in others.values():
            if other.currency:
                seen.setdefault(other.currency, "/formula")
        if len(seen) > 1:
            codes = sorted(seen)
            self.problem(
                f"the KPI mixes currencies ({', '.join(codes)}); amounts in different currencies cannot "
                "be added or divided",
                max(seen.values()),
            )
            return None
        return next(iter(seen), None)


def compile_kpi(
    content: Mapping[str, Any], forms: FormLookup, kpis: KpiLookup, *, _trail: tuple[str, ...] = ()
) -> Kpi:
    """The ``Kpi`` of ``content`` (schema-valid), or ``DefinitionError`` with every problem."""
    key = content["key"]
    compiler = _Compiler(content, forms, kpis, (*_trail, key))
    measures: dict[str, Measure] = {}
    for name, spec in content["measures"].items():
        measure = compiler.measure(name, spec)
        if measure is not None:
            measures[name] = measure
    if compiler.problems:
        raise DefinitionError(compiler.problems)
    formula, references, others = compiler.formula(content.get("formula"), measures)
    currency = compiler.currency(measures, others)
    if compiler.problems:
        raise DefinitionError(compiler.problems)
    value_type = formula.type if formula is not None else next(iter(measures.values())).type
    durations = {m.of for m in measures.values() if isinstance(m, ProcessMeasure) and m.of}
    unit = content.get("unit") or (
        "money"
        if value_type == T.MONEY
        else "count"
        if value_type == T.INTEGER
        else durations.pop()
        if formula is None and len(durations) == 1
        else "number"
    )
    display = content.get("display") or {}
    target = content.get("target")
    alerts = _alert_rule(content.get("alerts"), target, compiler)
    if compiler.problems:
        raise DefinitionError(compiler.problems)
    return Kpi(
        key=key,
        title=content["title"],
        description=content.get("description"),
        viewers=tuple(content["viewers"]) if content.get("viewers") else None,
        measures=measures,
        formula=formula,
        references=references,
        type=value_type,
        currency=currency,
        unit=unit,
        money_display=display.get("money", "yuan"),
        decimals=int(display.get("decimals", 2)),
        target=None
        if target is None
        else Target(
            target["good"],
            _levels(target),
            {code: _levels(spec) for code, spec in (target.get("departments") or {}).items()},
        ),
        alerts=alerts,
    )


def _alert_rule(spec: Mapping[str, Any] | None, target: Mapping[str, Any] | None, compiler: _Compiler) -> Any:
    if spec is None:
        return None
    levels = [target or {}, *((target or {}).get("departments") or {}).values()]
    if not any(level.get("warning") is not None or level.get("alert") is not None for level in levels):
        compiler.problem("alerts need a target with a warning or an alert threshold to cross", "/alerts")
        return None
    notify = spec.get("notify") or {}
    by_department = spec.get("by") == "department"
    if notify.get("department_heads") and not by_department:
        compiler.problem(
            "department_heads are told about their own department's value: add by: department",
            "/alerts/notify/department_heads",
        )
        return None
    return AlertRule(
        spec.get("period", "month"),
        by_department,
        tuple(notify.get("roles") or ()),
        bool(notify.get("department_heads")),
    )
