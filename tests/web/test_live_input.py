"""What the form does with input that will not validate: marked at once, never silently counted as 0;
cross-field rules reported in the same round as field errors, on the row that breaks them."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select
from test_renderer import HX, expense_post, form_token

from formwork import business_time
from formwork.extensions import db
from formwork.records.models import Record

TOMORROW = (business_time.today() + timedelta(days=1)).isoformat()  # rules read the business day


def _evaluate(alice, **rows: str) -> str:
    token = form_token(alice.get("/forms/expense_claim/new").get_data(as_text=True))
    data = expense_post(
        token, **{"_rows.lines": ["0", "1"], "lines[1].date": "", "lines[1].type": "", **rows}
    )
    response = alice.post("/forms/expense_claim/evaluate", data=data, headers=HX)
    assert response.status_code == 200
    return response.get_data(as_text=True)


@pytest.mark.parametrize("typed", ["100.999", "¥100", "1e3"])
def test_a_number_that_will_not_validate_is_marked_and_the_total_is_incomplete(alice, typed):
    html = _evaluate(alice, **{"lines[1].amount": typed})
    message = re.search(
        r'<p class="field__error field__error--live" id="live-lines-1-amount" hx-swap-oob="true">([^<]+)</p>',
        html,
    )
    assert message, html
    # The total still shows what can be read, and says it leaves something out.
    total = re.search(r'<output id="out-total"[^>]*>(.*?)</output>', html, re.S).group(1)
    assert "¥1,234.50" in total and "field__incomplete" in total
    assert "field__value--incomplete" in html
    # Amount in words is fed by the total: incomplete too.
    words = re.search(r'<output id="out-total_in_words"[^>]*>(.*?)</output>', html, re.S).group(1)
    assert "field__incomplete" in words


def test_a_number_that_reads_clears_the_mark(alice):
    html = _evaluate(alice, **{"lines[1].amount": "100.99"})
    assert re.search(
        r'<p class="field__error field__error--live" id="live-lines-1-amount" hidden hx-swap-oob="true"></p>',
        html,
    )
    assert "field__incomplete" not in re.search(
        r'<output id="out-total"[^>]*>(.*?)</output>', html, re.S
    ).group(1)
    assert "¥1,335.49" in html


def test_rule_errors_come_with_field_errors_and_name_the_row(alice):
    token = form_token(alice.get("/forms/expense_claim/new").get_data(as_text=True))
    data = expense_post(
        token,
        _action="submit",
        reason="",  # a field error ...
        **{
            "_rows.lines": ["0", "1", "2"],
            "lines[0].amount": "12000",
            "lines[1].date": TOMORROW,  # ... and a rule broken by the second row only
            "lines[1].type": "meals",
            "lines[1].amount": "9000",
            "lines[2].date": business_time.today().isoformat(),
            "lines[2].type": "meals",
            "lines[2].amount": "abc",  # a field error in the same table
        },
    )
    response = alice.post("/forms/expense_claim/new", data=data)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    summary = re.search(r'<div class="error-summary".*?</div>', html, re.S).group(0)
    assert 'href="#f-reason"' in summary
    assert (
        'href="#f-lines-1-date"' in summary and "费用明细，第 2 行：日期：费用日期不能晚于今天。" in summary
    )
    assert 'href="#f-lines-2-amount"' in summary
    assert 'href="#f-lines-0-date"' not in summary


def test_office_limit_is_reported_with_the_field_errors(alice):
    token = form_token(alice.get("/forms/expense_claim/new").get_data(as_text=True))
    data = expense_post(
        token,
        _action="submit",
        payee_name="",
        **{
            "_rows.lines": ["0", "1"],
            "lines[0].amount": "15000",
            "lines[1].date": business_time.today().isoformat(),
            "lines[1].type": "supplies",
            "lines[1].amount": "6000",
        },
    )
    html = alice.post("/forms/expense_claim/new", data=data).get_data(as_text=True)
    summary = re.search(r'<div class="error-summary".*?</div>', html, re.S).group(0)
    assert 'href="#f-payee_name"' in summary and "不能超过 20,000 元" in summary
    # A missing value says what to do, with full-width punctuation in Chinese.
    assert "收款人：请填写收款人。" in summary


def test_a_bank_account_typed_in_groups_is_cleaned(alice):
    token = form_token(alice.get("/forms/expense_claim/new").get_data(as_text=True))
    data = expense_post(token, _action="submit", payee_account="6222 0202-0011 2233")
    response = alice.post("/forms/expense_claim/new", data=data)
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    record = db.session.scalars(select(Record).order_by(Record.id.desc())).first()
    assert record.data["payee_account"] == "6222020200112233"


def test_forms_to_start_come_in_the_order_the_definitions_give(alice):
    for page in ("/", "/forms"):
        html = alice.get(page).get_data(as_text=True)
        positions = [
            html.index(f"/forms/{key}/new")
            for key in ("expense_claim", "purchase_request", "contract_payment")
        ]
        assert positions == sorted(positions), (page, positions)


def test_a_new_claim_starts_with_the_payee_of_the_last_one_and_a_header(alice):
    token = form_token(alice.get("/forms/expense_claim/new").get_data(as_text=True))
    saved = alice.post(
        "/forms/expense_claim/new", data=expense_post(token, _action="draft", payee_bank="招商银行")
    )
    assert saved.status_code == 303
    page = alice.get("/forms/expense_claim/new").get_data(as_text=True)
    assert re.search(r'id="f-payee_bank"[^>]*', page) and 'value="招商银行"' in page
    assert 'value="6222020200112233"' in page and 'value="Printer paper"' not in page  # only prefilled fields
    header = re.search(r'<dl class="form-header">.*?</dl>', page, re.S).group(0)
    assert "申请人" in header and "销售部" in header


def test_a_purchase_request_starts_with_the_persons_department(alice, demo_org):
    page = alice.get("/forms/purchase_request/new").get_data(as_text=True)
    department = demo_org["alice"].department_id
    assert re.search(rf'<option value="{department}" selected>', page), page[:3000]
