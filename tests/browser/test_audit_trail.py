"""The audit trail page in a browser: an administrator finds their own sign-in through the menu and
the search, at desk and phone size, with no serious accessibility problem; others get no link."""

from __future__ import annotations

import a11y
from playwright.sync_api import expect


def test_an_administrator_searches_the_trail(page, sign_in):
    sign_in(page, "admin")
    page.get_by_role("link", name="Audit trail").click()
    expect(page.get_by_role("heading", name="Audit trail")).to_be_visible()
    page.get_by_label("Action").select_option("session.sign_in")
    page.get_by_label("Person (user name)").fill("admin")
    page.get_by_role("button", name="Search").click()
    page.wait_for_load_state()
    assert "action=session.sign_in" in page.url
    rows = page.locator("table.audit-trail tbody tr")
    expect(rows.first).to_contain_text("Signed in")
    expect(rows.first).to_contain_text("127.0.0.1")
    for row in range(rows.count()):
        expect(rows.nth(row)).to_contain_text("admin")
    a11y.check(page)


def test_the_trail_on_a_phone(phone_page, sign_in):
    sign_in(phone_page, "admin")
    phone_page.goto("/admin/audit")
    expect(phone_page.locator("table.audit-trail")).to_be_visible()
    width = phone_page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 375 + 1, f"the page scrolls sideways on a phone ({width}px)"
    a11y.check(phone_page)


def test_no_link_and_no_page_for_others(page, sign_in):
    sign_in(page, "alice")
    expect(page.get_by_role("link", name="Audit trail")).to_have_count(0)
    assert page.goto("/admin/audit").status == 404
