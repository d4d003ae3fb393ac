"""Reading and writing the onboarding file: CSV (one section per file, or a zip of them) and .xlsx.

The file has three sections, each a table with a header row of column names:

* ``departments``: code, name_zh, name_en, parent, head
* ``users``: username, display_name, email, department, manager, active
* ``grants``: username, role, department

In an .xlsx workbook each section is a sheet of that name (other sheets, such as the template's
notes, are ignored). A CSV file holds one section — named by the file (``users.csv``) or, failing
that, recognised by its columns — because that is what "Save as CSV" makes of one sheet; a .zip
of such files holds several. Lines are numbered as the spreadsheet numbers its rows (the header
is line 1), so a problem reported at "users, line 7" is found where the administrator looks.
"""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass, field
from datetime import date, time
from typing import Any, Iterable

from flask_babel import gettext as _
from openpyxl import Workbook, load_workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, TYPE_FORMULA, TYPE_STRING

DEPARTMENTS = "departments"
USERS = "users"
GRANTS = "grants"
SECTIONS = (DEPARTMENTS, USERS, GRANTS)
COLUMNS: dict[str, tuple[str, ...]] = {
    DEPARTMENTS: ("code", "name_zh", "name_en", "parent", "head"),
    USERS: ("username", "display_name", "email", "department", "manager", "active"),
    GRANTS: ("username", "role", "department"),
}
REQUIRED = {
    DEPARTMENTS: ("code", "name_zh", "name_en"),
    USERS: ("username", "display_name"),
    GRANTS: ("username", "role"),
}
# Sheet names an administrator of the Chinese interface may have typed.
ALIASES = {"部门": DEPARTMENTS, "人员": USERS, "用户": USERS, "授权": GRANTS, "角色授权": GRANTS}
MAX_ROWS = 50_000
MAX_COLUMNS = 50
MAX_CELL = 1000
# What a zip (an .xlsx is one) may unpack to: well above any real organisation, far below a bomb.
MAX_UNPACKED = 200 * 1024 * 1024
# A cell starting with one of these is a formula to a spreadsheet (CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass
class Problem:
    """One thing wrong with the file: where (section, line, column) and why."""

    section: str
    line: int
    column: str
    message: str

    def as_json(self) -> dict[str, Any]:
        return {"section": self.section, "line": self.line, "column": self.column, "message": self.message}


@dataclass
class Row:
    line: int
    values: dict[str, str]


@dataclass
class Sheets:
    """What a file held: rows per section, and problems of the file itself (encoding, headers)."""

    rows: dict[str, list[Row]] = field(default_factory=lambda: {section: [] for section in SECTIONS})
    problems: list[Problem] = field(default_factory=list)
    present: set[str] = field(default_factory=set)
    # The columns each section has: a column left out keeps what is there (see ``check``).
    columns: dict[str, set[str]] = field(default_factory=dict)


class FileRefused(ValueError):
    """The file cannot be read at all (not a spreadsheet, not UTF-8, too big)."""


def _section_name(name: str) -> str | None:
    stem = name.rsplit("/", 1)[-1].rsplit(".", 1)[0].strip().lower()
    stem = ALIASES.get(stem, stem)
    return stem if stem in SECTIONS else None


def _guess_section(header: list[str]) -> str | None:
    """A CSV saved under another name: the section whose required columns it has."""
    names = set(header)
    if {"code", "name_zh"} <= names:
        return DEPARTMENTS
    if {"username", "role"} <= names:
        return GRANTS
    if {"username", "display_name"} <= names:
        return USERS
    return None


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value)
    # An exported cell that looked like a formula was written with a leading quote (see ``safe``).
    if text.startswith("'") and text[1:2] and text[1] in FORMULA_START:
        return text[1:]
    return text


def _table(section: str, lines: Iterable[tuple[int, list[Any]]], sheets: Sheets) -> None:
    """Header and rows of one section into ``sheets`` (blank rows skipped, unknown columns named)."""
    iterator = iter(lines)
    header_line, header = next(iterator, (1, []))
    names = [_cell_text(value).strip().lower() for value in header]
    sheets.present.add(section)
    sheets.columns[section] = {name for name in names if name}
    known = COLUMNS[section]
    for index, name in enumerate(names):
        if name and name not in known:
            sheets.problems.append(
                Problem(
                    section,
                    header_line,
                    name[:40],
                    _("Unknown column: the columns are %(c)s.", c=", ".join(known)),
                )
            )
        elif name and names.index(name) != index:
            sheets.problems.append(Problem(section, header_line, name, _("This column appears twice.")))
    for required in REQUIRED[section]:
        if required not in names:
            sheets.problems.append(Problem(section, header_line, required, _("The column is missing.")))
    rows = sheets.rows[section]
    for line, cells in iterator:
        if len(rows) >= MAX_ROWS:
            raise FileRefused(_("At most %(n)s rows per section.", n=MAX_ROWS))
        texts = [_cell_text(value) for value in cells[:MAX_COLUMNS]]
        if not any(text.strip() for text in texts):
            continue
        values = {
            name: texts[index] for index, name in enumerate(names) if name in known and index < len(texts)
        }
        rows.append(Row(line, values))


def _csv_lines(data: bytes, name: str) -> Iterable[tuple[int, list[str]]]:
    try:
        text = data.decode("utf-8-sig")  # Excel's "CSV UTF-8" starts with a byte order mark
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        if _is_gbk(data):
            raise FileRefused(
                _(
                    '%(name)s is in the GBK encoding of an older "Save as CSV" (line %(line)s). '
                    'In Excel choose "CSV UTF-8" when saving.',
                    name=name,
                    line=line,
                )
            ) from exc
        raise FileRefused(
            _(
                '%(name)s is not UTF-8 text (line %(line)s). In Excel choose "CSV UTF-8" when saving.',
                name=name,
                line=line,
            )
        ) from exc
    reader = csv.reader(io.StringIO(text, newline=""))
    start = 1
    try:
        for cells in reader:
            yield start, cells
            start = reader.line_num + 1
    except csv.Error as exc:
        raise FileRefused(_("%(name)s, line %(line)s: %(why)s", name=name, line=start, why=str(exc))) from exc


def _is_gbk(data: bytes) -> bool:
    """Text in GBK (GB18030), as Excel in Chinese saves a plain CSV: we say so rather than guess,
    because many byte strings decode as GB18030 without being meant as it."""
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError:
        return False
    return any("\u4e00" <= char <= "\u9fff" for char in text)


def _read_csv(data: bytes, name: str, sheets: Sheets) -> None:
    lines = list(_csv_lines(data, name))
    section = _section_name(name)
    if section is None and lines:
        section = _guess_section([_cell_text(v).strip().lower() for v in lines[0][1]])
    if section is None:
        raise FileRefused(
            _(
                "%(name)s: name the file departments.csv, users.csv or grants.csv (or use their columns).",
                name=name,
            )
        )
    if section in sheets.present:
        raise FileRefused(_("The section %(s)s is in the upload twice.", s=section))
    _table(section, lines, sheets)


def _check_zip(data: bytes) -> zipfile.ZipFile:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise FileRefused(_("The file is not a valid .xlsx or .zip file.")) from exc
    if sum(info.file_size for info in archive.infolist()) > MAX_UNPACKED:
        raise FileRefused(_("The file unpacks to more than we accept."))
    return archive


def _read_xlsx(data: bytes, sheets: Sheets) -> None:
    _check_zip(data)
    try:
        # Not data_only: a formula is read as a formula, and refused (its result is not stored by
        # every program that writes .xlsx, and what an administrator sees is not what we would read).
        book = load_workbook(io.BytesIO(data), read_only=True)
    except Exception as exc:  # openpyxl raises many kinds on a damaged file
        raise FileRefused(_("The file is not a valid .xlsx workbook.")) from exc
    try:
        for sheet in book.worksheets:
            section = _section_name(sheet.title + ".x")
            if section is None:
                continue
            if section in sheets.present:
                raise FileRefused(_("The section %(s)s is in the upload twice.", s=section))
            _table(section, _xlsx_lines(sheet, section, sheets), sheets)
    finally:
        book.close()


def _xlsx_lines(sheet: Any, section: str, sheets: Sheets) -> Iterable[tuple[int, list[Any]]]:
    for number, cells in enumerate(sheet.iter_rows(max_col=MAX_COLUMNS), start=1):
        values: list[Any] = []
        for cell in cells:
            if getattr(cell, "data_type", None) == TYPE_FORMULA:
                sheets.problems.append(
                    Problem(
                        section,
                        number,
                        getattr(cell, "column_letter", "?"),
                        _("Enter a value, not a formula."),
                    )
                )
                values.append("")
                continue
            value: Any = getattr(cell, "value", None)
            if isinstance(value, (date, time)):
                value = value.isoformat()
            values.append(value)
        yield number, values


def read(data: bytes, name: str) -> Sheets:
    """The sections of an uploaded file; FileRefused when it is not one we read at all."""
    sheets = Sheets()
    lower = name.lower()
    if lower.endswith(".zip"):
        archive = _check_zip(data)
        for info in archive.infolist():
            if info.is_dir() or not info.filename.lower().endswith(".csv"):
                continue
            _read_csv(archive.read(info), info.filename, sheets)
    elif lower.endswith(".xlsx") or data[:2] == b"PK":
        _read_xlsx(data, sheets)
    elif lower.endswith(".csv") or lower.endswith(".txt") or not lower:
        _read_csv(data, name or "upload.csv", sheets)
    else:
        raise FileRefused(_("Upload an .xlsx workbook, a .csv file or a .zip of .csv files."))
    if not sheets.present:
        raise FileRefused(_("The file has no departments, users or grants section."))
    return sheets


# ---- writing -----------------------------------------------------------------------------------


def safe(value: str) -> str:
    """A cell a spreadsheet shows as text, never runs: a leading quote before what looks like a formula."""
    return "'" + value if value.startswith(FORMULA_START) else value


def write_xlsx(tables: dict[str, list[list[str]]], notes: list[str] | None = None) -> bytes:
    book = Workbook(write_only=True)
    for section in SECTIONS:
        sheet = book.create_sheet(section)
        sheet.append(list(COLUMNS[section]))
        for row in tables.get(section, []):
            sheet.append([_text_cell(sheet, value) for value in row])
    if notes:
        sheet = book.create_sheet("README")
        for note in notes:
            sheet.append([note])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _text_cell(sheet: Any, value: str) -> Any:
    # Always a string cell: openpyxl would otherwise store "=..." as a formula. Control characters
    # a sheet cannot hold (a name typed with one through the API) are left out, not a failed export.
    cell = WriteOnlyCell(sheet, value=ILLEGAL_CHARACTERS_RE.sub("", safe(value)))
    cell.data_type = TYPE_STRING
    return cell


def write_csv(section: str, rows: list[list[str]]) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS[section])
    for row in rows:
        writer.writerow([safe(value) for value in row])
    # With the byte order mark Excel opens the file as UTF-8 (Chinese names stay readable).
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def write_zip(tables: dict[str, list[list[str]]]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for section in SECTIONS:
            archive.writestr(f"{section}.csv", write_csv(section, tables.get(section, [])))
    return out.getvalue()
