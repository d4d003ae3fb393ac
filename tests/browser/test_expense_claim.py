"""The expense claim end to end in a real browser, on a desktop screen, a phone screen and by keyboard.

Locators are the accessible ones (label, role and accessible name), so these tests check what
a person — or a screen reader — meets on the page, not the markup behind it.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal

from playwright.sync_api import Locator, Page, expect

REASON = "Client visit to Shanghai"
AMOUNTS = ["1200.50", "388", "45.25"]


def money(value: Decimal | str) -> re.Pattern[str]:
    """``value`` as the page shows money: two decimals, with or without thousands separators."""
    return re.compile(re.escape(f"{Decimal(value):,.2f}").replace(",", ",?"))


TOTAL_SHOWN = money(sum(Decimal(a) for a in AMOUNTS))  # 1,633.75
TOTAL_IN_CAPITALS = "壹仟陆佰叁拾叁元柒角伍分"
LINE_TYPES = ["Transport", "Hotel", "Meals"]
YESTERDAY = (date.today() - timedelta(days=1)).isoformat()


def labelled(page: Page, label: str) -> Locator:
    """The control labelled exactly ``label``; a required field's label adds "*" and "(required)"."""
    return page.get_by_label(re.compile(rf"^\s*{re.escape(label)}\s*\*?\s*(\(required\))?\s*$", re.I))


def row_controls(page: Page, label: str) -> Locator:
    """The control labelled ``label`` in every line-item row, in page order."""
    return labelled(page, label)


def settled(page: Page) -> None:
    """Wait until htmx has finished a swap: new content is wired up only when it settles (about
    20 ms after it appears), and a file chosen before that would fire no upload."""
    page.wait_for_function(
        "() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling, .htmx-added')"
    )


def open_expense_claim(page: Page) -> None:
    page.goto("/forms")
    page.get_by_role("link", name=re.compile(r"^expense claim$", re.I)).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"expense claim", re.I))


def add_rows_until(page: Page, rows: int) -> None:
    add_row = page.get_by_role("button", name=re.compile(r"^add row", re.I))
    for _ in range(rows):
        count = row_controls(page, "Amount").count()
        if count >= rows:
            break
        add_row.click()
        expect(row_controls(page, "Amount")).to_have_count(count + 1)
        settled(page)  # the new row's inputs are wired up when htmx settles, not when they appear
    expect(row_controls(page, "Amount")).to_have_count(rows)


def total(page: Page) -> Locator:
    return labelled(page, "Total")


def total_in_capitals(page: Page) -> Locator:
    return labelled(page, "Total in Chinese capitals")


def fill_payee(page: Page) -> None:
    labelled(page, "Payee").fill("Alice Wang")
    labelled(page, "Payee bank").fill("Bank of Shanghai")
    labelled(page, "Payee bank account").fill("6222020200112233445")


def test_fill_submit_and_find_an_expense_claim(page: Page, sign_in):
    sign_in(page, "alice")
    open_expense_claim(page)

    labelled(page, "Category").select_option(label="Office")
    expect(labelled(page, "Trip destination")).to_have_count(0)
    labelled(page, "Reason").fill(REASON)

    add_rows_until(page, 3)
    for row, amount in enumerate(AMOUNTS):
        row_controls(page, "Date").nth(row).fill(YESTERDAY)
        row_controls(page, "Type").nth(row).select_option(label=LINE_TYPES[row])
        row_controls(page, "Amount").nth(row).fill(amount)
        # After each amount the server recomputes (htmx round trip) and the page shows its answer.
        expect(total(page)).to_contain_text(money(sum(Decimal(a) for a in AMOUNTS[: row + 1])))
    expect(total(page)).to_contain_text(TOTAL_SHOWN)
    expect(total_in_capitals(page)).to_have_text(re.compile(re.escape(TOTAL_IN_CAPITALS)))

    # Travel brings the trip fields in.
    labelled(page, "Category").select_option(label="Travel")
    expect(labelled(page, "Trip destination")).to_be_visible()
    labelled(page, "Trip destination").fill("Shanghai")
    labelled(page, "Trip start").fill(YESTERDAY)
    labelled(page, "Trip end").fill(YESTERDAY)
    fill_payee(page)

    page.get_by_role("button", name=re.compile(r"^submit$", re.I)).click()
    expect(page.get_by_role("status").filter(has_text=re.compile(r"submitted", re.I))).to_be_visible()

    page.get_by_role("link", name=re.compile(r"^my requests$", re.I)).first.click()
    row = page.get_by_role("row").filter(has_text=REASON)
    expect(row).to_have_count(1)
    expect(row).to_contain_text(re.compile(r"submitted|in review", re.I))  # the demo route starts on submit
    # The stored record shows what the server computed from the three lines.
    row.get_by_role("link").first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(REASON)
    expect(page.get_by_text(TOTAL_IN_CAPITALS)).to_be_visible()
    expect(page.get_by_text(TOTAL_SHOWN).first).to_be_visible()


def test_every_form_control_has_an_accessible_name(page: Page, sign_in):
    sign_in(page, "alice")
    open_expense_claim(page)
    add_rows_until(page, 2)
    labelled(page, "Category").select_option(label="Travel")
    expect(labelled(page, "Trip destination")).to_be_visible()

    unnamed = page.locator("form.record-form").evaluate(
        """form => [...form.querySelectorAll('input, select, textarea, button, output')]
            .filter(el => el.type !== 'hidden' && el.offsetParent !== null)
            .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                          && !el.getAttribute('aria-labelledby') && !(el.textContent || '').trim())
            .map(el => el.outerHTML.slice(0, 160))"""
    )
    assert unnamed == [], f"form controls without a label: {unnamed}"


def test_the_form_fits_a_phone_screen(phone_page: Page, sign_in):
    page = phone_page
    sign_in(page, "alice")
    open_expense_claim(page)
    labelled(page, "Category").select_option(label="Travel")
    expect(labelled(page, "Trip destination")).to_be_visible()
    add_rows_until(page, 2)

    widths = page.evaluate(
        "() => ({page: document.documentElement.scrollWidth, viewport: window.innerWidth})"
    )
    assert widths["page"] <= widths["viewport"], f"the page scrolls sideways on a phone: {widths}"
    # Every control must be reachable without scrolling sideways, including those in line-item rows.
    outside = page.locator("form.record-form").evaluate(
        """form => [...form.querySelectorAll('input, select, textarea, button')]
            .filter(el => el.type !== 'hidden' && el.offsetParent !== null)
            .filter(el => {
                const r = el.getBoundingClientRect();
                return r.left < 0 || r.right > window.innerWidth + 1;
            })
            .map(el => (el.name || el.id || el.textContent.trim())
                + ' right=' + Math.round(el.getBoundingClientRect().right))"""
    )
    assert outside == [], f"controls outside a 375 px wide screen: {outside}"
    row_controls(page, "Amount").first.fill("88.80")
    expect(total(page)).to_contain_text(money("88.80"))


def _tab_to(page: Page, target: Locator, limit: int = 80) -> int:
    """Press Tab until ``target`` has the focus; returns how many presses it took."""
    for presses in range(1, limit + 1):
        page.keyboard.press("Tab")
        if target.evaluate("el => el === document.activeElement"):
            return presses
    raise AssertionError(f"{target} cannot be reached with the Tab key within {limit} presses")


def test_the_form_can_be_filled_by_keyboard(page: Page):
    page.goto("/login")
    # The user name field has the focus when the page opens (autofocus, applied once the page has
    # rendered: typing before that loses keys); no mouse from here on.
    expect(page.get_by_label("User name")).to_be_focused()
    page.keyboard.type("alice")
    page.keyboard.press("Tab")
    page.keyboard.type("demo-password")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"^(?!.*/login)"))
    open_expense_claim(page)

    _tab_to(page, labelled(page, "Category"))
    page.keyboard.press("ArrowDown")  # the first choice: Travel
    expect(labelled(page, "Category")).to_have_value("travel")
    expect(labelled(page, "Trip destination")).to_be_visible()

    _tab_to(page, labelled(page, "Reason"), limit=3)
    page.keyboard.type(REASON)
    _tab_to(page, labelled(page, "Trip destination"), limit=3)
    page.keyboard.type("Beijing")

    rows_before = row_controls(page, "Amount").count()
    _tab_to(page, page.get_by_role("button", name=re.compile(r"^add row", re.I)))
    page.keyboard.press("Enter")
    expect(row_controls(page, "Amount")).to_have_count(rows_before + 1)

    _tab_to(page, row_controls(page, "Amount").last)
    page.keyboard.type("300")
    page.keyboard.press("Tab")
    expect(total(page)).to_contain_text(money("300"))
    # What was typed is still there after the server's round trips.
    expect(labelled(page, "Reason")).to_have_value(REASON)
    expect(labelled(page, "Trip destination")).to_have_value("Beijing")


def test_on_a_phone_the_total_and_submit_stay_in_reach(browser, live_server, sign_in):
    context = browser.new_context(
        base_url=live_server,
        locale="en-US",
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
    )
    page = context.new_page()
    try:
        sign_in(page, "alice")
        open_expense_claim(page)
        labelled(page, "Category").select_option(label="Office")
        add_rows_until(page, 3)
        for row, amount in enumerate(AMOUNTS):
            row_controls(page, "Amount").nth(row).fill(amount)
        bar = page.locator(".form-actions--bar")
        # The bar repeats the total, kept up to date by the same evaluation as the field.
        expect(bar.locator("#bar-total")).to_contain_text(TOTAL_SHOWN)
        submit = page.get_by_role("button", name=re.compile(r"^submit$", re.I))
        for position in ("top", "middle"):
            if position == "top":
                page.evaluate("() => window.scrollTo(0, 0)")
            else:
                row_controls(page, "Amount").nth(1).scroll_into_view_if_needed()
            box = submit.bounding_box()
            assert box is not None and 0 <= box["y"] and box["y"] + box["height"] <= 844, (position, box)
            total_box = bar.locator("#bar-total").bounding_box()
            assert total_box is not None and total_box["y"] + total_box["height"] <= 844
        # A one-row header: brand, menu and sign-out side by side, no second row of links.
        header = page.locator(".site-header").bounding_box()
        assert header is not None and header["height"] <= 60, header
        for part in (".brand", ".site-nav", ".sign-out button"):
            box = page.locator(part).first.bounding_box()
            assert box is not None and header["y"] <= box["y"], (part, box, header)
            assert box["y"] + box["height"] <= header["y"] + header["height"], (part, box, header)
        # A receipt on a line asks for the camera first.
        receipt = row_controls(page, "Receipt").first
        assert receipt.get_attribute("capture") == "environment"
        assert "jpg" in (receipt.get_attribute("accept") or "")
        # Line dates do not wrap, and nothing scrolls sideways.
        widths = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
        assert widths[0] <= widths[1], widths
        # A hidden field takes no room: the travel fields are hidden for an office claim.
        assert (
            page.evaluate(
                "() => document.getElementById('fld-trip_destination').getBoundingClientRect().height"
            )
            == 0
        )
    finally:
        context.close()
