"""Two purchase requests submitted at the same moment against a budget that fits only one of them."""

from __future__ import annotations

import threading
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from formwork.budgets.service import period_of, set_budget
from formwork.definitions import store
from formwork.extensions import db
from formwork.org.models import User
from formwork.workflow.models import OPEN, Task
from formwork.workflow.submission import create_record

ROOT = Path(__file__).resolve().parents[2]
NAME = {"zh-CN": "步骤", "en": "Step"}
# The budget is checked as the request starts, so both submissions decide their branch at once.
ROUTE = {
    "kind": "route",
    "key": "purchase_request",
    "form": "purchase_request",
    "title": {"zh-CN": "采购", "en": "Purchase"},
    "no_approver": "refuse",
    "facts": {
        "budget": {"category": "budget_category", "amount": "estimated_total", "department": "department"}
    },
    "steps": [
        {
            "branch": {
                "key": "budget_check",
                "name": NAME,
                "cases": [
                    {
                        "name": NAME,
                        "when": "estimated_total <= $budget.remaining",
                        "steps": [{"key": "within", "name": NAME, "approvers": [{"user": "grace"}]}],
                    }
                ],
                "otherwise": [{"key": "over", "name": NAME, "approvers": [{"user": "ivan"}]}],
            }
        }
    ],
}


@pytest.fixture(autouse=True)
def postgres_only(app):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("needs PostgreSQL: on SQLite writers are serialised anyway, so the race cannot happen")


def _data(department_id: int) -> dict:
    return {
        "subject": "Laptop",
        "department": department_id,
        "budget_category": "equipment",
        "items": [{"description": "Laptop", "quantity": 1, "unit_price": "800"}],
        "needed_by": (date.today() + timedelta(days=10)).isoformat(),
        "justification": "Needed",
    }


def test_two_submissions_at_once_cannot_both_fit_the_last_of_a_budget(app, demo_org):
    store.publish_path(ROOT / "definitions")
    store.publish(ROUTE)
    set_budget("SALES", "equipment", period_of(date.today()), 1000)
    db.session.commit()
    sales = demo_org["alice"].department_id
    submitters = [demo_org["alice"].id, demo_org["bob"].id]
    barrier = threading.Barrier(len(submitters))
    failures: list[BaseException] = []

    def submit(user_id: int) -> None:
        with app.app_context():
            try:
                person = db.session.get(User, user_id)
                barrier.wait(timeout=10)
                create_record("purchase_request", _data(sales), person, submit=True)
                db.session.commit()
            except BaseException as exc:  # asserted on below
                failures.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=submit, args=(user_id,)) for user_id in submitters]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not failures, failures
    db.session.expire_all()
    steps = sorted(db.session.scalars(select(Task.step_key).where(Task.status == OPEN)))
    assert steps == ["over", "within"], steps  # one fits, the other is over budget
