"""The main pages at desk (1366×768) and phone (390×844) size: no critical or serious axe violation,
no console error (a style or script the CSP blocks, a failed request, htmx noise), a screenshot of each
saved as a test artefact (test-results/screenshots/)."""

from __future__ import annotations

import re

import a11y
import pytest
from playwright.sync_api import Page, expect
from test_expense_claim import (
    YESTERDAY,
)

from conftest import DEMO_PASSWORD, TIMEOUT_MS

SIZES = {"desk": a11y.DESK, "phone": a11y.PHONE}


@pytest.fixture(params=sorted(SIZES))
def sized_page(request, browser, live_server):
    """A fresh context at one of the two sizes; console errors are collected on ``page.errors``."""
    size = request.param
    options = {"viewport": SIZES[size]}
    if size == "phone":
        options.update(is_mobile=True, has_touch=True)
    context = browser.new_context(base_url=live_server, locale="zh-CN", **options)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.size_name = size
    page.errors = errors
    yield page
    context.close()


def _check(page: Page, name: str) -> None:
    page.wait_for_load_state("networkidle")
    assert page.errors == [], f"console errors on {page.url} ({name}): {page.errors}"
    a11y.screenshot(page, f"{name}-{page.size_name}")
    a11y.check(page)
    # axe may make the CSP report style attributes it set while measuring: not the page's doing.
    page.evaluate("() => new Promise(resolve => setTimeout(resolve, 50))")
    page.errors.clear()


def _sign_in(page: Page, username: str) -> None:
    page.goto("/login")
    page.locator("#username").fill(username)
    page.locator("#password").fill(DEMO_PASSWORD)
    page.locator(".sign-in button[type=submit]").click()
    page.wait_for_url(re.compile(r"^(?!.*/login)"))


def test_login_page(sized_page: Page):
    sized_page.goto("/login")
    _check(sized_page, "login")


def test_home_page(sized_page: Page):
    _sign_in(sized_page, "alice")
    sized_page.goto("/")
    _check(sized_page, "home")


def test_new_claim_page_with_errors_and_rows(sized_page: Page):
    page = sized_page
    _sign_in(page, "alice")
    page.goto("/forms/expense_claim/new")
    _check(page, "new-claim")
    # With what a person meets while filling it in: rows, a number that will not read, the error summary.
    # A fresh page: axe leaves style attributes behind, which htmx's settling would copy (CSP reports).
    page.goto("/forms/expense_claim/new")
    page.locator("#f-category").select_option("travel")
    expect(page.locator("#f-trip_destination")).to_be_visible()
    page.locator("#add-lines").click()
    expect(page.locator("input[name$='.amount']")).to_have_count(2)
    # The new row takes the focus once it has settled; typing elsewhere before that would be lost.
    expect(page.locator("input[name$='.date']").nth(1)).to_be_focused()
    page.locator("input[name$='.amount']").first.fill("1e3")
    expect(page.locator(".field__error--live:not([hidden])")).to_have_count(1)
    page.locator("button[value=submit]").click()
    expect(page.locator("#form-errors")).to_be_visible()
    _check(page, "new-claim-errors")


def test_record_page(sized_page: Page):
    page = sized_page
    page.set_default_timeout(TIMEOUT_MS)
    _sign_in(page, "alice")
    page.goto("/forms/expense_claim/new")
    page.locator("#f-category").select_option("office")
    page.locator("#f-reason").fill("打印纸和墨盒")
    page.locator("input[name$='.date']").first.fill(YESTERDAY)
    page.locator("select[name$='.type']").first.select_option("supplies")
    page.locator("input[name$='.amount']").first.fill("356.80")
    page.locator("#f-payee_name").fill("王爱丽")
    page.locator("#f-payee_bank").fill("上海银行")
    page.locator("#f-payee_account").fill("6222 0202 0011 2233")
    page.locator("button[value=submit]").click()
    page.wait_for_url(re.compile(r"/records/\d+$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("打印纸")
    _check(page, "record")


def test_purchase_request_line_amount_shows_its_value(sized_page: Page):
    page = sized_page
    _sign_in(page, "alice")
    page.goto("/forms/purchase_request/new")
    page.locator("input[name$='.quantity']").first.fill("3")
    page.locator("input[name$='.unit_price']").first.fill("120.50")
    amount = page.locator("output[id$='-amount']").first
    expect(amount).to_contain_text("361.50")
    # In the grid (desk) the cell shows the value alone; the column head names it.
    label = page.locator(".line-item .field__label").first
    if page.size_name == "desk":
        assert label.evaluate("el => el.getBoundingClientRect().width") <= 1
    _check(page, "purchase-request")


def test_purchase_request_shows_the_budget_as_it_is_filled_in(sized_page: Page):
    page = sized_page
    _sign_in(page, "alice")
    page.goto("/forms/purchase_request/new")
    panel = page.locator("#budget-panel")
    expect(panel).to_be_hidden()  # no category chosen yet
    page.evaluate("() => { window.notReloaded = true; }")
    page.locator("select[name=budget_category]").select_option("equipment")
    expect(panel).to_be_visible()
    expect(panel).to_contain_text("销售部 · 设备")
    expect(panel).to_contain_text("200,000.00")  # the demo Sales equipment budget
    page.locator("input[name$='.quantity']").first.fill("1")
    page.locator("input[name$='.unit_price']").first.fill("250000")
    expect(panel).to_contain_text("超出预算")
    assert page.evaluate("() => window.notReloaded === true"), "the page reloaded"
    # On a phone the figures stay inside the screen.
    width = page.evaluate("() => document.documentElement.clientWidth")
    assert panel.evaluate("el => el.getBoundingClientRect().right") <= width
    _check(page, "purchase-request-budget")
