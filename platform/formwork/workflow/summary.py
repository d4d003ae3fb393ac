"""What an approver needs first about a request: its amount, who asked and from which department,
and its alerts. Shared by the inbox rows and the task page's summary header.

The amount is the form's own: its first top-level money field, a computed one (a total) before an
entered one, read from the stored values (computed values are stored with the record).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select

from ..definitions import store
from ..expressions import T
from ..extensions import db
from ..i18n import current_locale_tag
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
            forms[definition_id] = store.form_or_unavailable(store.get(definition_id))[0]
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
            routes[row.route_id] = compiled_route(store.get(row.route_id))
        row.batchable = row.status == "open" and batchable(
            row.kind, routes[row.route_id].steps.get(row.step_key)
        )
