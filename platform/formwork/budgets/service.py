"""Budget lines and what has been used of them.

A budget line is an amount per department, category and calendar quarter
(``2026-Q4``). What is *used* is not stored: it is the sum, over the records of every
form whose current route reads ``$budget``, of the amount field the route names,
for records of that department, category and period that are submitted, in review or approved.
Counting from the records means the figure can never drift from what was requested.

Two requests submitted at the same moment must not both fit into the last of a budget: the
route's check reads the budget with ``lock=True``, which locks the budget line
(``SELECT ... FOR UPDATE`` on PostgreSQL) until the submitting transaction ends, so the second
submitter waits and then counts the first request as used. SQLite serialises writers already.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, Iterable

from flask import current_app
from sqlalchemy import and_, func, or_, select

from .. import business_time
from ..definitions import store
from ..definitions.models import DefinitionVersion
from ..extensions import db
from ..org.models import Department
from ..records.models import Record
from .models import BudgetLine

#: Record statuses whose amounts count against a budget: every request asked for and not ended otherwise.
CONSUMING_STATUSES = ("submitted", "in_review", "approved")
PERIOD = re.compile(r"^(\d{4})-Q([1-4])$")
MAX_AMOUNT = Decimal("9999999999999999.99")  # Numeric(18, 2)
_CONSUMERS_KEY = "formwork.budgets.consumers"


class BudgetError(ValueError):
    """A budget line that cannot be stored (unknown department, bad period or amount); ``message`` is safe."""

    def __init__(self, message: str):
        self.message = message
        super().__init__(message)


@dataclass(frozen=True)
class BudgetStatus:
    """One department/category/period: the budget (None when there is no line), used and remaining."""

    department_id: int
    category: str
    period: str
    amount: Decimal | None
    used: Decimal
    currency: str = "CNY"

    @property
    def remaining(self) -> Decimal | None:
        return None if self.amount is None else self.amount - self.used

    def as_fact(self) -> dict[str, Decimal | None]:
        """The ``$budget`` value route conditions read."""
        return {"amount": self.amount, "used": self.used, "remaining": self.remaining}


@dataclass(frozen=True)
class Consumer:
    """A form whose records use budget, and which of its fields say how much, of what, when and where."""

    form_key: str
    amount: str
    category: str
    date: str | None = None
    department: str | None = None


def period_of(day: date) -> str:
    """``date(2026, 11, 22)`` → ``"2026-Q4"``."""
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


def check_period(period: str) -> str:
    if not isinstance(period, str) or not PERIOD.match(period):
        raise BudgetError(f"period {period!r} must be a calendar quarter such as 2026-Q4")
    return period


def _department(department: Department | int | str | None) -> Department:
    if isinstance(department, Department):
        return department
    if isinstance(department, int):
        found = db.session.get(Department, department)
    else:
        found = db.session.scalar(select(Department).where(Department.code == department))
    if found is None:
        raise BudgetError(f"unknown department {department!r}")
    return found


def _amount(value: Any) -> Decimal:
    try:
        amount = Decimal(str(value)) if not isinstance(value, Decimal) else value
    except InvalidOperation:
        raise BudgetError(f"amount {value!r} is not a number") from None
    if not amount.is_finite() or amount < 0 or amount > MAX_AMOUNT:
        raise BudgetError(f"amount {value!r} must be between 0 and {MAX_AMOUNT}")
    if amount != amount.quantize(Decimal("0.01")):
        raise BudgetError(f"amount {value!r} has more than two decimal places")
    return amount.quantize(Decimal("0.01"))


def set_budget(
    department: Department | int | str | None, category: Any, period: str, amount: Any, currency: str = "CNY"
) -> BudgetLine:
    """Create or change the budget line of ``department`` (object, id or code); flushes, does not commit."""
    dept = _department(department)
    if not isinstance(category, str) or not category.strip() or len(category) > 100:
        raise BudgetError("category must be a non-empty text of at most 100 characters")
    check_period(period)
    value = _amount(amount)
    line = db.session.scalar(
        select(BudgetLine).where(
            BudgetLine.department_id == dept.id, BudgetLine.category == category, BudgetLine.period == period
        )
    )
    if line is None:
        line = BudgetLine(department_id=dept.id, category=category, period=period)
        db.session.add(line)
    line.amount = value
    line.currency = currency
    db.session.flush()
    return line


def budget_lines(period: str | None = None) -> list[BudgetLine]:
    query = select(BudgetLine).order_by(BudgetLine.period, BudgetLine.department_id, BudgetLine.category)
    if period is not None:
        query = query.where(BudgetLine.period == check_period(period))
    return list(db.session.scalars(query))


def consumers() -> list[Consumer]:
    """Forms whose current route reads ``$budget``, with the field mapping the route declares.

    Remembered per application until a route is published: versions only ever get added, so
    the newest route version id tells whether the answer can have changed (one cheap query).
    """

    newest = db.session.scalar(
        select(func.max(DefinitionVersion.id)).where(DefinitionVersion.kind == "route")
    )
    remembered = current_app.extensions.get(_CONSUMERS_KEY)
    if remembered is not None and remembered[0] == newest:
        return list(remembered[1])
    found = []
    for route in store.list_current("route"):
        consumer = consumer_of_route(route.content)
        if consumer is not None:
            found.append(consumer)
    current_app.extensions[_CONSUMERS_KEY] = (newest, tuple(found))
    return found


def consumer_of_route(content: Any) -> Consumer | None:
    """The budget mapping a route's content declares (``facts: {budget: ...}``), or None."""
    content = content if isinstance(content, dict) else {}
    settings = (content.get("facts") or {}).get("budget")
    if not isinstance(settings, dict) or not settings.get("amount") or not settings.get("category"):
        return None
    return Consumer(
        content.get("form", ""),
        settings["amount"],
        settings["category"],
        settings.get("date"),
        settings.get("department"),
    )


def consumer_of_form(form_key: str) -> Consumer | None:
    """How the current route of ``form_key`` maps the form to a budget, or None (no budget check)."""
    return next((c for c in consumers() if c.form_key == form_key), None)


def period_bounds(period: str) -> tuple[date, date]:
    """First day of the quarter and first day of the next one."""
    match = PERIOD.match(period)
    if match is None:
        raise BudgetError(f"period {period!r} must be a calendar quarter such as 2026-Q4")
    year, quarter = int(match.group(1)), int(match.group(2))
    start = date(year, 3 * quarter - 2, 1)
    end = date(year + 1, 1, 1) if quarter == 4 else date(year, 3 * quarter + 1, 1)
    return start, end


def used_amount(
    department_id: int,
    category: str,
    period: str,
    *,
    exclude_record_id: int | None = None,
    only: Iterable[Consumer] | None = None,
) -> Decimal:
    """What records in review or approved have taken of this budget (excluding one, e.g. the one asking).

    The database selects the rows and returns only the amounts (exact decimal text), summed here
    as ``Decimal`` so no amount ever passes through binary floating point.
    """

    start, end = period_bounds(period)
    # A quarter starts and ends at business midnight: a claim made at 07:30 on 1 April in Beijing is Q2.
    moment = (business_time.day_start(start), business_time.day_start(end))
    submitted = func.coalesce(Record.submitted_at, Record.created_at)
    in_period_by_submission = and_(submitted >= moment[0], submitted < moment[1])
    total = Decimal("0")
    for consumer in only if only is not None else consumers():
        query = select(Record.data[consumer.amount].as_string()).where(
            Record.form_key == consumer.form_key,
            Record.status.in_(CONSUMING_STATUSES),
            Record.data[consumer.category].as_string() == category,
        )
        if exclude_record_id is not None:
            query = query.where(Record.id != exclude_record_id)
        if consumer.department:
            query = query.where(Record.data[consumer.department].as_integer() == department_id)
        else:  # the department is the record's own
            query = query.where(Record.department_id == department_id)
        if consumer.date:
            # ISO dates compare correctly as text; a record without the date counts by when it was submitted.
            day = Record.data[consumer.date].as_string()
            query = query.where(
                or_(
                    and_(day >= start.isoformat(), day < end.isoformat()),
                    and_(day.is_(None), in_period_by_submission),
                )
            )
        else:
            query = query.where(in_period_by_submission)
        for amount in db.session.scalars(query):
            try:
                total += Decimal(str(amount or "0"))
            except InvalidOperation:
                continue  # validated on submit; an unreadable stored value counts as nothing
    return total


def budget_status(
    department: Department | int | str,
    category: str,
    period: str,
    *,
    exclude_record_id: int | None = None,
    only: Iterable[Consumer] | None = None,
    lock: bool = False,
) -> BudgetStatus:
    """Budget, used and remaining for one department, category and quarter.

    ``lock=True`` (a check that decides whether a request fits) locks the budget line until the
    transaction ends, before "used" is read, so concurrent checks of one line take turns.
    """
    dept = _department(department)
    check_period(period)
    query = select(BudgetLine).where(
        BudgetLine.department_id == dept.id, BudgetLine.category == category, BudgetLine.period == period
    )
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    line = db.session.scalar(query)
    used = used_amount(dept.id, category, period, exclude_record_id=exclude_record_id, only=only)
    amount = Decimal(line.amount).quantize(Decimal("0.01")) if line is not None else None
    return BudgetStatus(dept.id, category, period, amount, used, line.currency if line is not None else "CNY")
