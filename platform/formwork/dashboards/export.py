"""A dashboard view as a table, for CSV and Excel: each card and each chart point on a row, with
the exact value, as shown, its target and level — the numbers of the page, within the viewer's
scope and period."""

from __future__ import annotations

import csv
import io
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from ..exports.records import FORMULA_STARTS
from .service import Card, Series, card_json, change_text


def rows(cards: list[Card], series: list[Series], locale: str) -> list[list[Any]]:
    header = [
        _("Section"),
        _("Indicator"),
        _("Point"),
        _("Value"),
        _("Shown"),
        _("Target"),
        _("Level"),
        _("Change"),
    ]
    found: list[list[Any]] = [header]
    for card in cards:
        shaped = card_json(card)
        found.append(
            [
                _("Card"),
                card.kpi.title_for(locale),
                "",
                shaped["value"],
                shaped["display"] or card.problem or "",
                shaped["target"],
                shaped["level"],
                change_text(card, locale) or "",
            ]
        )
    for item in series:
        for label, value, shown, level in zip(
            item.labels, item.values, item.displays, item.levels, strict=True
        ):
            found.append(
                [item.title, item.kpi.title_for(locale), label, value, shown, item.target, level, ""]
            )
    return found


def _safe(value: Any) -> Any:
    # Text a spreadsheet would run as a formula (a department named "=cmd|…") is kept as text;
    # control characters a sheet cannot hold are left out.
    if isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub("", value)
        if value.startswith(FORMULA_STARTS):
            return "'" + value
    return value


def csv_bytes(table: list[list[Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    for row in table:
        writer.writerow(["" if v is None else _safe(v) for v in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")  # the BOM: Excel reads the Chinese right


NUMBER_COLUMNS = (3, 5)  # the exact value and the target: numbers in a spreadsheet


def _number(value: Any) -> Any:
    try:
        return Decimal(value) if isinstance(value, str) else value
    except InvalidOperation:
        return value


def xlsx_bytes(table: list[list[Any]], title: str) -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=_sheet_title(title))
    for index, row in enumerate(table):
        cells = [_safe(v) for v in row]
        if index:
            cells = [_number(v) if column in NUMBER_COLUMNS else v for column, v in enumerate(cells)]
        sheet.append(cells)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _sheet_title(title: str) -> str:
    cleaned = "".join(" " if ch in "[]:*?/\\" else ch for ch in title).strip()
    return (cleaned or "dashboard")[:31]
