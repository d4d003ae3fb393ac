"""Months of demo history: expense claims and purchase requests, each submitted and decided
through the real services at the moment it happened, and the budgets they are measured against.

``generate(months, per_month)`` replays the work month by month with the clock set to each
moment (``business_time.at``): a claim is submitted on a working day, each approver decides some
hours later — sometimes past the step's deadline, sometimes returning it (the submitter fixes
and resubmits it) or rejecting it — so the records, their routes, trails, typed KPI facts and
approval history are exactly what people working would have left. The newest requests are still
open. The budgets give every department a quarterly budget per purchase category for each
quarter touched before the current one. Random but repeatable (``seed``). The audit trail is
not replayed (its entries are appended in order of writing); the notifications it sends are
marked read.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from flask import current_app
from sqlalchemy import func, select, update

from .. import business_time
from ..budgets.service import period_of, set_budget
from ..extensions import db, transaction
from ..notifications.models import Notification
from ..org.models import Department, User
from ..records.models import Record
from ..workflow import service as workflow
from ..workflow.models import OPEN, Task
from ..workflow.submission import create_record, update_record

SUBMITTERS = ("alice", "frank", "erin", "henry", "ivan", "grace", "bob")
CATEGORIES = {  # category → (share of claims, typical amount)
    "travel": (0.45, 2400),
    "office": (0.3, 600),
    "entertainment": (0.15, 1800),
    "other": (0.1, 300),
}
# The purchase requests' budget categories, a quarter's budget each (the current quarter keeps the
# demo seed's lines: Sales only, so other departments' purchases show going over budget).
BUDGET_CATEGORIES = {
    "equipment": 60000,
    "software": 30000,
    "services": 40000,
    "supplies": 12000,
    "other": 8000,
}
DECIDE_AFTER_HOURS = (1, 70)  # an approver looks at a task within this many hours (48 is the deadline)


@dataclass
class Report:
    claims: int = 0
    purchases: int = 0
    decisions: int = 0
    returned: int = 0
    rejected: int = 0
    open: int = 0
    budget_lines: int = 0


def _working_moment(rng: random.Random, day: date) -> datetime:
    """A moment in business hours on ``day`` (business time), as UTC."""
    local = datetime.combine(day, datetime.min.time()) + timedelta(hours=rng.uniform(9, 18))
    return business_time.from_local(local)


def _working_days(first: date, last: date) -> list[date]:
    days = []
    day = first
    while day <= last:
        if day.weekday() < 5:
            days.append(day)
        day += timedelta(days=1)
    return days


def _amount(rng: random.Random, typical: int) -> str:
    value = Decimal(str(round(rng.lognormvariate(0, 0.6) * typical, 2)))
    return str(max(value, Decimal("10.00")).quantize(Decimal("0.01")))


def _claim(rng: random.Random, day: date, number: int) -> dict[str, Any]:
    category = rng.choices(list(CATEGORIES), weights=[w for w, _ in CATEGORIES.values()])[0]
    typical = CATEGORIES[category][1]
    lines = [
        {
            "date": (day - timedelta(days=rng.randint(0, 10))).isoformat(),
            "type": "other",
            "amount": _amount(rng, typical),
        }
        for _ in range(rng.choice((1, 1, 2, 3)))
    ]
    data: dict[str, Any] = {
        "category": category,
        "reason": f"{category.capitalize()} #{number}",
        "lines": lines,
        "payee_name": "Demo payee",
        "payee_bank": "ICBC Shanghai",
        "payee_account": "6222020200112233",
    }
    if category == "entertainment":
        data.update(guests="Client visit", guest_count=rng.randint(2, 8))
    if category == "travel":
        data.update(
            trip_destination=rng.choice(("北京", "广州", "深圳", "杭州", "成都")),
            trip_start=lines[0]["date"],
            trip_end=lines[0]["date"],
        )
    return data


def _purchase(rng: random.Random, day: date, number: int, department: Department) -> dict[str, Any]:
    return {
        "subject": f"Purchase #{number}",
        "department": department.id,
        "budget_category": rng.choice(list(BUDGET_CATEGORIES)),
        "items": [
            {"description": "Supplies", "quantity": rng.randint(1, 20), "unit_price": _amount(rng, 150)}
            for _ in range(rng.randint(1, 3))
        ],
        "needed_by": (day + timedelta(days=rng.randint(7, 30))).isoformat(),
        "supplier": "Demo supplier",
        "justification": "Demo purchase",
    }


def _people() -> dict[str, User]:
    return {u.username: u for u in db.session.scalars(select(User).where(User.active.is_(True)))}


def _work_through(
    record: Record, moment: datetime, until: datetime, rng: random.Random, report: Report
) -> None:
    """Each open task decided by its approver some hours after it arrived, until the request ends
    or the replay reaches ``until`` (what is left stays open)."""
    people = {u.id: u for u in _people().values()}
    for _round in range(12):  # a route has a handful of steps; a return adds a few
        task = db.session.scalar(
            select(Task)
            .where(Task.record_id == record.id, Task.status == OPEN, Task.kind == "approval")
            .order_by(Task.id)
            .limit(1)
        )
        if task is None:
            return
        moment = moment + timedelta(hours=rng.uniform(*DECIDE_AFTER_HOURS))
        if moment >= until:
            report.open += 1
            return
        approver = people[task.assignee_id]
        roll = rng.random()
        action = "return" if roll < 0.07 else "reject" if roll < 0.1 else "approve"
        comment = {"return": "请补充发票。", "reject": "不符合报销制度。"}.get(action)
        with business_time.at(moment):
            workflow.decide(task.id, approver, action, comment=comment)
        report.decisions += 1
        db.session.refresh(record)
        if action == "reject":
            report.rejected += 1
            return
        if action == "return":
            report.returned += 1
            moment = moment + timedelta(hours=rng.uniform(2, 30))
            if moment >= until:
                report.open += 1
                return
            owner = people[record.owner_id]
            with business_time.at(moment):
                update_record(record, dict(record.data), owner, submit=True, json_input=True)


def _budgets(first: date, today: date, report: Report) -> None:
    current = period_of(today)
    periods = sorted(
        {period_of(first + timedelta(days=d)) for d in range(0, (today - first).days + 1, 7)} - {current}
    )
    with transaction():
        for department in db.session.scalars(select(Department).where(Department.active.is_(True))):
            for period in periods:
                for category, amount in BUDGET_CATEGORIES.items():
                    set_budget(department, category, period, str(amount))
                    report.budget_lines += 1


def generate(months: int = 6, per_month: int = 20, seed: int = 7) -> Report:
    """Replay ``months`` months of demo work (``per_month`` claims and a third as many purchase
    requests a month). Refuses to run twice: it is for an empty demo database."""
    report = Report()
    rng = random.Random(seed)
    now = business_time.now()
    today = business_time.local_date(now)
    first = (today.replace(day=1) - timedelta(days=31 * (months - 1))).replace(day=1)
    people = _people()
    audit = current_app.config.get("FORMWORK_AUDIT_ENABLED", True)
    current_app.config["FORMWORK_AUDIT_ENABLED"] = False  # the trail keeps the order it was written in
    newest_note = db.session.scalar(select(func.max(Notification.id))) or 0
    try:
        _budgets(first, today, report)
        days = _working_days(first, today)
        total = months * per_month
        number = 0
        for index in range(total):
            day = days[min(int(index * len(days) / total), len(days) - 1)]
            moment = _working_moment(rng, day)
            if moment >= now:
                continue
            number += 1
            owner = people[rng.choice(SUBMITTERS)]
            with business_time.at(moment):
                record = create_record(
                    "expense_claim", _claim(rng, day, number), owner, submit=True, json_input=True
                )
            report.claims += 1
            _work_through(record, moment, now, rng, report)
            if index % 3 == 0 and owner.department is not None:
                department = owner.department
                with business_time.at(moment + timedelta(minutes=30)):
                    purchase = create_record(
                        "purchase_request",
                        _purchase(rng, day, number, department),
                        owner,
                        submit=True,
                        json_input=True,
                    )
                report.purchases += 1
                _work_through(purchase, moment + timedelta(minutes=30), now, rng, report)
        # What the replay told people happened long ago: read, not waiting in their bells.
        db.session.execute(
            update(Notification)
            .where(Notification.id > newest_note, Notification.created_at < now - timedelta(days=2))
            .values(read_at=Notification.created_at)
        )
        db.session.commit()
    finally:
        current_app.config["FORMWORK_AUDIT_ENABLED"] = audit
    return report


def has_history() -> bool:
    return db.session.scalar(select(Record.id).limit(1)) is not None
