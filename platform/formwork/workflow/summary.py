"""What an approver needs first about a request: its amount, who asked and from which department,
and its alerts. Shared by the inbox rows and the task page's summary header.

The amount is the form's own: its first top-level money field, a computed one (a total) before an
entered one, read from the stored values (computed values are stored with the record).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select

from .. import business_time
from ..budgets.preview import BudgetPanel, budget_panel, budget_preview
from ..budgets.service import consumer_of_route
from ..definitions import store
from ..expressions import T
from ..extensions import db
from ..forms import catalogue
from ..i18n import current_locale_tag, localized
from ..org.models import Department
from ..records.models import Record
from ..routes.store import compiled_route
from .alerts import AlertView, alerts_for
from .batch import batchable

DEFAULT_CURRENCY = "CNY"


@dataclass
class Summary:
    amount: Decimal | None = None
    currency: str = DEFAULT_CURRENCY
    amount_label: str = ""
    department: str | None = None
    alerts: list[AlertView] = field(default_factory=list)


def amount_field(form: Any) -> Any:
    """The field that says how much a request is for, or None (a form without money)."""
    money = [f for f in form.fields if f.parent is None and f.value_type == T.MONEY]
    computed = [f for f in money if f.is_computed]
    return (computed or money or [None])[0]


def amount_of(form: Any, data: dict[str, Any]) -> tuple[Decimal | None, str, str]:
    """The request's amount, its currency and the field's label (None when the form has no money)."""
    found = amount_field(form)
    if found is None:
        return None, DEFAULT_CURRENCY, ""
    currency = found.settings.get("currency") or found.spec.get("currency") or DEFAULT_CURRENCY
    label = found.label_for(current_locale_tag())
    try:
        value = data.get(found.key)
        return (Decimal(str(value)) if value not in (None, "") else None), currency, label
    except (InvalidOperation, ValueError):
        return None, currency, label


def summaries(record_ids: list[int]) -> dict[int, Summary]:
    """A summary per request: one query for the records and their departments, one for alerts."""
    if not record_ids:
        return {}
    tag = current_locale_tag()
    rows = db.session.execute(
        select(Record.id, Record.definition_id, Record.data, Department)
        .outerjoin(Department, Department.id == Record.department_id)
        .where(Record.id.in_(record_ids))
    ).all()
    alerts = alerts_for(list(record_ids))
    forms: dict[int, Any] = {}
    result: dict[int, Summary] = {}
    for record_id, definition_id, data, department in rows:
        if definition_id not in forms:  # a form a missing plugin makes unavailable has no amount here
            forms[definition_id] = catalogue.form_or_unavailable(store.get_one(definition_id))[0]
        form = forms[definition_id]
        amount, currency, label = amount_of(form, data or {}) if form else (None, DEFAULT_CURRENCY, "")
        result[record_id] = Summary(
            amount=amount,
            currency=currency,
            amount_label=label,
            department=department.name(tag) if department is not None else None,
            alerts=alerts.get(record_id, []),
        )
    return result


def add_summaries(rows: list[Any]) -> None:
    """Set ``summary`` on each inbox row, and ``batchable``: whether it may be approved with others."""
    found = summaries([row.record_id for row in rows])
    routes: dict[int, Any] = {}
    for row in rows:
        row.summary = found.get(row.record_id, Summary())
        if row.route_id not in routes:
            routes[row.route_id] = compiled_route(store.get_one(row.route_id))
        row.batchable = row.status == "open" and batchable(
            row.kind, routes[row.route_id].steps.get(row.step_key)
        )


def budget_of(record: Record, route_id: int) -> BudgetPanel | None:
    """The budget the request's route checked it against, with this request left out of "used".

    None when the route checks no budget. The quarter is the one the route's check read: the mapped
    date's, else the business day the request was submitted.
    """
    consumer = consumer_of_route(store.get_one(route_id).content)
    if consumer is None:
        return None
    data = record.data or {}
    form = catalogue.form_or_unavailable(store.get_one(record.definition_id))[0]
    day = _stored_date(data.get(consumer.date)) if consumer.date else None
    if day is None:
        day = business_time.local_date(record.submitted_at or record.created_at) or business_time.today()
    department = data.get(consumer.department) if consumer.department else record.department_id
    preview = budget_preview(
        consumer,
        department_id=department,
        category=data.get(consumer.category),
        amount=data.get(consumer.amount),
        day=day,
        exclude_record_id=record.id,
    )
    category_field = form.field(consumer.category) if form is not None else None
    options = category_field.settings.get("options", {}) if category_field is not None else {}
    labels = {value: localized(label) for value, label in options.items()}
    return budget_panel(preview, labels, current_locale_tag())


def _stored_date(value: Any) -> date | None:
    try:
        return date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None
