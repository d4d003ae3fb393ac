"""``$budget``: the budget fact route conditions read, registered like a plugin's fact."""

from __future__ import annotations

from datetime import date
from typing import Any, Mapping

from ..expressions import T
from ..plugins.facts import FactProvider, FactRequest
from .service import Consumer, budget_status, consumers, period_of

BUDGET_TYPE = T.RecordOf({"amount": T.MONEY, "used": T.MONEY, "remaining": T.MONEY})


def _field_kind(form: Any, name: str) -> str | None:
    model = form.field(name) if form is not None else None
    if model is None or model.parent is not None:
        return None
    return model.value_type.describe() if model.value_type is not None else None


def _check_budget(settings: Mapping[str, str], form: Any) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    wanted = {"amount": ("money",), "category": ("text",), "date": ("date",), "department": ("department",)}
    for name in settings:
        if name not in wanted:
            problems.append((f'unknown budget setting "{name}"; allowed: {", ".join(wanted)}', name))
    for name in ("amount", "category"):
        if not settings.get(name):
            problems.append((f'the budget needs "{name}": the form field holding the {name}', name))
    for name, kinds in wanted.items():
        value = settings.get(name)
        if not value:
            continue
        kind = _field_kind(form, value)
        if kind is None:
            problems.append((f'field "{value}" does not exist in form {getattr(form, "key", "?")}', name))
        elif kind not in kinds:
            problems.append(
                (f'field "{value}" is {kind}; the budget {name} must be a {" or ".join(kinds)} field', name)
            )
    return problems


def _budget(request: FactRequest) -> dict[str, Any] | None:
    settings = request.settings
    category = request.values.get(settings["category"])
    if settings.get("department"):
        department = request.values.get(settings["department"])
    else:
        department = getattr(request.record, "department_id", None)
    if category is None or department is None:
        return {"amount": None, "used": None, "remaining": None}
    day = request.values.get(settings["date"]) if settings.get("date") else None
    period = period_of(day if isinstance(day, date) else request.today)
    form_key = getattr(request.form, "key", None) or getattr(request.record, "form_key", None) or ""
    consumer = Consumer(
        form_key, settings["amount"], settings["category"], settings.get("date"), settings.get("department")
    )
    # Every form that uses budget counts; this form counts with this route's mapping even before it is
    # current.
    others = [c for c in consumers() if c.form_key != form_key]
    # Locked: a concurrent submission against the same line waits, then counts this one as used.
    status = budget_status(
        int(department),
        str(category),
        period,
        exclude_record_id=getattr(request.record, "id", None),
        only=[consumer, *others],
        lock=True,
    )
    return status.as_fact()


BUDGET = FactProvider(
    "budget",
    BUDGET_TYPE,
    _budget,
    _check_budget,
    needs_settings=True,
    description=(
        "The budget of the record's department, category and quarter: amount, used and remaining (money)."
    ),
    key_settings=("department",),
)


def register(registry: Any) -> None:
    registry.add_fact_provider(BUDGET)
