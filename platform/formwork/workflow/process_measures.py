"""The approval history as the rows of a KPI's process measures (``kpis.model.ProcessMeasure``).

One row per approval task decided or open, or per request whose route ended, joined to its
record so that the viewer's data scope, the department tree and the form apply exactly as they
do to the measures over records. Each row carries its business day (the decision, the arrival,
the end, in ``FORMWORK_TIMEZONE``), its step and approver, and a duration in whole seconds —
integers, so that averages and percentiles come out the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from .. import business_time
from ..kpis.model import ProcessMeasure
from ..kpis.query import PG, Builder, bucket
from ..records.models import Record
from .models import APPROVAL, APPROVED, OPEN, REJECTED, Process, Task

DECIDED = ("approved", "rejected", "returned")  # the decisions that move a request on, or back
FINISHED = (APPROVED, REJECTED)


def _epoch(column: Any, dialect: str) -> Any:
    """Whole seconds since 1970 (the fraction cut the same way on both databases)."""
    if dialect == PG:
        return sa.cast(sa.func.floor(sa.extract("epoch", column)), sa.BigInteger())
    return sa.cast(sa.func.strftime("%s", column), sa.BigInteger())


def _day(column: Any, dialect: str) -> Any:
    """The instant's business day."""
    zone = business_time.zone().key
    if dialect == PG:
        return sa.cast(sa.func.timezone(zone, column), sa.Date())
    return sa.func.fw_local_date(column, zone, type_=sa.Date())


def rows(builder: Builder, measure: ProcessMeasure, name: str) -> Any:
    """The measure's rows for the builder's request and viewer, as a CTE (``kpis.query``)."""
    dialect = builder.dialect
    r = Record.__table__
    now = business_time.now()
    if measure.tasks:
        t = Task.__table__
        source: Any = t.join(r, r.c.id == t.c.record_id)
        conditions = [t.c.kind == APPROVAL]
        if measure.source == "decided_tasks":
            at, since = t.c.decided_at, t.c.created_at
            conditions += [t.c.status.in_(DECIDED), t.c.decided_at.is_not(None)]
            overdue = sa.and_(t.c.due_at.is_not(None), t.c.decided_at > t.c.due_at)
            seconds = _epoch(at, dialect) - _epoch(since, dialect)
        else:
            at = since = t.c.created_at
            conditions.append(t.c.status == OPEN)
            overdue = sa.and_(t.c.due_at.is_not(None), t.c.due_at < now)
            seconds = sa.literal(int(now.timestamp()), sa.BigInteger()) - _epoch(since, dialect)
        narrowed = {
            "overdue": overdue,
            "returned": t.c.status == "returned",
            "rejected": t.c.status == "rejected",
            "approved": t.c.status == "approved",
        }
        item: Any = t.c.id
        step: Any = t.c.step_key
        approver: Any = t.c.assignee_id
        if measure.step is not None:
            conditions.append(t.c.step_key == measure.step)
    else:
        p = Process.__table__
        source = p.join(r, r.c.id == p.c.record_id)
        at = p.c.finished_at
        conditions = [p.c.status.in_(FINISHED), p.c.finished_at.is_not(None)]
        seconds = _epoch(at, dialect) - _epoch(p.c.started_at, dialect)
        sent_back = sa.exists().where(
            Task.__table__.c.process_id == p.c.id, Task.__table__.c.status.in_(("returned", "rejected"))
        )
        narrowed = {
            "approved": p.c.status == APPROVED,
            "rejected": p.c.status == REJECTED,
            "first_pass": sa.and_(p.c.status == APPROVED, ~sent_back),
        }
        item, step, approver = p.c.id, sa.null(), sa.null()
    if measure.where is not None:
        conditions.append(narrowed[measure.where])
    if measure.form is not None:
        conditions.append(r.c.form_key == measure.form)
    conditions.append(builder.scope())
    day = _day(at, dialect)
    request = builder.request
    if request.start is not None:
        conditions.append(day >= request.start)
    if request.end is not None:
        conditions.append(day <= request.end)
    for dimension, wanted in request.filters.items():
        if dimension == "department":
            conditions.append(r.c.department_id.in_(builder.subtree(wanted)))
        elif dimension == "submitter":
            conditions.append(r.c.owner_id == wanted)
        elif dimension == "form":
            conditions.append(r.c.form_key == wanted)
        elif dimension == "step":
            conditions.append(step == wanted)
        elif dimension == "approver":
            conditions.append(approver == wanted)
        else:  # a grain pinned to its period (the request was checked: nothing else is asked)
            conditions.append(bucket(day, dimension, dialect) == wanted)
    return (
        sa.select(
            r.c.id.label("record_id"),
            item.label("item_id"),
            r.c.department_id.label("department_id"),
            r.c.owner_id.label("owner_id"),
            r.c.form_key.label("form_key"),
            day.label("day"),
            sa.cast(step, sa.String()).label("step"),
            sa.cast(approver, sa.Integer()).label("approver"),
            seconds.label("value"),
        )
        .select_from(source)
        .where(*conditions)
        .cte(name)
    )
