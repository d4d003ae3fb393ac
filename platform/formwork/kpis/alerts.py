"""KPI alerts (指标预警): a KPI whose level changes — normal, warning, alert, and back — is recorded
once per change, with its value and threshold, and the people its definition names are told.

A KPI with ``alerts`` is checked for its current period to date (this month, quarter or year,
business calendar), overall or per department, each against its own thresholds, with the values
of every record (the check is nobody's view: no data scope narrows it). A check runs again when
a record of a form the KPI reads changed since the last check (one index probe per form on
``(form_key, updated_at)``), when the period turned, and at least every
``FORMWORK_KPI_ALERT_RECHECK_MINUTES`` (values that move with time: process measures, budgets,
filters on ``$today``). ``formwork due run`` runs the checks; the writers of records do nothing
more than they did.

The latest ``KpiAlert`` per (KPI, department) in the period is the level last told; a check that
finds the same level writes nothing, so an alert is not repeated while its level holds. A level
first seen in a period is compared with ``normal``: a KPI within its target says nothing, and a
new period that goes over again is told again. The KPI's
``KpiWatch`` row is locked for the check, so two due runs at once tell people once.

Telling people is the caller's (``notifications.kpi_alerts``): this module is below the outbox.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from .. import business_time
from ..extensions import db
from ..org.models import Department, Role, RoleAssignment, User, in_force
from ..records import access
from ..records.models import Record
from .model import Kpi, ProcessMeasure, RecordMeasure
from .models import KpiAlert, KpiWatch
from .query import Builder, Request
from .service import compute, leaf_measures

NORMAL = "normal"
ADMINISTRATOR = "administrator"


class _Everyone:
    """The viewer of a check: sees every record and every department's budget."""

    is_authenticated = True
    id = 0
    department_id = None

    def has_role(self, role: str) -> bool:
        return role == ADMINISTRATOR


WATCHER = _Everyone()


@dataclass(frozen=True)
class Change:
    """A level that changed, as recorded, with whom to tell."""

    alert: KpiAlert
    kpi: Kpi
    department: Department | None
    value: Decimal | None
    threshold: Decimal | None
    recipients: tuple[int, ...]


def alerting(kpis: Mapping[str, Kpi]) -> list[Kpi]:
    return [kpi for _key, kpi in sorted(kpis.items()) if kpi.alerts is not None]


def period_of(kpi: Kpi, today: date) -> tuple[str, date]:
    """The label and first day of the KPI's alert period that holds ``today``."""
    grain = kpi.alerts.period if kpi.alerts else "month"
    if grain == "year":
        return str(today.year), date(today.year, 1, 1)
    if grain == "quarter":
        first_month = (today.month - 1) // 3 * 3 + 1
        return f"{today.year}-Q{(today.month - 1) // 3 + 1}", date(today.year, first_month, 1)
    return f"{today.year}-{today.month:02d}", date(today.year, today.month, 1)


def _recheck() -> timedelta:
    return timedelta(minutes=int(current_app.config.get("FORMWORK_KPI_ALERT_RECHECK_MINUTES", 60)))


def _forms(kpi: Kpi, kpis: Mapping[str, Kpi]) -> set[str] | None:
    """The forms whose records the KPI reads (None: any form's)."""
    forms: set[str] = set()
    for measure in leaf_measures(kpi, kpis).values():
        if isinstance(measure, RecordMeasure):
            forms.add(measure.form)
        elif isinstance(measure, ProcessMeasure):
            if measure.form is None:
                return None
            forms.add(measure.form)
    return forms


def is_due(kpi: Kpi, kpis: Mapping[str, Kpi], now: datetime) -> bool:
    """Whether ``kpi`` needs a check now: never checked, the period turned, the re-check interval
    passed, or a record it reads changed since the last check."""
    watch = db.session.get(KpiWatch, kpi.key)
    if watch is None:
        return True
    label, _start = period_of(kpi, business_time.local_date(now))
    checked = business_time.as_utc(watch.checked_at)
    if watch.period != label or now - checked >= _recheck():
        return True
    forms = _forms(kpi, kpis)
    records = Record.__table__
    changed = sa.select(records.c.id).where(records.c.updated_at > checked).limit(1)
    if forms is not None:
        if not forms:
            return False
        # One probe of ``ix_records_form_updated`` per form.
        return any(
            db.session.execute(changed.where(records.c.form_key == form)).first() is not None
            for form in sorted(forms)
        )
    return db.session.execute(changed).first() is not None


def _lock_watch(kpi: Kpi, now: datetime, label: str) -> KpiWatch:
    """The KPI's watch row, created if missing, locked until the check's commit."""
    dialect = db.session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    db.session.execute(
        insert(KpiWatch)
        .values(kpi_key=kpi.key, checked_at=now, period=label)
        .on_conflict_do_nothing(index_elements=["kpi_key"])
    )
    return db.session.scalars(
        sa.select(KpiWatch)
        .where(KpiWatch.kpi_key == kpi.key)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()


def _last_levels(key: str, period: str) -> dict[int | None, str]:
    """The level last told per department in ``period``: each period is judged on its own, so a
    new month starts from normal (a department over its budget again is news again)."""
    latest = (
        sa.select(sa.func.max(KpiAlert.id))
        .where(KpiAlert.kpi_key == key, KpiAlert.period == period)
        .group_by(KpiAlert.department_id)
    )
    rows = db.session.execute(
        sa.select(KpiAlert.department_id, KpiAlert.level).where(KpiAlert.id.in_(latest))
    )
    return {department_id: level for department_id, level in rows}


def check(kpi: Kpi, kpis: Mapping[str, Kpi], now: datetime) -> list[Change]:
    """Check ``kpi`` now: record each change of level and say whom to tell. Runs in the caller's
    transaction, which holds the KPI's watch row until it commits."""
    rule = kpi.alerts
    if rule is None or kpi.target is None:
        return []
    today = business_time.local_date(now)
    label, start = period_of(kpi, today)
    watch = _lock_watch(kpi, now, label)
    by = ("department",) if rule.by_department else ()
    result = compute(kpi, kpis, Request(by, start, today), WATCHER)
    if rule.by_department:
        values = [(row.dimensions["department"], row.value) for row in result.rows]
    else:
        values = [(None, result.total.value)]
    previous = _last_levels(kpi.key, label)
    departments = result.departments
    changes: list[Change] = []
    for department_id, value in values:
        department = departments.get(department_id) if department_id is not None else None
        levels = kpi.target.levels_for(department.code if department else None)
        level = kpi.target.level(value, levels)
        before = previous.get(department_id, NORMAL)
        if level is None or level == before:
            continue  # no value, or the level people were last told of
        threshold = (
            levels.alert if level == "alert" else levels.warning if level == "warning" else levels.value
        )
        alert = KpiAlert(
            kpi_key=kpi.key,
            department_id=department_id,
            period=label,
            level=level,
            previous_level=before,
            value=None if value is None else str(value)[:60],
            threshold=None if threshold is None else str(threshold),
            at=now,
        )
        db.session.add(alert)
        changes.append(Change(alert, kpi, department, value, threshold, ()))
    watch.checked_at = now
    watch.period = label
    db.session.flush()
    if not changes:
        return []
    told = _recipients(kpi, [c.department for c in changes])
    return [
        Change(
            c.alert,
            c.kpi,
            c.department,
            c.value,
            c.threshold,
            told[c.department.id if c.department else None],
        )
        for c in changes
    ]


def _recipients(kpi: Kpi, departments: list[Department | None]) -> dict[int | None, tuple[int, ...]]:
    """Who hears of each department's change (None: the overall value): the holders of the
    named roles — a role limited to a department for changes in that department and below —
    and, per department, its head."""
    rule = kpi.alerts
    assert rule is not None
    parents: dict[int, int | None] = {
        department_id: parent_id
        for department_id, parent_id in db.session.execute(sa.select(Department.id, Department.parent_id))
    }

    def within(department_id: int | None, limit: int) -> bool:
        seen = 0
        while department_id is not None and seen < len(parents) + 1:
            if department_id == limit:
                return True
            department_id = parents.get(department_id)
            seen += 1
        return False

    holders: list[tuple[int, int | None]] = []
    if rule.roles:
        holders = [
            (user_id, limit)
            for user_id, limit in db.session.execute(
                sa.select(RoleAssignment.user_id, RoleAssignment.department_id)
                .join(Role, Role.id == RoleAssignment.role_id)
                .join(User, User.id == RoleAssignment.user_id)
                .where(Role.key.in_(rule.roles), User.active.is_(True), in_force())
            )
        ]
    found: dict[int | None, tuple[int, ...]] = {}
    for department in departments:
        department_id = department.id if department else None
        ids = {
            user_id
            for user_id, limit in holders
            if limit is None or (department_id is not None and within(department_id, limit))
        }
        if rule.department_heads and department is not None and department.head_id is not None:
            ids.add(department.head_id)
        found[department_id] = tuple(sorted(ids))
    return found


def history(kpi: Kpi, user: Any, *, limit: int = 50) -> list[KpiAlert]:
    """The KPI's changes of level that ``user`` may read, newest first: all of them for
    administrators and the roles the alerts notify; for a department head, those of the
    departments they head and below (an alert's value is the whole department's); else none."""
    query = sa.select(KpiAlert).where(KpiAlert.kpi_key == kpi.key).order_by(KpiAlert.id.desc()).limit(limit)
    roles = kpi.alerts.roles if kpi.alerts else ()
    if not (access.sees_everything(user) or any(user.has_role(role) for role in roles)):
        headed = sa.select(Department.id).where(Department.head_id == user.id)
        tree = Builder(Request(), user, db.session.get_bind().dialect.name).tree
        below = sa.select(tree.c.descendant).where(tree.c.ancestor.in_(headed))
        query = query.where(KpiAlert.department_id.in_(below))
    return list(db.session.scalars(query))


def departments_of(found: list[KpiAlert]) -> dict[int, Department]:
    ids = {alert.department_id for alert in found if alert.department_id is not None}
    if not ids:
        return {}
    return {d.id: d for d in db.session.scalars(sa.select(Department).where(Department.id.in_(ids)))}
