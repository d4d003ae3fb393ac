"""The printed voucher from the browser: a ten-line claim submitted through the form prints on one page."""

from __future__ import annotations

import io
import re

from playwright.sync_api import Page, expect
from pypdf import PdfReader
from test_expense_claim import (
    YESTERDAY,
    add_rows_until,
    fill_payee,
    labelled,
    open_expense_claim,
    row_controls,
)

REASON = "Ten receipts from the Shanghai trade fair"
LINES = 10


def test_a_ten_line_claim_prints_on_one_page(page: Page, sign_in):
    sign_in(page, "alice")
    open_expense_claim(page)
    labelled(page, "Category").select_option(label="Office")
    labelled(page, "Reason").fill(REASON)
    add_rows_until(page, LINES)
    for row in range(LINES):
        row_controls(page, "Date").nth(row).fill(YESTERDAY)
        row_controls(page, "Type").nth(row).select_option(label="Transport")
        row_controls(page, "Amount").nth(row).fill(f"{100 + row}.50")
    expect(labelled(page, "Total")).to_contain_text(re.compile(r"1,?050\.00"))
    fill_payee(page)
    page.get_by_role("button", name=re.compile(r"^submit$", re.I)).click()
    expect(page.get_by_role("status").filter(has_text=re.compile(r"submitted", re.I))).to_be_visible()

    page.get_by_role("link", name=re.compile(r"^my requests$", re.I)).click()
    page.get_by_role("row").filter(has_text=REASON).get_by_role("link").first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(REASON)
    link = page.locator('a[href$="/pdf"]').first
    expect(link).to_be_visible()
    response = page.request.get(link.get_attribute("href"))
    assert response.status == 200 and response.headers["content-type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(response.body()))
    assert len(reader.pages) == 1
    text = "".join(reader.pages[0].extract_text().split())
    assert re.search(r"BX-\d{4}-\d{6}", text) and "104.50" in text
