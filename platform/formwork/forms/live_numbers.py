"""Numbers typed that will not validate (``100.999``, ``¥100``, ``1e3``), found as they are typed.

A half-typed number counts as empty in the live evaluation, so a total would silently leave it
out; instead the input is marked at once and every computed value it feeds says it is incomplete.
"""

from __future__ import annotations

from typing import Any

from .editor import ROW_KEY, Editor
from .field_types import FieldValueError
from .model import FieldModel, schema_path

NUMBER_WIDGETS = ("money", "decimal", "integer")


def _unreadable(field: FieldModel, raw: Any) -> str:
    """Why ``raw`` typed into ``field`` will not validate ("" when it reads, or is empty)."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return ""
    try:
        field.type.coerce(raw, field)
    except FieldValueError as exc:
        return str(exc.message)
    return ""


def _reads(expression: Any, lines: FieldModel | None) -> set[str]:
    """Schema paths an expression reads; a row's bare names are prefixed with their table."""
    paths = set()
    for ref in getattr(expression, "references", ()) or ():
        path = schema_path(ref)
        if lines is not None and path.split(".", 1)[0] in lines.row_index:
            path = f"{lines.key}.{path}"
        paths.add(path)
    return paths


def _feeds(read: set[str], bad: set[str]) -> bool:
    return any(b == r or b.startswith(r + ".") for r in read for b in bad)


def check_live(editor: Editor) -> None:
    """Fill ``editor.live`` and ``editor.incomplete`` from the values the page holds.

    A half-typed number counts as empty in the live evaluation (``_lenient``), so a total would
    silently leave it out; instead the input is marked at once and the total says it is incomplete.
    """
    live: dict[str, str] = {}
    for field in editor.form.fields:
        if field.is_lines:
            for compact, dom, row in editor.rows(field):
                for sub in field.fields:
                    if sub.type.widget in NUMBER_WIDGETS and not sub.is_computed:
                        if editor.state is None or editor.state.is_visible(
                            f"{field.key}[{compact}].{sub.key}"
                        ):
                            live[f"{field.key}[{dom}].{sub.key}"] = _unreadable(sub, row.get(sub.key))
        elif field.type.widget in NUMBER_WIDGETS and not field.is_computed:
            if editor.state is None or editor.state.is_visible(field.key):
                live[field.key] = _unreadable(field, editor.values.get(field.key))
    editor.live = live
    bad = {path for path, message in live.items() if message}
    if not bad:
        editor.incomplete = set()
        return
    bad_schema = {schema_path(path) for path in bad}
    bad_rows = {(m["lines"], int(m["index"]), m["key"]) for m in map(ROW_KEY.match, bad) if m}
    incomplete: set[str] = set()
    for field in editor.form.computed_order:
        lines = field.parent
        read = _reads(field.expression, lines)
        if lines is None:
            if _feeds(read, bad_schema | {schema_path(p) for p in incomplete}):
                incomplete.add(field.key)
            continue
        for _compact, dom, _row in editor.rows(lines):
            row_bad = {
                f"{lines.key}.{key}"
                for (table, index, key) in bad_rows
                if table == lines.key and index == dom
            }
            row_incomplete = {
                f"{lines.key}.{p.rsplit('.', 1)[-1]}"
                for p in incomplete
                if p.startswith(f"{lines.key}[{dom}].")
            }
            if _feeds(read, row_bad | row_incomplete):
                incomplete.add(f"{lines.key}[{dom}].{field.key}")
    editor.incomplete = incomplete
