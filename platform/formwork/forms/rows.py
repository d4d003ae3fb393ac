"""Adding and removing line-item rows on the form page, within the table's min and max rows."""

from __future__ import annotations

from flask_babel import gettext as _

from ..input_limits import whole_number
from .editor import MAX_ROW_INDEX, Editor, new_row


def apply_row_operation(editor: Editor, operation: str) -> tuple[str, str, int | None] | None:
    """``add:lines`` or ``remove:lines:<dom index>``; min/max rows are respected with a message.

    Returns (kind, lines key, DOM index) of what was done, or None when nothing changed.
    """
    parts = operation.split(":")
    lines = editor.form.field(parts[1]) if len(parts) >= 2 else None
    if lines is None or not lines.is_lines or lines.parent is not None or not editor.writable(lines.key):
        return None
    rows = list(editor.values.get(lines.key) or [])
    ids = list(editor.row_ids.get(lines.key) or [])
    low = lines.settings.get("min_rows") or 0
    high = lines.settings.get("max_rows")
    if parts[0] == "add":
        if high is not None and len(rows) >= high:
            editor.messages[lines.key] = _("At most %(n)s rows.", n=high)
            return None
        dom = (max(ids) + 1) if ids else 0
        rows.append(new_row(lines))
        ids.append(dom)
        editor.messages[lines.key] = _("Row %(n)s added.", n=len(rows))
        result = ("add", lines.key, dom)
    elif parts[0] == "remove" and len(parts) == 3 and whole_number(parts[2], 0, MAX_ROW_INDEX) is not None:
        dom = int(parts[2])
        if dom not in ids:
            return None
        if len(rows) <= low:
            editor.messages[lines.key] = _("At least %(n)s rows are needed.", n=low)
            return None
        position = ids.index(dom)
        del rows[position]
        del ids[position]
        editor.messages[lines.key] = _("Row %(n)s removed.", n=position + 1)
        result = ("remove", lines.key, dom)
    else:
        return None
    editor.values[lines.key] = rows
    editor.row_ids[lines.key] = ids
    return result
