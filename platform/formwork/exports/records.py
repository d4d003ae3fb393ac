"""Exports of records: the records of one form a person may export, as CSV or an .xlsx workbook.

``plan(user, form_key, ...)`` checks the right and builds the statement; ``csv_chunks(plan)``
streams the CSV (UTF-8 with a BOM, so Excel reads Chinese), ``xlsx_bytes(plan)`` builds a
workbook of at most ``FORMWORK_EXPORT_XLSX_MAX_ROWS`` rows. The API and the pages both call them.

The same rules as every read path (docs/permissions.md, "Exports"):

* the ``export`` operation right of the permission definitions: the rows are the records some
  grant with ``export`` reaches (its scope, states, excluded departments and filter, in SQL),
  intersected with what the person may see; no grant with ``export`` → refused. A form no
  permission definition covers is exported by administrators only;
* each record's fields as the person may read them (``records.access.redact``, per record, as
  the API's record JSON): hidden fields empty, masked ones masked;
* a text cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is prefixed
  with ``'`` so no spreadsheet runs it as a formula;
* records are read in chunks by id (keyset), never all at once.

Columns: the record's id, voucher number, title, status, submitter, department and submission
time (business time zone), then the fields of the form's current version in form order, labelled
in the interface language. Money and numbers are exact decimals: text in the CSV, numbers with a
number format in the workbook (the stored decimal text written as the cell's value, never through a
float; a number of more than 15 significant digits, which a spreadsheet would round, is text).
Line items: by default a line-items field's column holds the number of its lines; with
``lines="rows"`` each record gives one row per line (the record's columns repeated on each), with
one column per line-item column.
"""

from __future__ import annotations

import csv
import io
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from itertools import islice
from typing import Any

from flask import Response, current_app, stream_with_context
from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from sqlalchemy import ColumnElement, Select, func, select

from .. import business_time
from ..audit import actions, trail
from ..definitions import store
from ..extensions import db, transaction
from ..formatting import status_label, value_kind
from ..forms import catalogue
from ..i18n import current_locale_tag, localized
from ..input_limits import row_id
from ..org.models import Department, User
from ..permissions.model import Right
from ..permissions.published import policies_for
from ..permissions.scopes import CustomFilterNotWired, bases, records_filter
from ..permissions.subject import OrgTree, Subject
from ..records import access
from ..records.models import STATUSES, Attachment, Record
from ..records.queries import text_matches

log = logging.getLogger(__name__)

FORMATS = ("csv", "xlsx")
LINES = ("count", "rows")
#: Records read per query while exporting.
CHUNK = 500
DEFAULT_XLSX_MAX_ROWS = 50_000
#: Text starting with one of these would be read as a formula by a spreadsheet.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
MONEY_FORMAT = "#,##0.00"
#: Spreadsheets hold numbers as doubles: 15 significant digits are kept exactly, more are not.
EXCEL_DIGITS = 15
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss"
MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


class ExportError(Exception):
    """A refused export: ``status`` (403, 404, 422, 503) and a message for people."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Column:
    label: str
    field: Any = None  # FieldModel of a form field; None for the record's own columns
    parent: Any = None  # the line-items field of a line column (lines="rows")
    kind: str = "text"


@dataclass
class ExportPlan:
    user: Any
    form_key: str
    form: Any  # FormModel of the current version
    statement: Select
    lines: str
    columns: list[Column] = field(default_factory=list)
    redacts: bool = True  # False: no rule hides or masks a field of the form for anyone

    @property
    def filename_stem(self) -> str:
        return f"{self.form_key}-{business_time.local_now():%Y%m%d-%H%M}"


def xlsx_max_rows() -> int:
    return int(current_app.config.get("FORMWORK_EXPORT_XLSX_MAX_ROWS") or DEFAULT_XLSX_MAX_ROWS)


def export_condition(user: Any, form_key: str) -> ColumnElement[bool] | None:
    """The condition for the records of ``form_key`` ``user`` may export (None: every record).

    ``ExportError(403)`` when no grant gives them ``export`` on the form."""
    if access.sees_everything(user):
        return None
    policies = policies_for(form_key)
    refused = ExportError(403, _("You may not export the records of this form."))
    if not policies:
        raise refused  # no permission definition: administrators only
    tree = OrgTree.load()
    subject = Subject.load(user, tree)
    if not bases(subject, policies, "export"):
        raise refused
    try:
        return records_filter(subject, policies, "export", tree=tree)
    except CustomFilterNotWired as exc:
        log.error("%s", exc)
        raise ExportError(503, _("Exports of this form are unavailable at the moment.")) from exc


def may_export(user: Any, form_key: str) -> bool:
    """Whether ``user`` holds the export right on ``form_key`` (for showing the button)."""
    try:
        export_condition(user, form_key)
    except ExportError:
        return False
    return True


def plan(
    user: Any,
    form_key: str | None,
    *,
    status: str | None = None,
    q: str | None = None,
    lines: str | None = None,
) -> ExportPlan:
    """What exporting ``form_key`` for ``user`` with the list's filters means; ``ExportError`` if refused."""
    form_key = (form_key or "").strip()
    if not form_key:
        raise ExportError(422, _("Choose a form to export."))
    version = store.current_version("form", form_key) if len(form_key) <= 100 else None
    if version is None:
        raise ExportError(404, _("There is no such form."))
    form_key = version.key  # the stored key (it names the file)
    if status and status not in STATUSES:
        raise ExportError(422, _("Unknown status: %(status)s", status=status))
    lines = lines or "count"
    if lines not in LINES:
        raise ExportError(422, _("Line items are exported as a count or as rows."))
    condition = export_condition(user, form_key)  # the right first: nothing else is said without it
    try:
        form = catalogue.compiled_form(version)
    except catalogue.FormUnavailable as exc:
        raise ExportError(503, exc.message()) from exc
    stmt = access.visible_records(user).where(Record.form_key == form_key)
    if condition is not None:
        stmt = stmt.where(condition)
    if status:
        stmt = stmt.where(Record.status == status)
    if q:
        stmt = stmt.where(text_matches(q.strip()[:200]))
    result = ExportPlan(
        user=user,
        form_key=form_key,
        form=form,
        statement=stmt,
        lines=lines,
        redacts=not access.sees_everything(user) and form_key in access.unsearchable_forms(),
    )
    result.columns = _columns(form, lines)
    return result


def _columns(form: Any, lines: str) -> list[Column]:
    tag = current_locale_tag()
    zone = business_time.offset_label()
    columns = [
        Column(_("ID"), kind="id"),
        Column(_("Number"), kind="number"),
        Column(_("Title"), kind="title"),
        Column(_("Status"), kind="status"),
        Column(_("Submitter"), kind="submitter"),
        Column(_("Department"), kind="department"),
        Column(_("Submitted at (%(zone)s)", zone=zone), kind="submitted_at"),
    ]
    for top in form.fields:
        label = top.label_for(tag)
        if top.is_lines and lines == "rows":
            columns.extend(
                Column(f"{label} / {sub.label_for(tag)}", field=sub, parent=top, kind=value_kind(sub)[0])
                for sub in top.fields
            )
        else:
            kind = "line_count" if top.is_lines else value_kind(top)[0]
            columns.append(Column(label, field=top, kind=kind))
    return columns


def count(export: ExportPlan) -> int:
    stmt = export.statement.order_by(None).with_only_columns(Record.id)
    return int(db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)


# ---- reading in chunks -------------------------------------------------------------------------


@dataclass
class _Chunk:
    records: list[Record]
    users: dict[int, str]
    departments: dict[int, str]
    files: dict[int, str]
    rights: dict[int, Any]


def _chunks(export: ExportPlan) -> Iterator[_Chunk]:
    """The records in id order, ``CHUNK`` at a time (keyset on id), with the names they refer to."""
    last = 0
    stmt = export.statement.order_by(Record.id).limit(CHUNK)
    while True:
        records = list(db.session.scalars(stmt.where(Record.id > last)))
        if not records:
            return
        last = records[-1].id
        yield _names(export, records)
        for record in records:  # keep the session small: nothing of this chunk is needed again
            db.session.expunge(record)


def _names(export: ExportPlan, records: list[Record]) -> _Chunk:
    user_ids = {r.owner_id for r in records}
    department_ids = {r.department_id for r in records if r.department_id is not None}
    for record in records:
        for sub in export.form.all_fields():
            widget = sub.type.widget
            if widget not in ("user", "department"):
                continue
            for value in _values_of(sub, record.data or {}):
                found = row_id(value)
                if found is not None:
                    (user_ids if widget == "user" else department_ids).add(found)
    tag = current_locale_tag()
    users = dict(db.session.execute(select(User.id, User.display_name).where(User.id.in_(user_ids))).all())
    departments = {
        d.id: d.name(tag)
        for d in db.session.scalars(select(Department).where(Department.id.in_(department_ids)))
    }
    files = dict(
        db.session.execute(
            select(Attachment.id, Attachment.filename).where(
                Attachment.record_id.in_([r.id for r in records])
            )
        ).all()
    )
    rights = access.rights_of_many(export.user, records) if export.redacts else {}
    return _Chunk(records, users, departments, files, rights)


def _values_of(sub: Any, data: dict[str, Any]) -> list[Any]:
    if sub.parent is None:
        return [data.get(sub.key)]
    rows = data.get(sub.parent.key)
    return [row.get(sub.key) for row in rows if isinstance(row, dict)] if isinstance(rows, list) else []


def rows(export: ExportPlan) -> Iterator[list[Any]]:
    """Every exported row as typed cell values (Decimal, int, date, datetime, text or None)."""
    for chunk in _chunks(export):
        for record in chunk.records:
            yield from _record_rows(export, record, chunk)


def _record_rows(export: ExportPlan, record: Record, chunk: _Chunk) -> Iterator[list[Any]]:
    rights = chunk.rights.get(record.id)
    data = rights.redact(record.data or {}) if rights is not None else dict(record.data or {})

    def masked(path: str) -> bool:
        return rights is not None and rights.right(path) == Right.MASKED

    common: dict[str, Any] = {
        "id": record.id,
        "number": _text(record.voucher_number),
        "title": _text(record.title),
        "status": status_label(record.status),
        "submitter": _text(chunk.users.get(record.owner_id)),
        "department": _text(chunk.departments.get(record.department_id or 0)),
        "submitted_at": _local(record.submitted_at),
    }
    head = [common[c.kind] for c in export.columns if c.field is None]
    line_fields = [c.parent for c in export.columns if c.parent is not None]
    most = max((len(data.get(f.key) or []) for f in line_fields), default=0)
    for index in range(max(most, 1)):
        row = list(head)
        for column in export.columns:
            if column.field is None:
                continue
            if column.parent is not None:
                lines = data.get(column.parent.key)
                line = lines[index] if isinstance(lines, list) and index < len(lines) else None
                value = line.get(column.field.key) if isinstance(line, dict) else None
                row.append(_cell(column, value, chunk, masked(column.field.path)))
            elif column.kind == "line_count":
                lines = data.get(column.field.key)
                row.append(len(lines) if isinstance(lines, list) else None)
            else:
                row.append(_cell(column, data.get(column.field.key), chunk, masked(column.field.path)))
        yield row


def _local(moment: datetime | None) -> datetime | None:
    value = business_time.local(moment)
    return value.replace(tzinfo=None, microsecond=0) if value is not None else None


def _text(value: Any) -> str | None:
    """Text for a cell, made inert where a spreadsheet would read it as a formula."""
    if value is None:
        return None
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def _cell(column: Column, value: Any, chunk: _Chunk, masked: bool) -> Any:
    """One field value as a typed cell (masked values stay the masked text)."""
    if value is None or value == "" or value == []:
        return None
    if masked:
        return _text(value)
    kind = column.kind
    settings = column.field.settings
    if kind in ("money", "decimal", "integer"):
        number = _decimal(value)
        if number is None:
            return _text(value)
        return int(number) if kind == "integer" and number == number.to_integral_value() else number
    if kind == "date":
        try:
            return value if isinstance(value, date) else date.fromisoformat(str(value))
        except ValueError:
            return _text(value)
    if kind == "datetime":
        try:
            moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
        except ValueError:
            return _text(value)
        return _local(moment) if moment.tzinfo is not None else moment.replace(microsecond=0)
    if kind == "checkbox":
        truthy = value is True or str(value).lower() in ("true", "1", "on", "yes")
        return _("Yes") if truthy else _("No")
    if kind == "select":
        return _text(localized(settings.get("options", {}).get(str(value), str(value))))
    if kind == "checkboxes" and isinstance(value, list):
        options = settings.get("options", {})
        return _text(", ".join(localized(options.get(str(v), str(v))) for v in value))
    if kind in ("user", "department"):
        found = row_id(value)
        names = chunk.users if kind == "user" else chunk.departments
        return _text(names.get(found, f"#{value}") if found is not None else value)
    if kind == "file":
        ids = value if isinstance(value, list) else [value]
        return _text(", ".join(chunk.files.get(row_id(i) or 0, f"#{i}") for i in ids))
    if isinstance(value, (list, dict)):
        return _text(str(value))
    return _text(value)


# ---- CSV ---------------------------------------------------------------------------------------


def _csv_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def csv_chunks(export: ExportPlan) -> Iterator[str]:
    """The CSV in pieces (a BOM, the header, then about ``CHUNK`` rows per piece)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([c.label for c in export.columns])
    written = 0
    yield "\ufeff" + buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    for row in rows(export):
        writer.writerow([_csv_text(v) for v in row])
        written += 1
        if written % CHUNK == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
    log.info("export of %s by user %s finished: %d rows (csv)", export.form_key, export.user.id, written)


# ---- xlsx --------------------------------------------------------------------------------------


def too_many(export: ExportPlan) -> ExportError:
    return too_many_rows()


def too_many_rows() -> ExportError:
    """The refusal of a workbook past ``FORMWORK_EXPORT_XLSX_MAX_ROWS`` (every export says the same)."""
    return ExportError(
        422,
        _(
            "More than %(limit)s rows to export: narrow the filters, or export as CSV, which has no limit.",
            limit=xlsx_max_rows(),
        ),
    )


def xlsx_bytes(export: ExportPlan) -> bytes:
    """The workbook: one sheet, a bold header, typed cells; ``ExportError(422)`` beyond the row limit."""
    limit = xlsx_max_rows()
    if count(export) > limit:  # checked before reading anything
        raise too_many(export)
    # The rows first (with line items there may be more rows than records), then the sheet: a
    # refused export leaves no half-written workbook behind.
    table = list(islice(rows(export), limit + 1))
    if len(table) > limit:
        raise too_many(export)
    book = Workbook(write_only=True)
    sheet = book.create_sheet(_sheet_title(export.form.title(current_locale_tag())) or export.form_key[:31])
    bold = Font(bold=True)
    header = []
    for column in export.columns:
        cell = WriteOnlyCell(sheet, value=column.label)
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    for row in table:
        cells = zip(export.columns, row, strict=True)
        sheet.append([_xlsx_cell(sheet, column, value) for column, value in cells])
    written = len(table)
    out = io.BytesIO()
    book.save(out)
    log.info("export of %s by user %s finished: %d rows (xlsx)", export.form_key, export.user.id, written)
    return out.getvalue()


def _sheet_title(title: str) -> str:
    """A sheet name Excel accepts: at most 31 characters, none of ``[]:*?/\\``."""
    return re.sub(r"[\[\]:*?/\\]", " ", title).strip()[:31]


def _xlsx_cell(sheet: Any, column: Column, value: Any) -> Any:
    if isinstance(value, Decimal):
        text = format(value, "f")
        if len(value.as_tuple().digits) > EXCEL_DIGITS:
            return text  # a spreadsheet would round it: exact text instead
        # A number cell holding the decimal's own text (openpyxl would write a Decimal through a float).
        cell = WriteOnlyCell(sheet, value=text)
        cell.data_type = "n"
        cell.number_format = MONEY_FORMAT if column.kind == "money" else "General"
        return cell
    if isinstance(value, datetime):
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = DATETIME_FORMAT
        return cell
    if isinstance(value, date):
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = DATE_FORMAT
        return cell
    if isinstance(value, str):
        # A string openpyxl would take for a formula is already prefixed by _text; keep it a string.
        cell = WriteOnlyCell(sheet, value=value)
        cell.data_type = "s"
        return cell
    return value


def audit(export: ExportPlan, fmt: str, filters: dict[str, Any]) -> None:
    """Who exported what: an entry in the audit trail (committed before the first byte goes out)
    and a log line."""
    with transaction():
        trail.append(
            actions.RECORDS_EXPORT,
            actor=export.user,
            object_type="form",
            object_id=export.form_key,
            details={
                "format": fmt,
                "lines": export.lines,
                "filters": {k: v for k, v in filters.items() if v},
            },
        )
    log.info(
        "export of %s as %s by user %s (%s), filters %s, lines %s",
        export.form_key,
        fmt,
        export.user.id,
        getattr(export.user, "username", "?"),
        {k: v for k, v in filters.items() if v},
        export.lines,
    )


def response(export: ExportPlan, fmt: str, filters: dict[str, Any]) -> Response:
    """The download, logged (``audit``): CSV streamed in chunks, the workbook whole
    (``ExportError`` for an unknown format or too many rows)."""
    if fmt not in FORMATS:
        raise ExportError(422, _("Export as csv or xlsx."))
    audit(export, fmt, filters)
    if fmt == "xlsx":
        answer = Response(xlsx_bytes(export), mimetype=MEDIA_TYPES["xlsx"])
    else:
        answer = Response(stream_with_context(csv_chunks(export)), content_type=MEDIA_TYPES["csv"])
    answer.headers["Content-Disposition"] = f'attachment; filename="{export.filename_stem}.{fmt}"'
    answer.headers["Cache-Control"] = "no-store"
    return answer
