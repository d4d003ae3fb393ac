"""The inbox in a real browser: a claim reaches its approver, who decides it on the task page.

alice submits an expense claim through the form; bob (her department head) finds it in his inbox
with the count, opens it, sees the route with his step highlighted, approves with a comment; the
task leaves his inbox, the trail shows his decision, and carol (finance review) has it next.
"""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import Page, expect
from test_expense_claim import (
    YESTERDAY,
    add_rows_until,
    fill_payee,
    labelled,
    open_expense_claim,
    row_controls,
)

from conftest import TIMEOUT_MS

COMMENT = "Receipts checked, approved"


def _submit_claim(page: Page, sign_in, reason: str) -> None:
    sign_in(page, "alice")
    open_expense_claim(page)
    labelled(page, "Category").select_option(label="Office")
    labelled(page, "Reason").fill(reason)
    add_rows_until(page, 1)
    row_controls(page, "Date").first.fill(YESTERDAY)
    row_controls(page, "Type").first.select_option(label="Meals")
    row_controls(page, "Amount").first.fill("256.40")
    fill_payee(page)
    page.get_by_role("button", name=re.compile(r"^submit$", re.I)).click()
    expect(page.get_by_role("status").filter(has_text=re.compile(r"submitted", re.I))).to_be_visible()


def _open_count(page: Page) -> int:
    counts = page.locator("#inbox-results").get_by_role("status")
    expect(counts).to_contain_text(re.compile(r"Open: \d+"))
    return int(re.search(r"Open: (\d+)", counts.inner_text()).group(1))


def _person(browser, live_server: str, sign_in, username: str) -> Page:
    """A page of its own (own cookies) for another person, signed in."""
    context = browser.new_context(
        base_url=live_server, locale="en-US", viewport={"width": 1280, "height": 900}
    )
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    sign_in(page, username)
    return page


def test_a_claim_goes_through_the_inbox(page: Page, browser, live_server, sign_in):
    reason = f"Team lunch {uuid.uuid4().hex[:8]}"
    _submit_claim(page, sign_in, reason)

    bob = _person(browser, live_server, sign_in, "bob")
    carol = None
    try:
        bob.get_by_role("link", name=re.compile(r"^Inbox", re.I)).first.click()
        expect(bob.get_by_role("heading", level=1)).to_have_text("Inbox")
        row = bob.locator(".task-row").filter(has_text=reason)
        expect(row).to_have_count(1)
        expect(row).to_contain_text("Department head approval")
        expect(row).to_contain_text(re.compile(r"From 爱丽丝 Alice"))
        before = _open_count(bob)
        assert before >= 1
        # The navigation badge says the same.
        expect(bob.get_by_role("link", name=re.compile(rf"^Inbox\s*{before}\b"))).to_be_visible()

        row.get_by_role("link", name=f"Open task: {reason}").click()
        expect(bob.get_by_role("heading", level=1)).to_have_text(reason)
        current = bob.locator('.route [aria-current="step"]')
        expect(current).to_have_count(1)
        expect(current).to_contain_text("Department head approval")
        expect(current).to_contain_text("Waiting now")

        bob.get_by_label("Comment", exact=True).fill(COMMENT)
        bob.get_by_role("button", name="Approve", exact=True).click()
        # Back in the inbox: the task is gone and the count went down by one.
        expect(bob).to_have_url(re.compile(r"/inbox$"))
        expect(bob.get_by_role("status").filter(has_text=re.compile(r"Done: Approved", re.I))).to_be_visible()
        expect(bob.locator(".task-row").filter(has_text=reason)).to_have_count(0)
        assert _open_count(bob) == before - 1

        # What he decided keeps the request, with his decision in the trail.
        bob.get_by_role("link", name="Decided", exact=True).click()
        bob.get_by_role("link", name=re.compile(re.escape(reason))).first.click()
        trail = bob.locator("ol.trail > li").filter(has_text=COMMENT)
        expect(trail).to_have_count(1)
        expect(trail).to_contain_text("鲍勃 Bob")
        expect(trail).to_contain_text("Approved")
        expect(trail).to_contain_text("Department head approval")

        # Finance review is next: carol has it, with her step highlighted.
        carol = _person(browser, live_server, sign_in, "carol")
        carol.goto("/inbox")
        waiting = carol.locator(".task-row").filter(has_text=reason)
        expect(waiting).to_have_count(1)
        expect(waiting).to_contain_text("Finance review")
        waiting.get_by_role("link", name=f"Open task: {reason}").click()
        expect(carol.locator('.route [aria-current="step"]')).to_contain_text("Finance review")
        expect(carol.locator("ol.trail > li").filter(has_text=COMMENT)).to_contain_text("鲍勃 Bob")
    finally:
        bob.context.close()
        if carol is not None:
            carol.context.close()


def test_the_person_picker_finds_people_by_pinyin_initials(page: Page, sign_in):
    sign_in(page, "bob")
    page.goto("/settings/out-of-office")
    picker = page.get_by_label(re.compile(r"who acts for you", re.I))
    picker.click()
    picker.press_sequentially("kle")  # 卡罗尔 Carol: ka luo er
    options = page.locator("#ooo-delegate-options option")
    expect(options).to_have_count(1)
    expect(options.first).to_have_attribute("value", "carol")
    picker.fill("")
    picker.press_sequentially("财务")  # the Finance department
    expect(page.locator("#ooo-delegate-options option[value=grace]")).to_have_count(1)
