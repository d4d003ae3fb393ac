"""The fields a person may not write, on the form page: shown and evaluated with their stored values.

A field the person's field rights (``Editor.rights``) make hidden, masked or read-only has no input
on the page, so a browser never posts it; a forged post may. Whatever was sent, the page is shown
again and evaluated with the stored values of those fields — never echoing a forged value — while
the posted data itself goes to the save unchanged, which refuses it (``records.service``).
"""

from __future__ import annotations

from typing import Any

from .editor import Editor, initial_values, new_row
from .validation import ROW_MARKER


def keep_stored_values(editor: Editor, stored: dict[str, Any] | None) -> None:
    """Show, and evaluate with, the stored values of the fields the person may not write — never a
    value a page sent for them (the save refuses such a post; the page must not echo it)."""
    if editor.rights is None:
        return
    base = initial_values(editor.form, stored)
    for field in editor.form.fields:
        if field.is_computed:
            continue
        if not editor.writable(field.key):
            if field.key in base:
                editor.values[field.key] = base[field.key]
            else:
                editor.values.pop(field.key, None)
            if field.is_lines:
                editor.row_ids[field.key] = list(range(len(editor.values.get(field.key) or [])))
            continue
        if not field.is_lines:
            continue
        locked = [sub for sub in field.fields if not sub.is_computed and not editor.writable(sub.path)]
        stored_rows = base.get(field.key) or []
        if not locked or not isinstance(editor.values.get(field.key), list):
            continue
        # New row dicts: the posted rows (``raw``) stay as sent, for the save to judge.
        rows = [dict(r) if isinstance(r, dict) else r for r in editor.values[field.key]]
        editor.values[field.key] = rows
        for row in rows:
            if not isinstance(row, dict):
                continue
            origin = row.get(ROW_MARKER)
            before = None
            if isinstance(origin, int) and 0 <= origin < len(stored_rows):
                before = stored_rows[origin]
            for sub in locked:
                kept = before.get(sub.key) if before is not None else new_row(field).get(sub.key)
                if kept is None:
                    row.pop(sub.key, None)
                else:
                    row[sub.key] = kept
