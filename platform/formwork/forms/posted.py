"""Reading a posted form page: raw field values and each line-item table's rows in page order."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from ..input_limits import whole_number
from .editor import MAX_ROW_INDEX
from .model import FieldModel, FormModel
from .validation import HARD_MAX_ROWS, ROW_MARKER


def _last(values: list[str]) -> str:
    return values[-1] if values else ""


def _field_input(field: FieldModel, posted: MultiDict, name: str) -> tuple[bool, Any]:
    """(present, raw value) of one field instance in the post; absent when not rendered as an input."""
    if name not in posted:
        return False, None
    widget = field.type.widget
    if widget in ("checkboxes", "file"):
        # A hidden empty input marks the field as rendered, so "nothing chosen" is an answer.
        return True, [v for v in posted.getlist(name) if v != ""]
    if widget == "checkbox":
        return True, _last(posted.getlist(name))  # hidden "false", then the box's "true" when ticked
    return True, posted.get(name, "")


def row_limit(lines: FieldModel) -> int:
    """The most rows of ``lines`` a posted page may carry: the form's ``max_rows``, at most the hard cap."""
    return min(lines.settings.get("max_rows") or HARD_MAX_ROWS, HARD_MAX_ROWS)


def read_post(
    form: FormModel, posted: MultiDict, errors: dict[str, list[str]] | None = None
) -> tuple[dict[str, Any], dict[str, list[int]]]:
    """Raw field values from a posted page, and each line-item table's DOM row indices in page order.

    Only inputs the page rendered are read: hidden, read-only and computed fields have
    none, so they are never "written" and the server keeps their values. A table that
    sends more rows than it allows is read no further than its limit, and the refusal
    is added to ``errors`` (page path → messages) so the caller can show it instead of
    saving a silently shortened table.
    """
    raw: dict[str, Any] = {}
    row_ids: dict[str, list[int]] = {}
    for field in form.fields:
        if field.is_computed:
            continue
        if field.is_lines:
            marker = f"_rows.{field.key}"
            if marker not in posted:
                continue
            ids: list[int] = []
            seen: set[int] = set()
            limit = row_limit(field)
            for value in posted.getlist(marker):
                dom = whole_number(value, 0, MAX_ROW_INDEX)
                if dom is None:
                    continue
                if dom in seen:
                    continue
                if len(ids) >= limit:
                    if errors is not None:
                        errors.setdefault(field.key, []).append(
                            _("At most %(n)s rows; the page sent more. Remove rows and try again.", n=limit)
                        )
                    break
                seen.add(dom)
                ids.append(dom)
            rows = []
            for dom in ids:
                row: dict[str, Any] = {}
                origin = posted.get(f"{field.key}[{dom}].{ROW_MARKER}")
                if origin is not None:
                    # Which stored row this one continues ("" for a row added on the page).
                    row[ROW_MARKER] = whole_number(origin, 0, MAX_ROW_INDEX)
                for sub in field.fields:
                    if sub.is_computed:
                        continue
                    present, value = _field_input(sub, posted, f"{field.key}[{dom}].{sub.key}")
                    if present:
                        row[sub.key] = value
                rows.append(row)
            raw[field.key] = rows
            row_ids[field.key] = ids
            continue
        present, value = _field_input(field, posted, field.key)
        if present:
            raw[field.key] = value
    return raw, row_ids
