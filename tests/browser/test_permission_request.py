"""The permission request (权限申请) in a real browser: frank asks for the analyst role with a reason
and an end date; bob (his head) and admin (the security owner) approve on their task pages; the role
is granted at once — the administrator sees it on frank's page, the request's trail lists it — and
when its last day is over the due work takes it back."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

from playwright.sync_api import Page, expect
from sqlalchemy import select
from test_expense_claim import labelled

from conftest import TIMEOUT_MS
from formwork import business_time
from formwork.extensions import db
from formwork.org import grants
from formwork.org.models import User


def _person(browser, live_server: str, sign_in, username: str) -> Page:
    context = browser.new_context(
        base_url=live_server, locale="en-US", viewport={"width": 1280, "height": 900}
    )
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    sign_in(page, username)
    return page


def _approve(page: Page, reason: str, step: str) -> None:
    page.goto("/inbox")
    row = page.locator(".task-row").filter(has_text=reason)
    expect(row).to_have_count(1)
    expect(row).to_contain_text(step)
    row.get_by_role("link", name=f"Open task: {reason}").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(reason)
    page.get_by_role("button", name="Approve", exact=True).click()
    expect(page.get_by_role("status").filter(has_text=re.compile(r"Done: Approved", re.I))).to_be_visible()


def _frank_page(page: Page, live_app) -> None:
    with live_app.app_context():
        frank_id = db.session.scalar(select(User.id).where(User.username == "frank"))
    page.goto(f"/admin/users/{frank_id}")


def test_a_permission_request_granted_end_to_end_then_ended_by_the_due_work(
    page: Page, browser, live_server, live_app, sign_in
):
    reason = f"Maintain the sales forms {uuid.uuid4().hex[:8]}"
    until = business_time.today() + timedelta(days=14)
    sign_in(page, "frank")
    page.goto("/forms")
    page.get_by_role("link", name=re.compile(r"^permission request$", re.I)).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"permission request", re.I))
    labelled(page, "Role").select_option(label="Analyst")
    labelled(page, "Reason").fill(reason)
    # A day more than a year ahead is refused on its field.
    labelled(page, "Valid until").fill((business_time.today() + timedelta(days=400)).isoformat())
    page.get_by_role("button", name=re.compile(r"^submit$", re.I)).click()
    expect(page.get_by_text("The end date can be at most one year ahead.").first).to_be_visible()
    labelled(page, "Valid until").fill(until.isoformat())
    page.get_by_role("button", name=re.compile(r"^submit$", re.I)).click()
    expect(page.get_by_role("status").filter(has_text=re.compile(r"submitted", re.I))).to_be_visible()

    bob = _person(browser, live_server, sign_in, "bob")
    admin = _person(browser, live_server, sign_in, "admin")
    try:
        _frank_page(admin, live_app)
        grants_list = admin.locator("#grants-title + ul, #grants-title ~ p").first
        expect(grants_list).not_to_contain_text("Analyst")

        _approve(bob, reason, "Department head approval")
        _approve(admin, reason, "Security owner approval")

        # Granted at once: on frank's page for the administrator, with its end.
        _frank_page(admin, live_app)
        expect(admin.locator("#grants-title + ul")).to_contain_text("Analyst")
        # The request's trail lists the grant, for frank too.
        page.goto("/requests")
        page.get_by_role("link", name=re.compile(re.escape(reason))).first.click()
        granted = page.locator("ol.trail > li").filter(has_text="Role granted")
        expect(granted).to_have_count(1)
        expect(granted).to_contain_text("Analyst")
        expect(granted).to_contain_text(until.isoformat())

        # The last day is over: the due work takes the role back.
        with live_app.app_context():
            assert grants.expire_due(grants.end_of(until) + timedelta(minutes=1)) >= 1
            db.session.commit()
        _frank_page(admin, live_app)
        expect(admin.locator("#grants-title + ul, #grants-title ~ p").first).not_to_contain_text("Analyst")
    finally:
        bob.context.close()
        admin.context.close()
