"""Files chosen in the browser: listed at once, kept while the form is filled in, saved with the record."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect
from test_expense_claim import (
    YESTERDAY,
    add_rows_until,
    fill_payee,
    labelled,
    open_expense_claim,
    settled,
)

# Real file heads: the server checks that a file's content matches its extension.
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
    b"\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81\x84\x00\x00\x00\x00IEND\xaeB`\x82"
)
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def _attachment_widget(page: Page, label: str):
    """The attachment widget around the file input labelled ``label`` (first of them)."""
    return page.locator(".attachment-widget").filter(has=labelled(page, label)).first


def test_a_receipt_chosen_on_a_line_stays_listed_and_is_saved(page: Page, sign_in):
    sign_in(page, "alice")
    open_expense_claim(page)
    labelled(page, "Category").select_option(label="Office")
    labelled(page, "Reason").fill("Printer paper with receipt")
    add_rows_until(page, 1)

    labelled(page, "Receipt").first.set_input_files(
        {"name": "taxi-receipt.png", "mimeType": "image/png", "buffer": PNG}
    )
    widget = _attachment_widget(page, "Receipt")
    # The file is listed (name, size) as a ticked box that removes it when unticked.
    chosen = widget.get_by_role("checkbox", name=re.compile(r"taxi-receipt\.png"))
    expect(chosen).to_be_checked()
    expect(widget).to_contain_text(re.compile(r"\(\d+ (bytes|KB|MB)\)"))
    # The widget is still there to add another file.
    expect(labelled(page, "Receipt").first).to_be_visible()

    # Filling in the rest (server round trips re-evaluating the form) keeps the file.
    labelled(page, "Date").first.fill(YESTERDAY)
    labelled(page, "Type").first.select_option(label="Office supplies")
    labelled(page, "Amount").first.fill("56.40")
    expect(labelled(page, "Total")).to_contain_text("56.40")
    fill_payee(page)
    expect(chosen).to_be_checked()

    page.get_by_role("button", name=re.compile(r"^submit$", re.I)).click()
    expect(page.get_by_role("status").filter(has_text=re.compile(r"submitted", re.I))).to_be_visible()
    expect(page.get_by_role("link", name="taxi-receipt.png")).to_be_visible()


def test_a_removed_file_is_not_saved(page: Page, sign_in):
    sign_in(page, "alice")
    page.goto("/forms/contract_payment/new")
    labelled(page, "Contract or supporting document").set_input_files(
        [
            {"name": "contract.pdf", "mimeType": "application/pdf", "buffer": PDF},
        ]
    )
    widget = _attachment_widget(page, "Contract or supporting document")
    expect(widget.get_by_role("checkbox", name=re.compile(r"contract\.pdf"))).to_be_checked()
    # The upload's answer re-renders the widget and starts a live evaluation; choose the next file
    # once the page is quiet, as a person would, not into an input that is being replaced.
    page.wait_for_load_state("networkidle")
    labelled(page, "Contract or supporting document").set_input_files(
        {"name": "wrong.png", "mimeType": "image/png", "buffer": PNG}
    )
    wrong = widget.get_by_role("checkbox", name=re.compile(r"wrong\.png"))
    expect(wrong).to_be_checked()
    expect(widget.get_by_role("checkbox", name=re.compile(r"contract\.pdf"))).to_be_checked()
    wrong.uncheck()

    labelled(page, "Contract number").fill("HT-2026-017")
    labelled(page, "Payee").fill("Shanghai Paper Co.")
    labelled(page, "Instalment").fill("2")
    labelled(page, "Amount").fill("12000")
    page.get_by_role("button", name=re.compile(r"^save draft$", re.I)).click()
    expect(page.get_by_role("status").filter(has_text=re.compile(r"draft saved", re.I))).to_be_visible()
    widget = _attachment_widget(page, "Contract or supporting document")
    expect(widget.get_by_role("checkbox", name=re.compile(r"contract\.pdf"))).to_be_checked()
    expect(widget.get_by_role("checkbox", name=re.compile(r"wrong\.png"))).to_have_count(0)


def test_a_contract_payment_with_its_required_attachment_is_submitted(page: Page, sign_in):
    sign_in(page, "alice")
    page.goto("/forms/contract_payment/new")
    labelled(page, "Contract number").fill("HT-2026-018")
    labelled(page, "Payee").fill("Beijing Print Ltd.")
    labelled(page, "Instalment").fill("1")
    labelled(page, "Amount").fill("8800")

    # Without the document the form says what is missing and keeps everything typed.
    page.get_by_role("button", name=re.compile(r"^submit$", re.I)).click()
    expect(page.locator("#form-errors")).to_contain_text("Contract or supporting document")
    expect(labelled(page, "Contract number")).to_have_value("HT-2026-018")

    settled(page)
    labelled(page, "Contract or supporting document").set_input_files(
        {"name": "contract-HT-2026-018.pdf", "mimeType": "application/pdf", "buffer": PDF}
    )
    widget = _attachment_widget(page, "Contract or supporting document")
    expect(widget.get_by_role("checkbox", name=re.compile(r"contract-HT-2026-018\.pdf"))).to_be_checked()

    page.get_by_role("button", name=re.compile(r"^submit$", re.I)).click()
    expect(page.get_by_role("status").filter(has_text=re.compile(r"submitted", re.I))).to_be_visible()
    expect(page.get_by_role("link", name="contract-HT-2026-018.pdf")).to_be_visible()
