"""The fixed data set of the KPI tests, and the KPI definitions they publish.

Approved expense claims (amounts hand-added in the tests):

| # | owner | dept | category | status | lines (date, amount) |
|---|---|---|---|---|---|
| 1 | alice | SALES | travel | approved | 2026-01-10 100.00; 2026-02-05 50.00 |
| 2 | frank | SALES | office | approved | 2026-01-20 300.00 |
| 3 | alice | SALES | travel | rejected | 2026-01-15 999.00 (never counted) |
| 4 | grace | FIN | travel | approved | 2026-01-31 200.00; 2026-01-31 0.10 |
| 5 | carol | FIN | office | approved | 2026-02-14 400.00 |
| 6 | erin | HR | other | approved | 2026-03-01 0.20 |
| 7 | bob | SALES | entertainment | approved | 2026-04-01 1000.00 |
"""

from __future__ import annotations

from pathlib import Path

from formwork.definitions import store
from formwork.extensions import db
from formwork.records.models import Record

DEFINITIONS = Path(__file__).resolve().parents[2] / "definitions"

CLAIMS = [
    ("alice", "travel", "approved", [("2026-01-10", "100.00"), ("2026-02-05", "50.00")]),
    ("frank", "office", "approved", [("2026-01-20", "300.00")]),
    ("alice", "travel", "rejected", [("2026-01-15", "999.00")]),
    ("grace", "travel", "approved", [("2026-01-31", "200.00"), ("2026-01-31", "0.10")]),
    ("carol", "office", "approved", [("2026-02-14", "400.00")]),
    ("erin", "other", "approved", [("2026-03-01", "0.20")]),
    ("bob", "entertainment", "approved", [("2026-04-01", "1000.00")]),
]

TITLE = {"zh-CN": "测试", "en": "Test"}
APPROVED = "$record.status == 'approved'"


def line_measure(aggregate: str, **extra) -> dict:
    return {
        "form": "expense_claim",
        "aggregate": aggregate,
        "of": "lines.amount",
        "date": "lines.date",
        "filter": APPROVED,
        **extra,
    }


def kpi(key: str, measures: dict, **extra) -> dict:
    return {"kind": "kpi", "key": key, "title": TITLE, "measures": measures, **extra}


TEST_KPIS = [
    kpi("t_sum", {"amount": line_measure("sum")}),
    kpi("t_avg", {"amount": line_measure("avg")}),
    kpi("t_min", {"amount": line_measure("min")}),
    kpi("t_max", {"amount": line_measure("max")}),
    kpi("t_lines", {"lines": line_measure("count")}),
    kpi(
        "t_claims",
        {"claims": {"form": "expense_claim", "aggregate": "count", "date": "lines.date", "filter": APPROVED}},
    ),
    kpi(
        "t_claimants",
        {
            "people": {
                "form": "expense_claim",
                "aggregate": "count_distinct",
                "of": "$record.owner",
                "date": "lines.date",
                "filter": APPROVED,
            }
        },
    ),
    kpi(
        "t_travel_ratio",
        {"travel": line_measure("sum", filter=APPROVED + " and category == 'travel'")},
        formula="travel / t_sum",
        unit="percent",
        target={
            "good": "lower",
            "value": "0.4",
            "warning": "0.5",
            "alert": "0.7",
            "departments": {"SALES": {"warning": "0.9", "alert": "0.95"}},
        },
    ),
    kpi(
        "t_execution",
        {"spent": line_measure("sum"), "budget": {"budget": {"all_departments_for": ["finance_reviewer"]}}},
        formula="spent / budget",
        unit="percent",
    ),
    kpi(
        "t_difference",
        {"spent": line_measure("sum"), "budget": {"budget": {}}},
        formula="budget - spent",
    ),
]


def write_claims(users, claims=CLAIMS) -> list[Record]:
    version = store.current_version("form", "expense_claim")
    records = []
    for owner, category, status, lines in claims:
        user = users[owner]
        record = Record(
            form_key="expense_claim",
            definition_id=version.id,
            form_version=version.version,
            data={
                "category": category,
                "reason": f"{owner} {category}",
                "lines": [{"date": day, "amount": amount} for day, amount in lines],
            },
            status=status,
            title=f"{owner} {category}",
            owner_id=user.id,
            department_id=user.department_id,
        )
        db.session.add(record)
        records.append(record)
    db.session.commit()
    return records
