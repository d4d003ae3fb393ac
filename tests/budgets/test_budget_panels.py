"""The budget a purchase request is checked against, shown while it is filled in (updated by the live
evaluation round) and to its approver: budget, used, this request, what remains or is missing."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from formwork import business_time
from formwork.budgets.service import period_of, set_budget
from formwork.definitions import store
from formwork.extensions import db
from formwork.org.models import Department
from formwork.workflow import submission
from formwork.workflow.models import OPEN, Task

ROOT = Path(__file__).resolve().parents[2]
HX = {"HX-Request": "true"}
EN = {"Accept-Language": "en"}


@pytest.fixture
def published(app, demo_org):
    store.publish_path(ROOT / "definitions")
    quarter = period_of(business_time.today())
    set_budget("SALES", "equipment", quarter, "200000")
    set_budget("FIN", "equipment", quarter, "777777")
    db.session.commit()
    return demo_org


def department_id(code: str) -> int:
    return db.session.scalar(select(Department.id).where(Department.code == code))


def purchase(user, price: str, category: str = "equipment", submit: bool = True):
    data = {
        "subject": "Laptops",
        "department": user.department_id,
        "budget_category": category,
        "items": [{"description": "Laptop", "quantity": 1, "unit_price": price}],
        "needed_by": (date.today() + timedelta(days=14)).isoformat(),
        "justification": "New staff",
    }
    return submission.create_record("purchase_request", data, user, submit=submit)


def panel(html: str) -> str:
    """The budget panel's markup, or "" when the page has none."""
    match = re.search(r'<section class="budget-panel.*?</section>', html, re.S)
    return match.group(0) if match else ""


def evaluate(
    client, *, department: str = "SALES", category: str = "equipment", price: str = "30000", **headers
):
    html = client.get("/forms/purchase_request/new", headers=EN).get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    data = {
        "csrf_token": token,
        "_client_token": "tok-1",
        "subject": "Laptops",
        "department": str(department_id(department)),
        "budget_category": category,
        "_rows.items": "0",
        "items[0].description": "Laptop",
        "items[0].quantity": "1",
        "items[0].unit_price": price,
        "needed_by": (date.today() + timedelta(days=14)).isoformat(),
        "justification": "New staff",
    }
    response = client.post("/forms/purchase_request/evaluate", data=data, headers={**HX, **EN, **headers})
    assert response.status_code == 200
    return response.get_data(as_text=True)


@pytest.fixture
def alice(client, login, published):
    purchase(published["frank"], "50000.00")  # in review: uses 50,000 of the Sales equipment budget
    return login(client, "alice")


def test_the_new_request_has_an_empty_budget_panel_until_a_category_is_chosen(alice):
    html = alice.get("/forms/purchase_request/new", headers=EN).get_data(as_text=True)
    shown = panel(html)
    assert 'id="budget-panel"' in shown and " hidden" in shown
    assert "200,000" not in shown


def test_the_live_round_shows_budget_used_remaining_and_after_this_request(alice):
    shown = panel(evaluate(alice, price="30000"))
    assert 'hx-swap-oob="true"' in shown and " hidden" not in shown  # swapped in by the same round
    assert "Sales · Equipment" in shown
    figures = dict(re.findall(r"<dt>([^<]+)</dt><dd[^>]*>([^<]+)</dd>", shown))
    assert figures["Budget"].endswith("200,000.00")
    assert figures["Used"].endswith("50,000.00")
    assert figures["Remaining"].endswith("150,000.00")
    assert figures["Remaining after this request"].endswith("120,000.00")
    assert "Over budget" not in shown and "budget-panel--over" not in shown


def test_over_budget_while_filling_in_says_by_how_much(alice):
    shown = panel(evaluate(alice, price="160000"))
    assert "budget-panel--over" in shown
    assert "Over budget by" in shown and "10,000.00" in shown


def test_no_budget_line_says_so_and_shows_no_figures(alice):
    shown = panel(evaluate(alice, category="software"))
    assert "No budget set for Sales · Software this quarter." in shown
    assert "<dl" not in shown


def test_a_department_the_person_may_not_choose_shows_nothing(alice):
    shown = panel(evaluate(alice, department="FIN"))
    assert " hidden" in shown
    assert "777,777" not in shown and "Finance" not in shown


def test_the_cfo_may_choose_any_department_and_sees_its_budget(client, login, published):
    login(client, "dave")
    shown = panel(evaluate(client, department="FIN"))
    assert "777,777.00" in shown and "Finance · Equipment" in shown


def test_a_draft_being_edited_shows_its_budget(alice, published):
    draft = purchase(published["alice"], "1000.00", submit=False)
    html = alice.get(f"/records/{draft.id}/edit", headers=EN).get_data(as_text=True)
    shown = panel(html)
    assert "150,000.00" in shown and "149,000.00" in shown


def test_the_panel_reads_in_chinese(alice):
    shown = panel(evaluate(alice, price="160000", **{"Accept-Language": "zh-CN"}))
    assert "销售部 · 设备" in shown
    assert "预算" in shown and "已使用" in shown and "超出预算" in shown
    shown = panel(evaluate(alice, category="software", **{"Accept-Language": "zh-CN"}))
    assert "未设置预算" in shown


def test_a_form_without_a_budget_check_has_no_panel(alice):
    html = alice.get("/forms/expense_claim/new", headers=EN).get_data(as_text=True)
    assert "budget-panel" not in html


# ---------------------------------------------------------------- the approver's task page


def task_page(client, login, record, username: str = "bob", **headers) -> str:
    task = db.session.scalars(
        select(Task).where(Task.record_id == record.id, Task.status == OPEN, Task.kind == "approval")
    ).first()
    login(client, username)
    response = client.get(f"/tasks/{task.id}", headers={**EN, **headers})
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_the_approver_of_an_over_budget_request_sees_budget_used_and_shortfall(client, login, published):
    purchase(published["frank"], "50000.00")
    record = purchase(published["alice"], "170000.00")
    html = task_page(client, login, record)
    shown = panel(html)
    assert shown and html.index('class="task-summary"') < html.index(shown) < html.index(
        'class="task-layout"'
    )
    figures = dict(re.findall(r"<dt>([^<]+)</dt><dd[^>]*>([^<]+)</dd>", shown))
    assert figures["Budget"].endswith("200,000.00")
    assert figures["Used by other requests"].endswith("50,000.00")  # this request left out
    assert figures["This request"].endswith("170,000.00")
    assert figures["Shortfall"].endswith("20,000.00")
    assert "This request is over budget by" in shown


def test_the_approver_of_a_request_within_budget_sees_what_remains(client, login, published):
    record = purchase(published["alice"], "30000.00")
    shown = panel(task_page(client, login, record))
    figures = dict(re.findall(r"<dt>([^<]+)</dt><dd[^>]*>([^<]+)</dd>", shown))
    assert figures["Remaining after this request"].endswith("170,000.00")
    assert "Shortfall" not in shown and "budget-panel--over" not in shown


def test_the_approver_of_a_request_without_a_budget_line_is_told(client, login, published):
    record = purchase(published["alice"], "3000.00", category="services")
    shown = panel(task_page(client, login, record))
    assert "No budget set for Sales · Services this quarter." in shown
    assert "Shortfall" in shown and "3,000.00" in shown


def test_the_task_page_panel_reads_in_chinese(client, login, published):
    record = purchase(published["alice"], "250000.00")
    shown = panel(task_page(client, login, record, **{"Accept-Language": "zh-CN"}))
    assert "销售部 · 设备" in shown and "缺口" in shown and "本申请" in shown


def test_a_request_whose_route_checks_no_budget_has_no_panel(client, login, published):
    data = {
        "category": "other",
        "reason": "Workshop",
        "lines": [
            {
                "date": date.today().replace(day=1).isoformat(),
                "type": "other",
                "amount": "100.00",
                "invoice_no": "12345678",
            }
        ],
        "payee_name": "Payee",
        "payee_bank": "ICBC Shanghai",
        "payee_account": "6222021234567890123",
    }
    record = submission.create_record("expense_claim", data, published["alice"], submit=True)
    assert "budget-panel" not in task_page(client, login, record)
