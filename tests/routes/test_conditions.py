"""Route conditions on real records: the rules engine and the Python evaluator give the same answers.

A table of records (amount bands, categories, budgets within and over, empty fields,
duplicate invoices) runs through ``holding`` (one engine call per record) and through
``holding_python`` on the same typed values and facts; the answers must be identical,
and the interesting ones are also checked against what a person would expect.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from formwork.budgets.seed import seed_demo_budgets
from formwork.definitions import store
from formwork.definitions.loader import read_source
from formwork.extensions import db
from formwork.forms.state import context_for
from formwork.routes.compile import rule_for_alert, rule_for_case, rule_for_step
from formwork.routes.conditions import evaluation_input, holding, holding_python
from formwork.routes.store import compiled_route, route_for_form
from formwork.workflow.submission import create_record

from .conftest import ROOT

CLAIM_RULES = {
    "cfo": "total >= 50000",
    "small": "total < 5000",
    "middle": "total >= 5000 and total < 50000",
    "travel": "category == 'travel'",
    "costly_trip": "category in ['travel', 'entertainment'] and total > 1000",
    "not_office": "not (category == 'office')",
    "no_trip": "trip_destination is null",
    "many_guests": "guest_count > 5",
    "few_guests": "not (guest_count > 5)",
    "many_lines": "count(lines) > 2",
    "big_line": "max(lines.amount) >= 1000",
    "from_sales": "$user.department == 2",
}
PURCHASE_RULES = {
    "within": "estimated_total <= $budget.remaining",
    "over": "estimated_total > $budget.remaining",
    "no_budget": "$budget.amount is null",
    "already_used": "$budget.used > 0",
    "half": "estimated_total * 2 > $budget.amount",
    "hardware": "budget_category in ['equipment', 'software']",
}


def _route(key: str, form: str, rules: dict[str, str], alert: str, facts: str = "") -> str:
    steps = "".join(
        f"  - key: {name}\n    name: {{zh-CN: {name}, en: {name}}}\n    approvers: [{{user: admin}}]\n"
        f'    when: "{source}"\n'
        for name, source in rules.items()
    )
    return (
        f"kind: route\nkey: {key}\nform: {form}\ntitle: {{zh-CN: 测试, en: Test}}\n{facts}steps:\n{steps}"
        f'alerts:\n  - key: watch\n    when: "{alert}"\n    notify: [{{role: finance_reviewer}}]\n'
        "    message: {zh-CN: 注意, en: Watch}\n"
    )


@pytest.fixture
def published(app, demo_org):
    store.publish_path(ROOT / "definitions" / "forms")
    seed_demo_budgets(ROOT / "definitions" / "org" / "budgets.yaml")
    return demo_org


def _line(amount: str, invoice: str | None = None, day: date | None = None) -> dict:
    row = {"date": (day or date.today()).isoformat(), "type": "other", "amount": amount}
    if invoice:
        row["invoice_no"] = invoice
    return row


def claim(user, category: str, amounts: list[str], invoices: list[str | None] | None = None, **extra):
    invoices = invoices or [None] * len(amounts)
    data = {
        "category": category,
        "reason": "Test",
        "lines": [_line(a, i) for a, i in zip(amounts, invoices, strict=True)],
        "payee_name": "X",
        "payee_bank": "ICBC",
        "payee_account": "6222021234567890123",
        **extra,
    }
    if category == "travel":
        today = date.today().isoformat()
        data.update(trip_destination="Shanghai", trip_start=today, trip_end=today)
    return _submitted(create_record("expense_claim", data, user, submit=False))


def purchase(user, category: str, unit_price: str, quantity: int = 1, department=None):
    data = {
        "subject": "Laptops",
        "department": (department or user.department_id),
        "budget_category": category,
        "items": [{"description": "Laptop", "quantity": quantity, "unit_price": unit_price}],
        "needed_by": (date.today() + timedelta(days=30)).isoformat(),
        "justification": "Needed",
    }
    return _submitted(create_record("purchase_request", data, user, submit=False))


def _submitted(record):
    """Saved as a draft and marked submitted directly: these tests evaluate conditions, no process runs."""
    record.status = "submitted"
    db.session.commit()
    return record


def _both(route, record) -> tuple[set[str], set[str]]:
    context = context_for(record.owner)
    values, full = evaluation_input(route, record, context=context)
    return holding(route, record, context=context), holding_python(route, values, full)


def test_claim_conditions_agree_on_a_table_of_records(published):
    store.publish(
        read_source(
            _route("claims", "expense_claim", CLAIM_RULES, "$duplicate_invoices > 0"), "claims.yaml"
        ).content
    )
    route = compiled_route(route_for_form("expense_claim"))
    alice, carol, erin = published["alice"], published["carol"], published["erin"]
    table = [
        # 10000001 is on the last claim too: both see the duplicate.
        (claim(alice, "office", ["12.50"], ["10000001"]), {"small", "no_trip", "from_sales", "alert:watch"}),
        (
            claim(alice, "travel", ["3000", "2000"], ["10000002", "10000003"]),
            {"middle", "travel", "costly_trip", "not_office", "big_line", "from_sales"},
        ),
        (
            claim(alice, "travel", ["49999.99"]),
            {"middle", "travel", "costly_trip", "not_office", "big_line", "from_sales"},
        ),
        (claim(carol, "travel", ["50000"]), {"cfo", "travel", "costly_trip", "not_office", "big_line"}),
        (
            claim(erin, "entertainment", ["900", "900", "900"], guests="Client A", guest_count=8),
            {"small", "costly_trip", "not_office", "no_trip", "many_guests", "many_lines"},
        ),
        (
            claim(erin, "entertainment", ["60000.01"], guests="Client B", guest_count=2),
            {"cfo", "costly_trip", "not_office", "no_trip", "few_guests", "big_line"},
        ),
        (
            claim(erin, "other", ["0.01", "0.02", "0.03"], ["10000001", None, "10000004"]),
            {"small", "not_office", "no_trip", "many_lines", "alert:watch"},
        ),
    ]
    for record, expected in table:
        engine, python = _both(route, record)
        assert engine == python, (record.data, engine, python)
        named = {name.split(":", 1)[1] if name.startswith("step:") else name for name in engine}
        assert named == expected, (record.data, named)
    # guest_count empty (not entertainment): neither "> 5" nor "not > 5" holds, in both back ends.
    assert not {"step:many_guests", "step:few_guests"} & holding(
        route, table[0][0], context=context_for(alice)
    )


def test_purchase_conditions_agree_with_budgets(published):
    store.publish(
        read_source(
            _route(
                "purchases",
                "purchase_request",
                PURCHASE_RULES,
                "estimated_total > $budget.remaining",
                "facts:\n  budget: "
                "{category: budget_category, amount: estimated_total, department: department}\n",
            ),
            "purchases.yaml",
        ).content
    )
    route = compiled_route(route_for_form("purchase_request"))
    alice, erin = published["alice"], published["erin"]
    first = purchase(alice, "equipment", "150000")  # Sales equipment budget: 200,000
    cases = [
        (first, {"within", "hardware", "half"}),
        (
            purchase(alice, "software", "80000.01"),
            {"over", "hardware", "half", "alert:watch"},
        ),  # budget 80,000
        (purchase(alice, "supplies", "100"), {"within"}),
        (purchase(erin, "equipment", "10"), {"no_budget", "hardware"}),  # HR has no budget line
    ]
    for record, expected in cases:
        engine, python = _both(route, record)
        assert engine == python, (record.data, engine, python)
        assert {n.removeprefix("step:") for n in engine} == expected, record.data
    # Once the first request is in review it uses budget: a second one of 60,000 no longer fits.
    first.status = "in_review"
    db.session.commit()
    second = purchase(alice, "equipment", "60000")
    engine, python = _both(route, second)
    assert engine == python
    assert {n.removeprefix("step:") for n in engine} == {"over", "already_used", "hardware", "alert:watch"}


def test_demo_routes_evaluate(published):
    store.publish_path(ROOT / "definitions" / "routes")
    claims = compiled_route(route_for_form("expense_claim"))
    alice, bob = published["alice"], published["bob"]
    small = claim(alice, "office", ["120"], ["55550001"])
    assert holding(claims, small, context=context_for(alice)) == set()
    big = claim(bob, "travel", ["52000"], ["55550001"])
    assert holding(claims, big, context=context_for(bob)) == {
        rule_for_step("cfo"),
        rule_for_alert("duplicate_invoice"),
    }

    purchases = compiled_route(route_for_form("purchase_request"))
    within = purchase(alice, "equipment", "1000", 3)
    assert holding(purchases, within, context=context_for(alice)) == {rule_for_case("budget_check", 0)}
    over = purchase(alice, "other", "20000.01")
    assert holding(purchases, over, context=context_for(alice)) == {rule_for_alert("over_budget")}


def test_a_route_without_conditions_holds_nothing(published):
    store.publish_path(ROOT / "definitions")
    route = compiled_route(route_for_form("contract_payment"))
    record = type("R", (), {})()  # never read: there is nothing to evaluate
    assert holding(route, record, context={}) == set()


def test_fact_values(published):
    store.publish_path(ROOT / "definitions" / "routes")
    route = compiled_route(route_for_form("purchase_request"))
    alice = published["alice"]
    record = purchase(alice, "services", "25000")
    _, context = evaluation_input(route, record, context=context_for(alice))
    assert context["budget"] == {
        "amount": Decimal("120000.00"),
        "used": Decimal("0"),
        "remaining": Decimal("120000.00"),
    }
    record.status = "approved"
    db.session.commit()
    other = purchase(alice, "services", "1")
    _, context = evaluation_input(route, other, context=context_for(alice))
    assert context["budget"]["used"] == Decimal("25000.00") and context["budget"]["remaining"] == Decimal(
        "95000.00"
    )
