"""Errors shown on the form page: per-field messages by page path, and the summary linking to each."""

from __future__ import annotations

import re
from typing import Any, Iterable

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..i18n import current_locale_tag, localized
from .editor import Editor, dom_id
from .model import FieldModel

CHOSEN_WIDGETS = ("select", "user", "department", "checkboxes", "checkbox", "date", "datetime")


def required_message(field: FieldModel) -> str:
    """A missing value said as what to do (请选择费用类别), instead of a generic "required"."""
    label = localized(field.label)
    if current_locale_tag().startswith("en") and label[:1].isupper() and not label[1:2].isupper():
        label = label[:1].lower() + label[1:]  # "Choose category.", but "Enter VAT number."
    widget = field.type.widget
    if widget in CHOSEN_WIDGETS:
        return _("Choose %(label)s.", label=label)
    if widget == "file":
        return _("Attach %(label)s.", label=label)
    return _("Enter %(label)s.", label=label)


def summarise(editor: Editor, errors: Iterable[dict[str, Any]]) -> None:
    """Per-field messages keyed by page path, and the error summary linking to each field."""
    required = str(_l("this field is required"))
    for error in errors:
        path = str(error.get("field") or "")
        message = str(error.get("message") or "")
        page_path = _page_path(path, editor.row_ids)
        field = editor.form.field(path) if path else None
        if field is not None and message == required and not field.is_lines:
            message = required_message(field)
        editor.errors.setdefault(page_path, []).append(message)
        label = localized(field.label) if field is not None else _("Form")
        row = re.search(r"\[([0-9]+)\]", path)
        if row and field is not None and field.parent is not None:
            label = _(
                "%(lines)s, row %(n)s: %(field)s",
                lines=localized(field.parent.label),
                n=int(row.group(1)) + 1,
                field=label,
            )
        # A field hidden from the person has nothing on the page to link to: the summary itself.
        shown = field is not None and editor.access(path) != "hidden"
        anchor = ("f-" + dom_id(page_path)) if shown else "form-errors"
        editor.summary.append({"anchor": anchor, "label": label, "message": message})


def _page_path(path: str, row_ids: dict[str, list[int]]) -> str:
    """Data path (compact row index) → page path (DOM row index)."""
    match = re.match(r"^([a-z][a-z0-9_]*)\[([0-9]+)\](.*)$", path)
    if not match:
        return path
    ids = row_ids.get(match.group(1))
    index = int(match.group(2))
    if ids and index < len(ids):
        return f"{match.group(1)}[{ids[index]}]{match.group(3)}"
    return path
