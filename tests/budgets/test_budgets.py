"""Budget lines: setting them, what is used and remaining, the demo seed and the CLI."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from formwork.budgets.models import BudgetLine
from formwork.budgets.seed import seed_demo_budgets
from formwork.budgets.service import BudgetError, budget_status, consumers, period_of, set_budget
from formwork.definitions import store
from formwork.extensions import db
from formwork.forms import catalogue
from formwork.records.service import ValidationFailed
from formwork.workflow.submission import create_record

ROOT = Path(__file__).resolve().parents[2]
QUARTER = period_of(date.today())


@pytest.fixture
def published(app, demo_org):
    store.publish_path(ROOT / "definitions")
    return demo_org


def _request(user, category: str, price: str, status: str, department=None):
    data = {
        "subject": "Kit",
        "department": department or user.department_id,
        "budget_category": category,
        "items": [{"description": "Kit", "quantity": 1, "unit_price": price}],
        "needed_by": (date.today() + timedelta(days=10)).isoformat(),
        "justification": "Needed",
    }
    record = create_record("purchase_request", data, user, submit=False)
    record.status = status
    db.session.commit()
    return record


@pytest.mark.parametrize(
    "day, period",
    [
        (date(2026, 1, 1), "2026-Q1"),
        (date(2026, 3, 31), "2026-Q1"),
        (date(2026, 4, 1), "2026-Q2"),
        (date(2026, 9, 30), "2026-Q3"),
        (date(2026, 12, 31), "2026-Q4"),
    ],
)
def test_period_of(day, period):
    assert period_of(day) == period


def test_set_budget_creates_then_updates(app, demo_org):
    line = set_budget("SALES", "equipment", "2026-Q4", "1000.50")
    again = set_budget(demo_org["bob"].department, "equipment", "2026-Q4", 2000)
    db.session.commit()
    assert line.id == again.id and again.amount == Decimal("2000.00")
    assert db.session.scalar(select(func.count()).select_from(BudgetLine)) == 1


@pytest.mark.parametrize(
    "args, words",
    [
        (("NOWHERE", "equipment", "2026-Q4", 1), "unknown department"),
        (("SALES", "equipment", "2026-Q5", 1), "calendar quarter"),
        (("SALES", "equipment", "Q4-2026", 1), "calendar quarter"),
        (("SALES", "", "2026-Q4", 1), "category"),
        (("SALES", "equipment", "2026-Q4", "-1"), "between 0"),
        (("SALES", "equipment", "2026-Q4", "1.001"), "two decimal places"),
        (("SALES", "equipment", "2026-Q4", "lots"), "not a number"),
        (("SALES", "equipment", "2026-Q4", "NaN"), "between 0"),
    ],
)
def test_bad_budget_lines_are_refused(app, demo_org, args, words):
    with pytest.raises(BudgetError, match=words):
        set_budget(*args)


def test_used_counts_requests_in_review_or_approved(published):
    alice, bob, erin = published["alice"], published["bob"], published["erin"]
    set_budget("SALES", "equipment", QUARTER, 100000)
    db.session.commit()
    assert [c.form_key for c in consumers()] == ["purchase_request"]
    first = _request(alice, "equipment", "30000", "in_review")
    _request(bob, "equipment", "20000.50", "approved")
    _request(alice, "equipment", "999", "draft")  # not asked for yet
    _request(alice, "equipment", "888", "rejected")  # refused: uses nothing
    _request(alice, "equipment", "777", "withdrawn")
    _request(alice, "software", "5000", "approved")  # another category
    _request(erin, "equipment", "4000", "approved")  # another department (HR)
    status = budget_status("SALES", "equipment", QUARTER)
    assert (status.amount, status.used, status.remaining) == (
        Decimal("100000.00"),
        Decimal("50000.50"),
        Decimal("49999.50"),
    )
    # The request being evaluated does not count against itself.
    assert budget_status("SALES", "equipment", QUARTER, exclude_record_id=first.id).used == Decimal(
        "20000.50"
    )
    # No line: no amount and nothing remaining, but what is used is still known.
    hr = budget_status("HR", "equipment", QUARTER)
    assert (hr.amount, hr.used, hr.remaining) == (None, Decimal("4000.00"), None)
    assert budget_status("SALES", "equipment", "1999-Q1").used == Decimal("0")


def test_a_request_for_another_department_uses_that_departments_budget(published):
    """The route maps the department to the form's department field, not to the submitter's: dave
    (the CFO, in Head Office) may charge HR."""
    dave = published["dave"]
    hr = published["erin"].department_id
    _request(dave, "services", "7000", "approved", department=hr)
    assert budget_status("HR", "services", QUARTER).used == Decimal("7000.00")
    assert budget_status("HQ", "services", QUARTER).used == Decimal("0")


def test_a_requester_cannot_charge_another_departments_budget(published):
    """The demo form's department field is limited to the requester's own department (and those under
    it), on the server: Finance staff cannot charge Sales' budget to skip the over-budget CFO step."""
    carol, bob = published["carol"], published["bob"]
    sales = bob.department_id
    with pytest.raises(ValidationFailed) as refused:
        _request(carol, "equipment", "100", "draft", department=sales)
    [error] = refused.value.errors
    assert error["field"] == "department"
    assert str(error["message"]) in (
        "choose your own department or one under it",
        "请选择本人所在部门或其下级部门",
    )
    with pytest.raises(ValidationFailed):
        _request(published["alice"], "equipment", "100", "draft", department=published["erin"].department_id)
    assert _request(bob, "equipment", "100", "draft").data["department"] == sales


def test_demo_budgets_seed_the_current_quarter_once(app, demo_org):
    lines = seed_demo_budgets(ROOT / "definitions" / "org" / "budgets.yaml", today=date(2026, 5, 2))
    assert {line.period for line in lines} == {"2026-Q2"}
    assert {line.category for line in lines} == {"equipment", "software", "services", "supplies", "other"}
    assert all(line.department.code == "SALES" for line in lines)
    seed_demo_budgets(ROOT / "definitions" / "org" / "budgets.yaml", today=date(2026, 5, 2))
    assert db.session.scalar(select(func.count()).select_from(BudgetLine)) == len(lines)


def test_demo_budget_categories_are_the_purchase_request_categories(app, demo_org):
    store.publish_path(ROOT / "definitions" / "forms")
    form = catalogue.compiled_form(store.current("form", "purchase_request"))
    seeded = {line.category for line in seed_demo_budgets(ROOT / "definitions" / "org" / "budgets.yaml")}
    assert seeded == set(form.field("budget_category").settings["options"])


def test_a_bad_budgets_file_changes_nothing(app, demo_org, tmp_path):
    path = tmp_path / "budgets.yaml"
    path.write_text(
        "kind: budgets\nlines:\n  - {department: SALES, category: a, period: current, amount: 1}\n"
        "  - {department: MARS, category: b, period: current, amount: 1}\n",
        "utf-8",
    )
    with pytest.raises(BudgetError, match="line 2: unknown department"):
        seed_demo_budgets(path)
    assert db.session.scalar(select(func.count()).select_from(BudgetLine)) == 0
    assert seed_demo_budgets(tmp_path / "missing.yaml") == []


def test_cli_set_and_list(published, runner):
    result = runner.invoke(args=["budgets", "set", "SALES", "equipment", QUARTER, "5000"])
    assert result.exit_code == 0 and f"budget SALES equipment {QUARTER}: 5000.00 CNY" in result.output
    _request(published["alice"], "equipment", "1200", "approved")
    result = runner.invoke(args=["budgets", "list", "--period", QUARTER])
    assert result.exit_code == 0
    (row,) = [line for line in result.output.splitlines() if "equipment" in line]
    assert "5000.00" in row and "1200.00" in row and "3800.00" in row
    bad = runner.invoke(args=["budgets", "set", "SALES", "equipment", "2026-Q9", "1"])
    assert bad.exit_code == 1 and "calendar quarter" in bad.output and "Traceback" not in bad.output
    assert runner.invoke(args=["budgets", "list", "--period", "1999-Q1"]).output.strip() == "no budget lines"


def test_demo_seed_command_loads_budgets(app, runner):
    result = runner.invoke(args=["demo", "seed"])
    assert result.exit_code == 0, result.output
    assert f"demo budgets ready: 5 line(s) for {QUARTER}" in result.output
    assert budget_status("SALES", "equipment", QUARTER).amount == Decimal("200000.00")


def test_periods_follow_the_mapped_date_field(published):
    """With ``date: needed_by`` a request counts in the quarter of that date, not of its submission."""
    from formwork.budgets.service import Consumer, period_bounds

    alice = published["alice"]
    _request(alice, "software", "300", "approved")  # needed in 10 days
    needed = date.today() + timedelta(days=10)
    by_date = [Consumer("purchase_request", "estimated_total", "budget_category", "needed_by", "department")]
    assert budget_status("SALES", "software", period_of(needed), only=by_date).used == Decimal("300.00")
    start, _ = period_bounds(period_of(needed))
    earlier = period_of(start - timedelta(days=1))
    assert budget_status("SALES", "software", earlier, only=by_date).used == Decimal("0")
    assert period_bounds("2026-Q4") == (date(2026, 10, 1), date(2027, 1, 1))
    assert period_bounds("2026-Q1") == (date(2026, 1, 1), date(2026, 4, 1))


def test_a_submitted_request_counts_before_its_review_starts(published):
    set_budget("SALES", "equipment", QUARTER, 1000)
    db.session.commit()
    _request(published["alice"], "equipment", "300", "submitted")
    _request(
        published["alice"], "equipment", "50", "returned"
    )  # back with the submitter: asks for nothing now
    assert budget_status("SALES", "equipment", QUARTER, lock=True).used == Decimal("300.00")
