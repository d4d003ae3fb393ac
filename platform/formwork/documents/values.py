"""What a reader may see of a record, as printable text: the one place field rights plug in.

The voucher, the default template and every per-form print template get their values
only from ``readable_values``. Today a field is readable when the form's conditions
show it for the record's data; when field rights arrive (hidden / masked per role and
route step), they filter here and every printed document follows.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dc_field
from decimal import Decimal
from typing import Any

from ..formatting import format_money, format_value, value_kind
from ..forms import catalogue
from ..forms.state import context_for, evaluate_state
from ..forms.validation import runtime_values
from ..i18n import localized
from ..records.models import Record
from ..records.queries import referenced_names

NUMERIC_KINDS = ("money", "decimal", "integer")


@dataclass
class PrintedField:
    """One top-level field: its label, its value as text, and the value itself (JSON-ready)."""

    key: str
    label: str
    text: str
    value: Any
    kind: str
    numeric: bool


@dataclass
class PrintedColumn:
    key: str
    label: str
    kind: str
    numeric: bool


@dataclass
class PrintedLines:
    """A line-item field as a table: columns, rows of cell texts, and totals of its money columns."""

    key: str
    label: str
    columns: list[PrintedColumn]
    rows: list[list[str]]
    values: list[dict[str, Any]]
    totals: dict[str, str] = dc_field(default_factory=dict)


@dataclass
class ReadableValues:
    form: Any  # FormModel
    fields: list[PrintedField]
    lines: list[PrintedLines]
    state: Any  # FormState (runtime values, computed values)


def _json_ready(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [_json_ready(v) for v in value]
    if isinstance(value, dict):
        return {k: _json_ready(v) for k, v in value.items()}
    return value


def _kind(field: Any) -> str:
    return value_kind(field)[0]


def _currency(field: Any) -> str:
    return str(value_kind(field)[1].get("currency") or "CNY")


def readable_values(record: Record, user: Any) -> ReadableValues:
    """The fields of ``record`` that ``user`` may read, formatted for print in the current language."""
    form = catalogue.compiled_form(record.definition)
    data = record.data or {}
    # Conditions are evaluated as the submitter saw them: the record's own state, not the reader's.
    state = evaluate_state(form, runtime_values(form, data), context=context_for(record.owner))
    names = referenced_names(form, data)

    def value_at(path: str, stored: Any) -> Any:
        return stored if stored is not None else state.computed.get(path)

    fields: list[PrintedField] = []
    tables: list[PrintedLines] = []
    for field in form.fields:
        if not state.is_visible(field.key) or not may_read(user, record, field.key):
            continue
        if field.is_lines:
            columns = [
                PrintedColumn(sub.key, localized(sub.label), _kind(sub), _kind(sub) in NUMERIC_KINDS)
                for sub in field.fields
                if sub.type.name != "attachment" and may_read(user, record, sub.path)
            ]
            subs = {sub.key: sub for sub in field.fields}
            # Only amounts add up: when a row computes its amount (quantity × unit price), the
            # computed money columns are summed and the entered prices are not.
            summed = [c.key for c in columns if c.kind == "money" and subs[c.key].is_computed] or [
                c.key for c in columns if c.kind == "money"
            ]
            rows: list[list[str]] = []
            values: list[dict[str, Any]] = []
            sums: dict[str, Decimal] = {}
            for index, row in enumerate(data.get(field.key) or []):
                cells: list[str] = []
                row_values: dict[str, Any] = {}
                for column in columns:
                    sub = subs[column.key]
                    path = f"{field.key}[{index}].{column.key}"
                    if not state.is_visible(path):
                        cells.append("")
                        row_values[column.key] = None
                        continue
                    value = value_at(path, row.get(column.key))
                    cells.append(format_value(sub, value, names))
                    row_values[column.key] = _json_ready(value)
                    if column.key in summed and value not in (None, ""):
                        sums[column.key] = sums.get(column.key, Decimal(0)) + Decimal(str(value))
                rows.append(cells)
                values.append(row_values)
            totals = {key: format_money(amount, _currency(subs[key])) for key, amount in sums.items() if rows}
            tables.append(PrintedLines(field.key, localized(field.label), columns, rows, values, totals))
            continue
        if field.type.name == "attachment":
            continue  # files are not printed; the voucher lists what is on paper
        value = value_at(field.key, data.get(field.key))
        kind = _kind(field)
        fields.append(
            PrintedField(
                field.key,
                localized(field.label),
                format_value(field, value, names),
                _json_ready(value),
                kind,
                kind in NUMERIC_KINDS,
            )
        )
    return ReadableValues(form, fields, tables, state)


def may_read(user: Any, record: Record, path: str) -> bool:
    """Whether ``user`` may read the field at ``path`` (schema path, ``lines.amount``) of ``record``.

    Everyone who can see the record may read its visible fields until field rights exist.
    """
    return True
