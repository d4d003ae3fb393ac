"""What a reader may see of a record, as printable text: the one place field rights plug in.

The voucher, the default template and every per-form print template get their values
only from ``readable_values``. A field is printed when the form's conditions show it for the
record's data and the reader's field rights (permission definitions: hidden / masked per
role, route step and state) do not hide it; a masked field prints its formatted text masked.
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
from ..permissions.field_rights import FieldRights
from ..permissions.masking import mask_value
from ..permissions.model import DEFAULT_MASK, Right
from ..records import access
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
    rights = access.rights_of(user, record)

    def value_at(path: str, stored: Any) -> Any:
        return stored if stored is not None else state.computed.get(path)

    fields: list[PrintedField] = []
    tables: list[PrintedLines] = []
    for field in form.fields:
        if not state.is_visible(field.key) or not may_read(rights, field.key):
            continue
        if field.is_lines:
            columns = [
                PrintedColumn(sub.key, localized(sub.label), _kind(sub), _kind(sub) in NUMERIC_KINDS)
                for sub in field.fields
                if sub.type.name != "attachment" and may_read(rights, sub.path)
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
                    cells.append(_shown(rights, sub.path, format_value(sub, value, names)))
                    row_values[column.key] = _shown(rights, sub.path, _json_ready(value))
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
                _shown(rights, field.key, format_value(field, value, names)),
                _shown(rights, field.key, _json_ready(value)),
                kind,
                kind in NUMERIC_KINDS,
            )
        )
    return ReadableValues(form, fields, tables, state)


def may_read(rights: FieldRights | None, path: str) -> bool:
    """Whether the reader may see the field at ``path`` (schema path, ``lines.amount``) at all
    (``rights`` None: no permission definition covers the form, every field is readable)."""
    return rights is None or rights.right(path) != Right.HIDDEN


def _shown(rights: FieldRights | None, path: str, value: Any) -> Any:
    """``value`` as printed for a reader whose right on ``path`` may be masked."""
    found = rights.get(path) if rights is not None else None
    if found is None or found.right != Right.MASKED:
        return value
    return mask_value(value, found.mask or DEFAULT_MASK)
