"""Live evaluation never loses what is typed, however late the server's answer arrives.

Every evaluation answer is held back (Playwright route interception) while the person goes on
typing, removing a row and changing the category; only then are the answers let through, one by
one. Whatever was typed meanwhile must still be on the page, and the total must count it.
"""

from __future__ import annotations

import re
from decimal import Decimal

from playwright.sync_api import Page, Route, expect
from test_expense_claim import add_rows_until, labelled, money, open_expense_claim, row_controls


class HeldAnswers:
    """Evaluation requests caught on their way to the server, let through only when asked."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.held: list[Route] = []
        self.holding = False
        page.route(re.compile(r"/evaluate$"), self._catch)

    def _catch(self, route: Route) -> None:
        if self.holding:
            self.held.append(route)
        else:
            route.continue_()

    def wait_for_one(self) -> None:
        for _ in range(50):
            if self.held:
                return
            self.page.wait_for_timeout(100)
        raise AssertionError("no evaluation request was sent")

    def release_one(self) -> None:
        """Let the oldest held request reach the server; its answer comes back at once."""
        self.wait_for_one()
        self.held.pop(0).continue_()
        self.page.wait_for_timeout(300)  # the answer is swapped in

    def hold_until(self, wanted: str) -> None:
        """Let through the held evaluations until the one whose post contains ``wanted`` is held."""
        for _ in range(20):
            self.wait_for_one()
            if wanted in (self.held[0].request.post_data or ""):
                return
            self.release_one()
        raise AssertionError(f"no evaluation posting {wanted!r} was sent")

    def release_all(self) -> None:
        """Stop holding; let everything held and everything still queued through, until quiet."""
        self.holding = False
        for _ in range(30):
            while self.held:
                self.held.pop(0).continue_()
            self.page.wait_for_timeout(400)
            if not self.held and not self.page.evaluate(
                "() => !!document.querySelector('.form-fields.htmx-request, .form-fields .htmx-request')"
            ):
                return


def test_a_late_evaluation_answer_never_overwrites_what_was_typed(page: Page, sign_in):
    sign_in(page, "alice")
    open_expense_claim(page)
    labelled(page, "Category").select_option(label="Travel")
    expect(labelled(page, "Trip destination")).to_be_visible()
    add_rows_until(page, 3)
    amounts = row_controls(page, "Amount")
    amounts.nth(0).fill("100")
    amounts.nth(1).fill("200")
    expect(labelled(page, "Total")).to_contain_text(money("300"))

    answers = HeldAnswers(page)
    answers.holding = True
    # Typing starts an evaluation; its answer is held back while the person carries on.
    amounts.nth(2).click()
    page.keyboard.type("3")
    page.keyboard.press("Tab")  # change: the evaluation is sent (and held)
    answers.wait_for_one()
    labelled(page, "Reason").click()
    page.keyboard.type("Client visit")
    # Removing the second row waits behind the evaluation in flight; typing after it must not drop it.
    page.get_by_role("button", name=re.compile(r"^remove row 2$", re.I)).click()
    amounts.nth(2).click()
    page.keyboard.press("End")
    page.keyboard.type("00.50")  # row 3 now reads 300.50
    labelled(page, "Trip destination").click()
    page.keyboard.type("Shang")
    page.wait_for_timeout(400)  # the typing's own evaluation is due
    answers.release_one()  # the first answer (row 3 was "3") arrives after all that typing
    expect(labelled(page, "Reason")).to_have_value("Client visit")
    expect(row_controls(page, "Amount").nth(2)).to_have_value("300.50")
    # The removal is sent once the answers before it came in; more typing while its answer is held.
    answers.hold_until("_op=remove")
    page.keyboard.type("hai")
    amounts.nth(0).click()
    page.keyboard.press("End")
    page.keyboard.type("0")  # the first row now reads 1000, typed after the removal was sent
    answers.release_one()
    expect(row_controls(page, "Amount")).to_have_count(2)
    expect(row_controls(page, "Amount").nth(0)).to_have_value("1000")
    expect(row_controls(page, "Amount").nth(1)).to_have_value("300.50")
    expect(labelled(page, "Trip destination")).to_have_value("Shanghai")
    # A visibility change answered late: the guests fields come in, nothing typed goes.
    labelled(page, "Category").select_option(label="Entertainment")
    answers.wait_for_one()
    labelled(page, "Reason").click()
    page.keyboard.press("End")
    page.keyboard.type(" and dinner")
    answers.release_all()
    expect(labelled(page, "Guests")).to_be_visible()
    expect(labelled(page, "Trip destination")).to_be_hidden()
    expect(labelled(page, "Reason")).to_have_value("Client visit and dinner")
    values = [row_controls(page, "Amount").nth(i).input_value() for i in range(2)]
    assert values == ["1000", "300.50"], values
    # The last answer counted everything typed.
    expect(labelled(page, "Total")).to_contain_text(money(Decimal("1300.50")))
    # Row numbers follow the removal.
    expect(page.get_by_role("button", name=re.compile(r"^remove row \d$", re.I))).to_have_count(2)
    expect(page.get_by_role("button", name=re.compile(r"^remove row 2$", re.I))).to_have_count(1)
