"""Administration in a real browser: a joiner, a mover and a leaver, done by the administrator.

The administrator creates a department and three people in it, moves one, makes one the head and
grants another a role (a delegated administrator of the department, who creates an API token). The
head is away and hands their tasks to the delegate; a claim arrives; the delegate leaves. Their open
browser session and their token stop working on the very next request, and the claim waits in their
manager's inbox with the hand-over in its trail. Each run uses fresh names, so the shared demo
database stays as the other tests expect it.
"""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import a11y
import pytest
from playwright.sync_api import Locator, Page, expect
from test_expense_claim import (
    YESTERDAY,
    add_rows_until,
    fill_payee,
    labelled,
    open_expense_claim,
    row_controls,
)
from test_inbox import _person

from conftest import TIMEOUT_MS
from formwork import business_time

PASSWORD = "long-enough-1"


def _choose(select: Locator, text: str) -> None:
    """Pick the option whose text contains ``text`` (the department options carry depth marks and codes)."""
    select.select_option(value=select.locator("option", has_text=text).first.get_attribute("value"))


def _create_person(page: Page, username: str, name: str, department: str, manager: str = "") -> None:
    page.goto("/admin/users/new")
    page.locator("#main").get_by_label("User name").fill(username)
    page.locator("#main").get_by_label("Name", exact=True).fill(name)
    _choose(page.locator("#main").get_by_label("Department"), department)
    if manager:
        page.locator("#main").get_by_label("Manager").fill(manager)
    page.locator("#main").get_by_label(re.compile(r"^Password")).fill(PASSWORD)
    page.get_by_role("button", name="Add", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(name)


def _sign_in_as(browser, live_server: str, username: str) -> Page:
    context = browser.new_context(
        base_url=live_server, locale="en-US", viewport={"width": 1280, "height": 900}
    )
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.goto("/login")
    page.locator("#main").get_by_label(re.compile(r"user ?name", re.I)).fill(username)
    page.locator("#main").get_by_label(re.compile(r"password", re.I)).fill(PASSWORD)
    page.get_by_role("button", name=re.compile(r"sign in", re.I)).click()
    page.wait_for_url(re.compile(r"^(?!.*/login)"))
    return page


def test_joiner_mover_leaver(page: Page, browser, live_server, sign_in):
    tag = uuid.uuid4().hex[:6]
    code, head, lee, mia = f"QA-{tag}", f"ned{tag}", f"lee{tag}", f"mia{tag}"
    sign_in(page, "admin")
    page.get_by_role("link", name="Administration").click()

    # A department under Head Office.
    page.get_by_role("link", name="Departments").click()
    page.get_by_role("textbox", name=re.compile(r"^Code \(")).fill(code)
    page.locator("#main").get_by_label("Name in Chinese").fill(f"质检{tag}")
    page.locator("#main").get_by_label("Name in English").fill(f"QA {tag}")
    _choose(page.locator("#main").get_by_label("Under"), "Head Office")
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_role("status").filter(has_text="The department was created.")).to_be_visible()

    # Joiners: the head, a person who reports to bob (created in Sales, then moved), a claimant.
    _create_person(page, head, f"Ned {tag}", code, manager="dave")
    _create_person(page, lee, f"Lee {tag}", "Sales", manager="bob")
    _choose(page.locator("#main").get_by_label("New department"), f"QA {tag}")
    page.get_by_role("button", name="Move", exact=True).click()
    expect(page.get_by_role("status").filter(has_text="The person was moved.")).to_be_visible()
    expect(page.locator(".admin-facts")).to_contain_text(f"QA {tag}")
    # A role limited to the new department: Lee administers it (and creates a token below).
    page.locator("#main").get_by_label("Role", exact=True).select_option(label="Administrator")
    _choose(page.locator("#main").get_by_label("Limited to"), f"QA {tag}")
    page.get_by_role("button", name="Grant").click()
    expect(page.locator("#grants-title + ul, .admin-list").first).to_contain_text(f"limited to QA {tag}")
    _create_person(page, mia, f"Mia {tag}", code, manager=head)

    page.goto("/admin/departments?q=" + code)
    page.get_by_role("link", name=f"QA {tag}").click()
    page.locator("#main").get_by_label(re.compile(r"^Head \(")).fill(head)
    page.locator("form[action$='/head'] button[type=submit]").click()
    expect(page.locator(".admin-facts")).to_contain_text(f"Ned {tag}")

    # Lee signs in and makes a token; Ned is away and hands arriving tasks to Lee.
    lee_page = _sign_in_as(browser, live_server, lee)
    lee_page.goto("/admin/tokens")
    lee_page.get_by_label("What it is for").fill("scripts")
    lee_page.get_by_role("button", name="Create").click()
    token = lee_page.locator("#new-token").inner_text()
    assert lee_page.request.get("/api/tasks", headers={"Authorization": f"Bearer {token}"}).status == 200

    ned_page = _sign_in_as(browser, live_server, head)
    ned_page.goto("/settings/out-of-office")
    ned_page.get_by_label("Who acts for you").fill(lee)
    ned_page.get_by_label("First day").fill(business_time.today().isoformat())
    ned_page.get_by_label("Last day").fill((business_time.today() + timedelta(days=30)).isoformat())
    ned_page.get_by_role("button", name="Save").click()
    expect(ned_page.get_by_role("status").filter(has_text=re.compile(r"^Saved"))).to_be_visible()

    reason = f"Lab supplies {tag}"
    mia_page = _sign_in_as(browser, live_server, mia)
    open_expense_claim(mia_page)
    labelled(mia_page, "Category").select_option(label="Office")
    labelled(mia_page, "Reason").fill(reason)
    add_rows_until(mia_page, 1)
    row_controls(mia_page, "Date").first.fill(YESTERDAY)
    row_controls(mia_page, "Type").first.select_option(label="Meals")
    row_controls(mia_page, "Amount").first.fill("88.00")
    fill_payee(mia_page)
    mia_page.get_by_role("button", name=re.compile(r"^submit$", re.I)).click()
    expect(mia_page.get_by_role("status").filter(has_text=re.compile(r"submitted", re.I))).to_be_visible()
    lee_page.goto("/inbox")
    expect(lee_page.locator("#inbox-results")).to_contain_text(reason)

    # Lee leaves: the administrator records it; nobody is named, so the manager (bob) takes over.
    page.goto(f"/admin/users?q={lee}")
    page.get_by_role("link", name=f"Lee {tag}").click()
    page.get_by_role("button", name="Record the leaving").click()
    expect(page.get_by_role("status").filter(has_text=re.compile(r"has left"))).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Left")

    lee_page.goto("/inbox")
    expect(lee_page).to_have_url(re.compile(r"/login"))  # the session ended: the very next request
    assert lee_page.request.get("/api/tasks", headers={"Authorization": f"Bearer {token}"}).status == 401

    bob = _person(browser, live_server, sign_in, "bob")
    bob.goto("/inbox")
    expect(bob.locator("#inbox-results")).to_contain_text(reason)
    bob.locator("#inbox-results").get_by_role("link", name=re.compile(re.escape(reason))).first.click()
    expect(bob.locator("body")).to_contain_text("Handed over: the person left")
    for other in (lee_page, ned_page, mia_page, bob):
        other.context.close()


def test_a_delegated_administrator_meets_404_outside_their_department(
    page: Page, browser, live_server, sign_in
):
    sign_in(page, "admin")
    page.goto("/admin/users?q=carol")
    carol_path = page.get_by_role("link", name=re.compile("Carol")).first.get_attribute("href")
    page.goto("/admin/departments?q=FIN")
    finance_path = page.get_by_role("link", name="Finance").get_attribute("href")

    sara = _person(browser, live_server, sign_in, "sara")
    sara.goto("/admin/users")
    expect(sara.locator("#admin-results")).to_contain_text("Alice")
    expect(sara.locator("#admin-results")).not_to_contain_text("Carol")
    for path in (carol_path, finance_path, "/admin/users/2147483648"):
        response = sara.goto(path)
        assert response is not None and response.status == 404, path
    sara.context.close()


@pytest.mark.parametrize("path", ["/admin/users", "/admin/departments", "/admin/roles", "/admin/tokens"])
def test_administration_pages_fit_a_phone(phone_page: Page, sign_in, path):
    sign_in(phone_page, "admin")
    phone_page.goto(path)
    phone_page.wait_for_load_state("networkidle")
    overflow = phone_page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, f"{path} is {overflow}px wider than the phone screen"
    a11y.check(phone_page)
    a11y.screenshot(phone_page, "admin" + path.replace("/", "-") + "-phone")
