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

from sqlalchemy import bindparam, cast, or_, select
from sqlalchemy.dialects.postgresql import JSONB

from ..expressions import T
from ..extensions import db
from ..plugins.facts import FactProvider, FactRequest, SettingsCheck
from ..records.models import Record

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


def _split(path: str) -> tuple[str, str]:
    lines, _, sub = path.replace("[*]", "").partition(".")
    return lines, sub


def _invoice_numbers(data: Mapping[str, Any], path: str) -> set[str]:
    lines, sub = _split(path)
    found = set()
    for row in data.get(lines) or ():
        value = row.get(sub) if isinstance(row, Mapping) else None
        if isinstance(value, str) and value.strip():
            found.add(value)  # as stored: the database filter compares exact values
    return found


def _duplicates_statement(dialect: str, path: str, count: int) -> Any:
    """The query for other records of a form that may hold one of ``count`` invoice numbers.

    Built once per (database, field path, count) and kept: the fact runs on many transitions, and
    building the statement costs more than running it. PostgreSQL answers exactly with JSONB
    containment (``data @> {"lines": [{"invoice_no": ...}]}``, served by the ``ix_records_data``
    GIN index); elsewhere the record's search text, which holds every text value of its lines,
    narrows the rows first. Either way the numbers are checked exactly afterwards.
    """
    key = (dialect, path, count)
    statement = _DUPLICATES.get(key)
    if statement is not None:
        return statement

    if dialect == "postgresql":
        may_hold = [cast(Record.data, JSONB).contains(bindparam(f"n{i}", type_=JSONB)) for i in range(count)]
    else:
        may_hold = [Record.search_text.like(bindparam(f"n{i}"), escape="/") for i in range(count)]
    statement = select(Record.id, Record.title, Record.data).where(
        Record.form_key == bindparam("form_key"),
        Record.status.not_in(DUPLICATE_STATUSES_IGNORED),
        Record.id != bindparam("record_id"),
        or_(*may_hold),
    )
    if len(_DUPLICATES) < 256:  # a handful of shapes in practice; never grows without bound
        _DUPLICATES[key] = statement
    return statement


_DUPLICATES: dict[tuple[str, str, int], Any] = {}


def _like_anywhere(text: str) -> str:
    return "%" + text.replace("/", "//").replace("%", "/%").replace("_", "/_") + "%"


def _other_claims(record_id: int | None, form_key: str, mine: set[str], path: str) -> Any:
    """Rows (id, title, data) of the other records of the form that may hold one of ``mine``."""

    dialect = db.session.get_bind().dialect.name
    lines, sub = _split(path)
    numbers = sorted(mine)
    params: dict[str, Any] = {
        "form_key": form_key,
        "record_id": record_id or 0,  # an unsaved record: ids start at 1
    }
    for i, number in enumerate(numbers):
        params[f"n{i}"] = {lines: [{sub: number}]} if dialect == "postgresql" else _like_anywhere(number)
    return db.session.execute(_duplicates_statement(dialect, path, len(numbers)), params)


def _duplicate_invoices(request: FactRequest) -> int:
    path = request.settings["field"]
    mine = _invoice_numbers(request.values, path)
    if not mine:
        return 0
    form_key = getattr(request.record, "form_key", getattr(request.form, "key", ""))
    seen: set[str] = set()
    for _id, _title, data in _other_claims(getattr(request.record, "id", None), form_key, mine, path):
        if isinstance(data, dict):
            seen |= _invoice_numbers(data, path) & mine
            if seen == mine:
                break
    return len(seen)


def duplicate_invoice_claims(record: Any, path: str | None = None) -> dict[str, list[tuple[int, str | None]]]:
    """For each of ``record``'s invoice numbers found on other records of its form (not drafts, not
    withdrawn): those records as (id, title), oldest first. What the duplicate-invoice alert shows."""
    path = path or DUPLICATE_INVOICES.defaults["field"]
    mine = _invoice_numbers(record.data or {}, path)
    if not mine:
        return {}
    found: dict[str, list[tuple[int, str | None]]] = {}
    for other_id, title, data in _other_claims(record.id, record.form_key, mine, path):
        if isinstance(data, dict):
            for number in sorted(_invoice_numbers(data, path) & mine):
                found.setdefault(number, []).append((other_id, title))
    return {number: sorted(claims) for number, claims in sorted(found.items())}


DUPLICATE_INVOICES = FactProvider(
    "duplicate_invoices",
    T.INTEGER,
    _duplicate_invoices,
    _check_invoices,
    defaults={"field": "lines.invoice_no"},
    description="How many of this record's invoice numbers appear on other records of the form (not drafts, "
    "not withdrawn).",
)


def register_builtins(registry: Any) -> None:
    registry.add_fact_provider(DUPLICATE_INVOICES)
