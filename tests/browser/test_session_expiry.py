"""A session that ends while a form is being filled in: the page says so, keeps what was typed,
lets the person sign in again in place and carry on."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect
from test_expense_claim import (
    YESTERDAY,
    add_rows_until,
    fill_payee,
    labelled,
    money,
    open_expense_claim,
    row_controls,
    total,
)

from conftest import DEMO_PASSWORD

REASON = "Taxi to the airport, session ended meanwhile"


def _dialog(page: Page):
    return page.get_by_role("dialog", name=re.compile(r"session has expired", re.I))


def _end_session(page: Page) -> None:
    # What a timed-out or signed-out session looks like to the page: its cookie is gone.
    page.context.clear_cookies()


def test_typing_after_the_session_ended_asks_to_sign_in_and_carries_on(page: Page, sign_in):
    sign_in(page, "alice")
    open_expense_claim(page)
    labelled(page, "Category").select_option(label="Office")
    labelled(page, "Reason").fill(REASON)
    add_rows_until(page, 1)
    row_controls(page, "Date").first.fill(YESTERDAY)
    row_controls(page, "Type").first.select_option(label="Transport")
    # Let the evaluation of that choice finish first: sent after the session ends, it would open
    # the dialog before the amount is typed (the page behind a modal dialog takes no typing).
    page.wait_for_load_state("networkidle")

    _end_session(page)
    row_controls(page, "Amount").first.fill("120.50")
    dialog = _dialog(page)
    expect(dialog).to_be_visible()
    # Nothing typed is lost.
    expect(labelled(page, "Reason")).to_have_value(REASON)
    expect(row_controls(page, "Amount").first).to_have_value("120.50")

    # A wrong password is said so in the dialog, which stays open.
    dialog.get_by_label("Password").fill("not-the-password")
    dialog.get_by_role("button", name=re.compile(r"sign in", re.I)).click()
    expect(dialog.get_by_role("alert")).to_contain_text(re.compile(r"incorrect", re.I))
    expect(dialog).to_be_visible()

    dialog.get_by_label("Password").fill(DEMO_PASSWORD)
    dialog.get_by_role("button", name=re.compile(r"sign in", re.I)).click()
    expect(dialog).to_be_hidden()
    # The refused evaluation runs again: the total catches up with what was typed.
    expect(total(page)).to_contain_text(money("120.50"))

    fill_payee(page)
    page.get_by_role("button", name=re.compile(r"^submit$", re.I)).click()
    expect(page.get_by_role("status").filter(has_text=re.compile(r"submitted", re.I))).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_contain_text(REASON)


def test_saving_after_the_session_ended_saves_once_signed_in_again(page: Page, sign_in):
    sign_in(page, "alice")
    open_expense_claim(page)
    labelled(page, "Reason").fill(REASON + " (draft)")
    page.wait_for_load_state("networkidle")

    _end_session(page)
    page.get_by_role("button", name=re.compile(r"^save draft$", re.I)).click()
    dialog = _dialog(page)
    expect(dialog).to_be_visible()
    expect(labelled(page, "Reason")).to_have_value(REASON + " (draft)")

    dialog.get_by_label("Password").fill(DEMO_PASSWORD)
    dialog.get_by_role("button", name=re.compile(r"sign in", re.I)).click()
    # The Save draft that was refused goes again, with the new session's token.
    expect(page.get_by_role("status").filter(has_text=re.compile(r"draft saved", re.I))).to_be_visible()
    expect(labelled(page, "Reason")).to_have_value(REASON + " (draft)")
