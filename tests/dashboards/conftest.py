"""Fixtures: the shipped definitions (forms, routes, permissions, KPIs, dashboards) published, and
approved claims of this month and of the same days last month."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from formwork import business_time
from formwork.definitions import store
from formwork.extensions import db
from formwork.records.models import Record

DEFINITIONS = Path(__file__).resolve().parents[2] / "definitions"


@pytest.fixture
def registry(app):
    from formwork.plugins import current_registry

    return current_registry()


@pytest.fixture
def published(demo_org, registry):
    store.publish_path(DEFINITIONS, registry=registry)
    db.session.commit()
    return demo_org


def last_month_first() -> date:
    first = business_time.today().replace(day=1)
    return (
        first.replace(year=first.year - 1, month=12)
        if first.month == 1
        else first.replace(month=first.month - 1)
    )


def claim(users, owner: str, category: str, day: date, amount: str, status: str = "approved") -> Record:
    version = store.current_version("form", "expense_claim")
    user = users[owner]
    record = Record(
        form_key="expense_claim",
        definition_id=version.id,
        form_version=version.version,
        data={
            "category": category,
            "reason": f"{owner} {category}",
            "lines": [{"date": day.isoformat(), "amount": amount}],
        },
        status=status,
        title=f"{owner} {category}",
        owner_id=user.id,
        department_id=user.department_id,
    )
    db.session.add(record)
    db.session.commit()
    return record


@pytest.fixture
def claims(published):
    """This month: alice (Sales) travel 100, frank (Sales) office 300, carol (Finance) office 1000;
    last month's first day: alice travel 50."""
    users = published
    first = business_time.today().replace(day=1)
    claim(users, "alice", "travel", first, "100.00")
    claim(users, "frank", "office", first, "300.00")
    claim(users, "carol", "office", first, "1000.00")
    claim(users, "alice", "travel", last_month_first(), "50.00")
    return users
