"""Shared cases: (expression, types, data, expected value) that every back end must agree on.

The Python evaluator runs all of them today; the durable-rules and SQL back ends
run the same table (``backends`` narrows a case to the back ends that can express it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from decimal import Decimal as D
from typing import Any, Mapping

from formwork.expressions import T

LINE = T.RecordOf({"amount": T.MONEY, "kind": T.TEXT, "day": T.DATE, "taxable": T.BOOLEAN, "qty": T.INTEGER})

FIELDS: dict[str, T.Type] = {
    "category": T.TEXT,
    "reason": T.TEXT,
    "total": T.MONEY,
    "budget": T.MONEY,
    "rate": T.DECIMAL,
    "qty": T.INTEGER,
    "n": T.INTEGER,
    "urgent": T.BOOLEAN,
    "approved": T.BOOLEAN,
    "start": T.DATE,
    "end": T.DATE,
    "submitted_at": T.DATETIME,
    "owner": T.USER,
    "dept": T.DEPARTMENT,
    "tags": T.ListOf(T.TEXT),
    "lines": T.ListOf(LINE),
}
ROW: dict[str, T.Type] = {"amount": T.MONEY, "kind": T.TEXT, "qty": T.INTEGER}

SCOPE: dict[str, Any] = {
    "category": "travel",
    "reason": "  Client visit  ",
    "total": D("1234.56"),
    "budget": D("50000.00"),
    "rate": D("0.06"),
    "qty": 3,
    "n": 0,
    "urgent": True,
    "approved": None,
    "start": date(2024, 5, 1),
    "end": date(2024, 5, 31),
    "submitted_at": datetime(2024, 5, 31, 8, 30, tzinfo=timezone.utc),
    "owner": 7,
    "dept": 3,
    "tags": ["a", "b"],
    "lines": [
        {"amount": D("100.10"), "kind": "hotel", "day": date(2024, 5, 2), "taxable": True, "qty": 2},
        {"amount": D("200.20"), "kind": "taxi", "day": date(2024, 5, 3), "taxable": False, "qty": 1},
        {"amount": None, "kind": "meal", "day": None, "taxable": None, "qty": None},
    ],
}
CONTEXT: dict[str, Any] = {
    "user": {"id": 7, "username": "li.na", "department": 3, "roles": ["staff"]},
    "today": date(2024, 6, 15),
    "now": datetime(2024, 6, 15, 9, 0, tzinfo=timezone.utc),
}
ALL_BACKENDS = frozenset({"python", "sql", "rules"})


@dataclass(frozen=True)
class Case:
    expression: str
    expected: Any
    scope: Mapping[str, Any] = field(default_factory=lambda: SCOPE)
    row: Mapping[str, Any] | None = None
    backends: frozenset[str] = ALL_BACKENDS

    @property
    def id(self) -> str:
        return self.expression if len(self.expression) <= 60 else self.expression[:57] + "..."


def _kleene_cases() -> list[Case]:
    """and / or / not over true, false, null: the full three-valued truth tables."""
    values = {"true": True, "false": False, "null": None}
    cases = []
    for a, va in values.items():
        cases.append(Case(f"not {a}", None if va is None else not va))
        for b, vb in values.items():
            if va is False or vb is False:
                conj = False
            elif va is None or vb is None:
                conj = None
            else:
                conj = True
            if va is True or vb is True:
                disj = True
            elif va is None or vb is None:
                disj = None
            else:
                disj = False
            cases.append(Case(f"{a} and {b}", conj))
            cases.append(Case(f"{a} or {b}", disj))
    return cases


CASES: list[Case] = [
    # literals
    Case("42", 42),
    Case("12.50", D("12.50")),
    Case("'text'", "text"),
    Case('"double \\"quoted\\""', 'double "quoted"'),
    Case("true", True),
    Case("null", None),
    Case("[1, 2, 3]", [1, 2, 3]),
    # arithmetic: exact decimals, integer division gives a decimal, SQL remainder
    Case("0.1 + 0.2 == 0.3", True),
    Case("0.1 + 0.2", D("0.3")),
    Case("1 + 2 * 3", 7),
    Case("(1 + 2) * 3", 9),
    Case("7 / 2", D("3.5")),
    Case("7 % 3", 1),
    Case("-7 % 3", -1),
    Case("-(2 - 5)", 3),
    Case("total + budget", D("51234.56")),
    Case("total * rate", D("74.0736")),
    Case("total * 2", D("2469.12")),
    Case("budget / total > 40", True),
    Case("total / 4", D("308.64")),
    Case("qty * 2 + 1", 7),
    Case("'a' + 'b'", "ab"),
    # division by zero is null, like x / NULLIF(y, 0)
    Case("qty / n", None),
    Case("total / 0", None),
    Case("qty % n", None),
    # comparisons
    Case("category == 'travel' and total >= 1000", True),
    Case("total >= 50000", False),
    Case("total > qty", True),
    Case("qty == 3.0", True),
    Case("category != 'office'", True),
    Case("'abc' < 'abd'", True),
    Case("start < end", True),
    Case("owner == $user.id", True),
    Case("dept == $user.department", True),
    Case("owner == 7", True),
    # membership
    Case("category in ['travel', 'meal']", True),
    Case("category not in ['travel', 'meal']", False),
    Case("'a' in tags", True),
    Case("'z' in tags", False),
    Case("qty in [1, null]", None),
    Case("qty in [3, null]", True),
    Case("approved in [true]", None),
    # null semantics
    Case("approved == true", None),
    Case("approved is null", True),
    Case("approved is not null", False),
    Case("approved == null", True),
    Case("approved != null", False),
    Case("total + null", None),
    Case("null > 1", None),
    Case("not approved", None),
    Case("approved or urgent", True),
    Case("approved and urgent", None),
    Case("approved and false", False),
    # paths and line items
    Case("sum(lines.amount)", D("300.30")),
    Case("sum(lines[*].amount)", D("300.30")),
    Case("lines[0].amount", D("100.10")),
    Case("lines[1].kind", "taxi"),
    Case("lines[9].amount", None),
    Case("count(lines)", 3),
    Case("count(lines.amount)", 2),
    Case("avg(lines.amount)", D("150.15")),
    Case("min(lines.amount)", D("100.10")),
    Case("max(lines.day)", date(2024, 5, 3)),
    Case("sum(lines.qty)", 3),
    Case("any(lines.taxable)", True),
    Case("all(lines.taxable)", False),
    Case("sum(lines.amount)", D("0"), scope={"lines": []}),
    Case("sum(lines.amount)", D("0"), scope={}),
    Case("count(lines)", 0, scope={}),
    Case("avg(lines.amount)", None, scope={"lines": []}),
    # row-scoped names (inside a line-item field's own conditions)
    Case("amount > 150 and kind == 'taxi'", True, row={"amount": D("200.20"), "kind": "taxi", "qty": 1}),
    Case("amount * qty", D("400.40"), row={"amount": D("200.20"), "kind": "taxi", "qty": 2}),
    Case("amount / total < 1", True, row={"amount": D("200.20"), "kind": "taxi", "qty": 1}),
    # context
    Case("$today", date(2024, 6, 15)),
    Case("$user.username", "li.na"),
    Case("'staff' in $user.roles", True),
    Case("year($today)", 2024),
    # functions
    Case("round(2.345, 2)", D("2.35")),
    Case("round(2.5)", D("3")),
    Case("round(-2.5)", D("-3")),
    Case("round(total, 1)", D("1234.6")),
    Case("round(1234, -2)", 1200),
    Case("abs(-3.5)", D("3.5")),
    Case("floor(2.7)", 2),
    Case("floor(-2.1)", -3),
    Case("ceil(2.1)", 3),
    Case("len('汇总')", 2),
    Case("len(tags)", 2),
    Case("upper(category)", "TRAVEL"),
    Case("lower('ABC')", "abc"),
    Case("trim(reason)", "Client visit"),
    Case("trim('\u3000全角\u3000')", "全角"),
    Case("contains(reason, 'Client')", True),
    Case("contains(tags, 'b')", True),
    Case("startswith(category, 'tra')", True),
    Case("endswith(category, 'el')", True),
    Case("concat(category, '-', qty, '-', null)", "travel-3-"),
    Case("coalesce(approved, false)", False),
    Case("coalesce(null, null)", None),
    Case("if(total > 1000, 'high', 'low')", "high"),
    Case("if(approved, 1, 2)", 2),
    Case("if(n == 0, 0, qty / n)", D("0")),
    Case("is_empty(approved)", True),
    Case("is_empty('  ')", True),
    Case("is_empty(tags)", False),
    Case("is_empty([])", True),
    Case("date('2024-02-29')", date(2024, 2, 29)),
    Case("year(start)", 2024),
    Case("month(end)", 5),
    Case("day(end)", 31),
    Case("day(submitted_at)", 31),
    Case("add_days(end, 1)", date(2024, 6, 1)),
    Case("add_days(start, -1)", date(2024, 4, 30)),
    Case("days_between(start, end)", 30),
    Case("days_between(end, $today)", 15),
    Case("text(total)", "1234.56"),
    Case("text(start)", "2024-05-01"),
    Case("text(urgent)", "true"),
    Case("text(approved)", None),
    Case("min(total, budget)", D("1234.56")),
    Case("max(qty, 2.5)", D("3")),
    Case("coalesce(approved, null, urgent)", True),
    Case("coalesce(total, 0)", D("0"), scope={}),
    Case("if(urgent, 1, 2.5)", D("1")),
    Case("upper(null)", None),
    *_kleene_cases(),
]
# a field the form has but the data lacks reads as null
CASES.append(
    Case("approved is null and total is null and category is not null", True, scope={"category": "x"})
)
