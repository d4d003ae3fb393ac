"""Bulk onboarding in a real browser: a file with bad rows is checked, each bad row is listed by
line and column, and nothing is written; a good file is checked, confirmed once (a double click
imports once) and the people are there. Fresh names each run keep the shared demo database as
the other tests expect it.
"""

from __future__ import annotations

import uuid

import a11y
from playwright.sync_api import Page, expect


def _csv(text: str) -> dict:
    return {"name": "users.csv", "mimeType": "text/csv", "buffer": ("\ufeff" + text).encode("utf-8")}


def test_dry_run_lists_bad_rows_and_writes_nothing_then_a_good_file_imports(page: Page, sign_in):
    tag = uuid.uuid4().hex[:6]
    zoe, yan = f"zoe{tag}", f"yan{tag}"
    sign_in(page, "admin")
    page.goto("/admin/import")
    expect(page.get_by_role("heading", level=1)).to_have_text("Import and export")

    bad = (
        "username,display_name,email,department,manager,active\n"
        f"{zoe},Zoe {tag},not-an-email,SALES,bob,yes\n"
        f"{yan},Yan {tag},,NO-SUCH-DEPT,ghost{tag},\n"
    )
    page.locator("#import-file").set_input_files(_csv(bad))
    page.get_by_role("button", name="Check the file").click()
    problems = page.locator("#import-problems")
    expect(problems).to_be_visible()
    expect(page.locator("#import-problems-summary")).to_contain_text("Problems: 3")
    rows = problems.locator("tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.nth(0)).to_contain_text("users")
    expect(rows.nth(0)).to_contain_text("2")
    expect(rows.nth(0)).to_contain_text("email")
    expect(rows.nth(1)).to_contain_text("department")
    expect(rows.nth(2)).to_contain_text("manager")
    expect(page.locator("#import-confirm")).to_have_count(0)
    a11y.check(page)

    page.goto(f"/admin/users?q={tag}")
    expect(page.locator("#admin-results")).not_to_contain_text(zoe)

    good = (
        "username,display_name,email,department,manager,active\n"
        f"{zoe},Zoe {tag},{zoe}@example.com,SALES,{yan},yes\n"  # her manager is on the next line
        f"{yan},Yan {tag},,SALES,bob,\n"
    )
    page.goto("/admin/import")
    page.locator("#import-file").set_input_files(_csv(good))
    page.get_by_role("button", name="Check the file").click()
    expect(page.locator("#import-counts")).to_contain_text("users")
    expect(page.locator("#import-changes tbody tr")).to_have_count(2)
    page.locator("#import-confirm").dblclick()
    expect(page.get_by_role("status").filter(has_text="Imported")).to_contain_text("2 people")

    page.goto(f"/admin/users?q={tag}")
    results = page.locator("#admin-results")
    expect(results).to_contain_text(zoe)
    expect(results).to_contain_text(yan)


def test_import_page_fits_a_phone(phone_page: Page, sign_in):
    sign_in(phone_page, "admin")
    phone_page.goto("/admin/import")
    overflow = phone_page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, f"the import page is {overflow}px wider than the phone screen"
    a11y.check(phone_page)
