"""Rows as the downloads give them: CSV streamed in chunks with Excel's byte-order mark, or one
worksheet with a bold header, refused past ``FORMWORK_XLSX_MAX_ROWS`` (``records.too_many_rows``).
The exports that list rows of their own (the audit trail, the permission review) share these."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from .records import _csv_text, too_many_rows, xlsx_max_rows


def csv_chunks(header: list[Any], rows: Iterable[list[Any]], every: int = 1000) -> Iterator[str]:
    """The header, then the rows ``every`` at a time (text that looks like a formula kept as text)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    yield "\ufeff" + buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    for count, row in enumerate(rows, start=1):
        writer.writerow([_csv_text(value) for value in row])
        if count % every == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def workbook(title: str, header: list[Any], rows: Iterable[list[Any]]) -> bytes:
    """One sheet named ``title``: the header in bold, then the rows (``too_many_rows`` past the limit,
    before anything is written)."""
    limit = xlsx_max_rows()
    table = []
    for row in rows:
        table.append(row)
        if len(table) > limit:
            raise too_many_rows()
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title[:31])
    bold = Font(bold=True)
    cells = []
    for label in header:
        cell = WriteOnlyCell(sheet, value=label)
        cell.font = bold
        cells.append(cell)
    sheet.append(cells)
    for row in table:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
