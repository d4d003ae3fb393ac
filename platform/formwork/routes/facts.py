"""Facts: values route conditions read beyond the form, as ``$name`` (``$budget``, ``$duplicate_invoices``).

A fact is computed per evaluation from the database by a ``FactProvider``. Providers
live in the plugin registry (``registry.add_fact_provider``), so a plugin can add
``$credit_limit`` without touching the route compiler. A provider declares its type
(conditions are type-checked against it when the route is published), checks the
settings a route gives it (``facts: {budget: {category: ..., amount: ...}}``) against
the form, and computes its value for one record.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Mapping

from sqlalchemy import bindparam, select

from ..expressions import T
from ..extensions import db
from ..plugins.facts import FactProvider, FactRequest, SettingsCheck
from ..records import projections
from ..records.models import Record, RecordValue

__all__ = ["FactProvider", "FactRequest", "SettingsCheck", "compute_facts", "fact_types", "providers"]


def fact_types(registry: Any) -> dict[str, T.Type]:
    return {name: provider.type for name, provider in (getattr(registry, "facts", None) or {}).items()}


def providers(registry: Any) -> Mapping[str, FactProvider]:
    return getattr(registry, "facts", None) or {}


def compute_facts(
    names: frozenset[str] | set[str],
    registry: Any,
    *,
    record: Any,
    form: Any,
    values: Mapping[str, Any],
    settings: Mapping[str, Mapping[str, str]],
    today: date,
) -> dict[str, Any]:
    """``{name: value}`` for each fact the route reads."""
    table = providers(registry)
    result: dict[str, Any] = {}
    for name in sorted(names):
        provider = table.get(name)
        if provider is None:
            raise LookupError(f"no fact provider ${name} is registered (was its plugin removed?)")
        merged = {**provider.defaults, **(settings.get(name) or {})}
        result[name] = provider.compute(FactRequest(record, form, values, merged, today))
    return result


# --- $duplicate_invoices -----------------------------------------------------------------------

DUPLICATE_STATUSES_IGNORED = ("draft", "withdrawn")


def _check_invoices(settings: Mapping[str, str], form: Any) -> list[tuple[str, str]]:
    problems = []
    for name in settings:
        if name != "field":
            problems.append((f'unknown setting "{name}"; allowed: field', name))
    path = settings.get("field", "")
    model = form.field(path) if form is not None else None
    if model is None or model.parent is None or model.value_type != T.TEXT:
        problems.append((f'"{path}" must be a text field inside line items, e.g. lines.invoice_no', "field"))
    return problems


def _invoice_numbers(data: Mapping[str, Any], path: str) -> set[str]:
    """The record's invoice numbers as stored (the projection compares exact values)."""
    return projections.values_at(data, path)


# Two statements, each an index lookup whatever the planner's statistics say (one statement joining
# the two tables may be planned as a scan of the records when ``record_values`` was never analysed):
# the records of the form holding one of the numbers at the path, by the B-tree on ``record_values``
# (text_value, path, form_key); then, only when there are any, those records' status and title by
# primary key. The cost depends on how many records share a number, not on how many exist.
_HOLDERS = select(RecordValue.record_id, RecordValue.text_value).where(
    RecordValue.form_key == bindparam("form_key"),
    RecordValue.path == bindparam("path"),
    RecordValue.text_value.in_(bindparam("numbers", expanding=True)),
    RecordValue.record_id != bindparam("record_id"),
)
_LIVE = select(Record.id, Record.title).where(
    Record.id.in_(bindparam("ids", expanding=True)), Record.status.not_in(DUPLICATE_STATUSES_IGNORED)
)


def _other_claims(
    record_id: int | None, form_key: str, mine: set[str], path: str
) -> list[tuple[int, Any, str]]:
    """(id, title, number) of the other records of the form holding one of ``mine`` at ``path``."""
    params = {
        "form_key": form_key,
        "path": path,
        "numbers": sorted(mine),
        "record_id": record_id or 0,  # an unsaved record: ids start at 1
    }
    holders = db.session.execute(_HOLDERS, params).all()
    if not holders:
        return []
    ids = sorted({row[0] for row in holders})
    live = {row[0]: row[1] for row in db.session.execute(_LIVE, {"ids": ids})}
    return [(other, live[other], number) for other, number in holders if other in live]


def _duplicate_invoices(request: FactRequest) -> int:
    path = request.settings["field"]
    mine = _invoice_numbers(request.values, path)
    if not mine:
        return 0
    form_key = getattr(request.record, "form_key", getattr(request.form, "key", ""))
    seen = {
        number
        for _id, _title, number in _other_claims(getattr(request.record, "id", None), form_key, mine, path)
    }
    return len(seen & mine)


def duplicate_invoice_claims(record: Any, path: str | None = None) -> dict[str, list[tuple[int, str | None]]]:
    """For each of ``record``'s invoice numbers found on other records of its form (not drafts, not
    withdrawn): those records as (id, title), oldest first. What the duplicate-invoice alert shows."""
    path = path or DUPLICATE_INVOICES.defaults["field"]
    mine = _invoice_numbers(record.data or {}, path)
    if not mine:
        return {}
    found: dict[str, set[tuple[int, str | None]]] = {}
    for other_id, title, number in _other_claims(record.id, record.form_key, mine, path):
        if number in mine:
            found.setdefault(number, set()).add((other_id, title))
    return {number: sorted(claims) for number, claims in sorted(found.items())}


DUPLICATE_INVOICES = FactProvider(
    "duplicate_invoices",
    T.INTEGER,
    _duplicate_invoices,
    _check_invoices,
    defaults={"field": "lines.invoice_no"},
    searched_settings=("field",),
    description="How many of this record's invoice numbers appear on other records of the form (not drafts, "
    "not withdrawn).",
)


def register_builtins(registry: Any) -> None:
    registry.add_fact_provider(DUPLICATE_INVOICES)
