"""The same conditions through the Python evaluator and through durable-rules: identical answers.

A condition fires in the engine exactly when the Python evaluator's result is ``true``
(null counts as false). Every case runs against several data sets, including empty data.
"""

from __future__ import annotations

import itertools
from datetime import date, datetime, timezone
from decimal import Decimal as D
from typing import Any

import pytest

from expressions.cases import CASES, CONTEXT, FIELDS, SCOPE
from formwork.expressions import ExpressionError, T, TypeEnv, compile_expression
from formwork.rules import RulesEngineError, compile_ruleset
from formwork.rules.engine import RulesEngine

ENV = TypeEnv(FIELDS)
_names = itertools.count()

VARIANTS: list[dict[str, Any]] = [
    {},
    {
        **SCOPE,
        "total": D("50000.00"),
        "category": "meal",
        "approved": True,
        "urgent": False,
        "qty": None,
        "start": date(2024, 6, 1),
        "lines": [{"amount": D("0.005"), "kind": "taxi"}],
    },
    {
        **SCOPE,
        "total": D("-0.01"),
        "category": "",
        "approved": False,
        "urgent": None,
        "owner": 8,
        "dept": None,
        "tags": [],
        "lines": None,
        "end": None,
        "rate": D("0.0600001"),
    },
]


@pytest.fixture(scope="module")
def engine() -> RulesEngine:
    return RulesEngine()


def _boolean_cases() -> list[Any]:
    picked = []
    for case in CASES:
        if "rules" not in case.backends or case.row is not None:
            continue
        compiled = compile_expression(case.expression, ENV)
        if compiled.type in (T.BOOLEAN, T.NULL):
            picked.append(pytest.param(case.expression, case.scope, id=case.id))
    return picked


def _check(
    engine: RulesEngine,
    env: TypeEnv,
    expression: str,
    scopes: list[dict[str, Any]],
    context: dict[str, Any] | None = CONTEXT,
) -> None:
    python = compile_expression(expression, env, expected=T.BOOLEAN)
    name = f"parity_{next(_names)}_v1"
    engine.register(compile_ruleset(name, {"rule": expression}, env))
    for scope in scopes:
        try:
            expected = python.test(scope, None, context)
        except ExpressionError:
            with pytest.raises(RulesEngineError):  # data Python cannot evaluate fails in the engine too
                engine.evaluate(name, scope, context)
            continue
        got = "rule" in engine.evaluate(name, scope, context)
        assert got == expected, f"{expression!r} on {scope!r}: engine {got}, Python {expected}"


@pytest.mark.parametrize(("expression", "scope"), _boolean_cases())
def test_shared_cases_agree(engine: RulesEngine, expression: str, scope: dict[str, Any]) -> None:
    _check(engine, ENV, expression, [scope, *VARIANTS])


def test_shared_table_has_boolean_cases() -> None:
    assert len(_boolean_cases()) > 40


LINE = T.RecordOf({"amount": T.MONEY, "kind": T.TEXT, "day": T.DATE})
ROUTE_ENV = TypeEnv(
    {
        "amount": T.MONEY,
        "category": T.TEXT,
        "department": T.DEPARTMENT,
        "owner": T.USER,
        "urgent": T.BOOLEAN,
        "rate": T.DECIMAL,
        "qty": T.INTEGER,
        "due": T.DATE,
        "sent": T.DATETIME,
        "lines": T.ListOf(LINE),
        "note": T.TEXT,
    }
)
ROUTE_CONDITIONS = [
    "amount < 1000",
    "amount >= 1000 and amount < 10000",
    "amount >= 10000",
    "amount == 999.99",
    "amount != 0",
    "amount <= 0.01",
    "amount > -5",
    "not (amount < 1000)",
    "amount in [100, 200.50]",
    "amount not in [100, null]",
    "amount not in [100]",
    "category in ['travel', 'meal']",
    "category not in ['travel', 'meal']",
    "category == ''",
    "category < 'm'",
    "category >= 'travel'",
    "not category in ['travel']",
    "department == 3",
    "department in [3, 4]",
    "department != 3",
    "owner == $user.id",
    "department == $user.department",
    "amount is null",
    "amount is not null",
    "not (amount is null)",
    "category == null",
    "urgent",
    "not urgent",
    "urgent == false",
    "urgent != true",
    "urgent and amount > 100",
    "urgent or amount > 100",
    "not (urgent or amount > 100)",
    "not (urgent and amount > 100)",
    "(category == 'travel' and amount > 5000) or (category == 'meal' and amount > 500) or urgent",
    "not ((category == 'travel' or department == 3) and (amount > 100 or urgent))",
    "sum(lines.amount) > 10000",
    "sum(lines.amount) >= amount",
    "count(lines) >= 3",
    "max(lines.amount) > 5000",
    "avg(lines.amount) < 50",
    "'taxi' in lines.kind",
    "amount * 2 > 1000",
    "round(amount, 0) == 1000",
    "amount / qty > 10",
    "rate > 0.05",
    "rate <= 0.0000005",
    "qty == 3.0",
    "qty == 3.5",
    "qty > 2.5",
    "qty in [1, 2, 3]",
    "due < date('2024-06-01')",
    "due >= date('2024-06-01')",
    "due < $today",
    "days_between(due, $today) > 30",
    "sent is not null and year(sent) == 2024",
    "upper(category) == 'TRAVEL'",
    "contains(note, 'urgent')",
    "len(note) > 5",
    "note < 'b'",
    "note == 'a\\tb'",
    "true",
    "false",
    "null",
    "not null",
    "true and null",
    "coalesce(urgent, false) == false",
    "if(urgent, amount > 10, amount > 1000)",
    "amount > 100000000000000000000",
    "amount < -100000000000000000000",
    "amount > 0.001",
    "amount + null > 5",
    "category in []",
    "category not in []",
    # The engine orders strings by their JSON-escaped text; ordering must still follow code points.
    "'S' > note",
    "note >= 'a\"'",
    "note < 'a\\\\'",
    "note <= '\x07'",
    "note != 'a\"b'",
]
ROUTE_SCOPES: list[dict[str, Any]] = [
    {},
    {
        "amount": D("999.99"),
        "category": "travel",
        "department": 3,
        "owner": 7,
        "urgent": True,
        "rate": D("0.06"),
        "qty": 3,
        "due": date(2024, 5, 1),
        "sent": datetime(2024, 5, 2, 8, tzinfo=timezone.utc),
        "note": "urgent!",
        "lines": [{"amount": D("6000.00"), "kind": "taxi"}, {"amount": None, "kind": "meal"}],
    },
    {
        "amount": D("1000.00"),
        "category": "meal",
        "department": 4,
        "owner": 8,
        "urgent": False,
        "rate": D("0.05"),
        "qty": 0,
        "due": date(2024, 6, 1),
        "note": "a\tb",
        "lines": [],
    },
    {
        "amount": D("100.005"),
        "category": "",
        "department": None,
        "urgent": None,
        "rate": D("0.0000005"),
        "qty": 2,
        "note": "a\x00b",
        "lines": [{"amount": D("20000")}] * 3,
    },
    {"amount": D("-0.001"), "category": "Travel", "note": "b", "qty": None},
    {"amount": D("1E+40"), "category": "zz\u4e2d", "rate": D("-1E-30"), "note": "\x01"},
    {"amount": D("-123456789012345678901234567890"), "category": "travel", "urgent": False},
    {"amount": D("200.50"), "qty": 1, "department": 3, "due": date(2024, 7, 20)},
    {"amount": D("100"), "department": 3, "category": "travel"},
    {"amount": D("0.01"), "department": 3, "urgent": True},
    {"note": "\x08\x07\u00c0"},
    {"note": 'a"b'},
    {"note": "a#"},
    {"note": "a\\"},
]


@pytest.mark.parametrize("expression", ROUTE_CONDITIONS)
def test_routing_conditions_agree(engine: RulesEngine, expression: str) -> None:
    _check(engine, ROUTE_ENV, expression, ROUTE_SCOPES)


def test_one_ruleset_fires_every_matching_rule(engine: RulesEngine) -> None:
    rules = {f"c{i}": expression for i, expression in enumerate(ROUTE_CONDITIONS)}
    engine.register(compile_ruleset("parity_all_v1", rules, ROUTE_ENV))
    compiled = {name: compile_expression(src, ROUTE_ENV, expected=T.BOOLEAN) for name, src in rules.items()}
    for scope in ROUTE_SCOPES:
        try:
            expected = {name for name, expr in compiled.items() if expr.test(scope, None, CONTEXT)}
        except ExpressionError:
            continue
        assert engine.evaluate("parity_all_v1", scope, CONTEXT) == expected
