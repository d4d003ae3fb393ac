"""The SQL back end as a data-scope filter: rows chosen by SQL are the rows Python accepts."""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal as D
from typing import Any

import pytest
import sqlalchemy as sa

from formwork.expressions import T, TypeEnv, compile_expression
from formwork.expressions.sql_backend import SCOPE_CONTEXT, compile_sql, compile_sql_filter

from .sql_harness import COLUMNS, TABLE, row, typed_value

LINE = T.RecordOf({"amount": T.MONEY, "kind": T.TEXT, "taxable": T.BOOLEAN})
FIELDS: dict[str, T.Type] = {
    "total": T.MONEY,
    "rate": T.DECIMAL,
    "qty": T.INTEGER,
    "name": T.TEXT,
    "day": T.DATE,
    "at": T.DATETIME,
    "urgent": T.BOOLEAN,
    "payee": T.USER,
    "tags": T.ListOf(T.TEXT),
    "lines": T.ListOf(LINE),
}
ENV = TypeEnv(FIELDS, context=SCOPE_CONTEXT)
USER = {
    "id": 7,
    "username": "li.na",
    "department": 3,
    "roles": ["staff", "finance"],
    "managed_departments": [4, 5],
}
CONTEXT: dict[str, Any] = {
    "user": USER,
    "user.department.descendants": [3, 8, 9],
    "today": date(2024, 6, 15),
    "now": datetime(2024, 6, 15, 9, 0, tzinfo=timezone.utc),
}
CREATED = datetime(2024, 5, 1, 9, 0, tzinfo=timezone.utc)

RECORDS: list[dict[str, Any]] = [
    row(1, {"total": D("0.30"), "rate": D("0.1"), "qty": 3, "name": "Zoë", "day": date(2024, 5, 31)}),
    row(2, {"total": D("10000.00"), "qty": 0, "name": "zebra", "urgent": True}, status="approved"),
    row(3, {"total": D("9999.99"), "name": "Ábel", "tags": ["a", "b"]}, department_id=8, owner_id=8),
    row(4, {"lines": [], "name": "", "total": None}, department_id=None, owner_id=9),
    row(
        5,
        {
            "total": D("12.50"),
            "lines": [
                {"amount": D("0.10"), "kind": "taxi", "taxable": True},
                {"amount": D("0.20"), "kind": "meal", "taxable": None},
                None,
            ],
            "at": datetime(2024, 6, 15, 8, 59, 59, 999999, tzinfo=timezone.utc),
        },
        department_id=5,
        status="approved",
    ),
    # decimals stored as JSON numbers (older data, imports) read exactly too
    row(6, {"total": D("0.1"), "rate": D("0.2"), "qty": 1}, numbers_as_json=True, department_id=9),
    row(7, {"name": "汇总", "tags": None, "lines": None, "day": date(2024, 6, 15)}, form_key="purchase"),
]


def _python_ids(expression: str) -> set[int]:
    compiled = compile_expression(expression, ENV, expected=T.BOOLEAN)
    ids = set()
    for record in RECORDS:
        scope = _python_scope(record["data"])
        context = {
            **CONTEXT,
            "record": {
                "id": record["id"],
                "form": record["form_key"],
                "status": record["status"],
                "owner": record["owner_id"],
                "department": record["department_id"],
                "created": record["created_at"],
                "submitted": record["submitted_at"],
            },
        }
        if compiled.test(scope, None, context):
            ids.add(record["id"])
    return ids


def _python_scope(data: dict[str, Any]) -> dict[str, Any]:
    return {key: typed_value(value, FIELDS[key]) for key, value in data.items()}


@pytest.fixture(scope="module")
def loaded(database):
    database.replace(RECORDS)
    return database


FILTERS = [
    # exact decimals: 0.1 + 0.2 is 0.3 in both databases, whatever JSON type holds the number
    ("total == 0.1 + 0.2", {1}),
    ("rate + 0.2 == 0.3", {1}),
    ("total + rate == 0.3", {6}),
    ("total >= 10000", {2}),
    ("total > 9999.99", {2}),
    ("total * 3 == 0.90", {1}),
    ("total / 3 == 0.1", {1}),
    ("total / qty > 0.09", {1, 6}),
    ("round(total / 3, 2) == 0.10", {1}),
    # nulls: comparisons with an empty field fail, and so does their negation
    ("total > 0", {1, 2, 3, 5, 6}),
    ("not (total > 0)", set()),
    ("total is null", {4, 7}),
    ("urgent or total < 1", {1, 2, 6}),
    ("not urgent", set()),
    ("coalesce(urgent, false) == false", {1, 3, 4, 5, 6, 7}),
    # text: code point order, not the database's locale
    ("name < 'a'", {1, 4}),
    ("name > 'zebra'", {3, 7}),  # 'Á' (U+00C1) sorts after 'z', as in Python
    ("len(name) == 3", {1}),
    ("contains(name, 'ë')", {1}),
    ("startswith(name, '汇')", {7}),
    ("endswith(name, '')", {1, 2, 3, 4, 7}),  # every text ends with nothing; a null name stays null
    ("not endswith(name, '')", set()),
    ("endswith(name, 'ra')", {2}),
    ("is_empty(name)", {4, 5, 6}),
    # dates and instants
    ("day < $today", {1}),
    ("day == today()", {7}),
    ("add_days(day, 15) == $today", {1}),
    ("days_between(day, $today) == 15", {1}),
    ("at < $now", {5}),
    ("year(day) == 2024 and month(day) == 5", {1}),
    # membership
    ("name in ['zebra', 'Zoë']", {1, 2}),
    ("name not in ['zebra', 'Zoë']", {3, 4, 7}),
    ("'a' in tags", {3}),
    ("'z' not in tags", {3}),
    ("contains(tags, 'b')", {3}),
    # line items: empty, absent, null rows, null values
    ("sum(lines.amount) == 0.3", {5}),
    ("sum(lines.amount) == 0", {1, 2, 3, 4, 6, 7}),
    ("count(lines) == 2", {5}),
    ("any(lines.taxable)", {5}),
    ("all(lines.taxable)", {1, 2, 3, 4, 5, 6, 7}),
    ("'meal' in lines.kind", {5}),
    ("'hotel' not in lines.kind", {1, 2, 3, 4, 6, 7}),
    ("max(lines.amount) == 0.2 and min(lines.amount) == 0.1", {5}),
    ("avg(lines.amount) == 0.15", {5}),
    ("lines[1].kind == 'meal'", {5}),
    ("lines[2].kind is null and lines[0] is not null", {5}),
    # the record's columns and the signed-in user's bound values
    ("$record.status == 'approved'", {2, 5}),
    ("$record.owner == $user.id", {1, 2, 5, 6, 7}),
    ("$record.department == $user.department", {1, 2, 7}),
    ("$record.department in $user.department.descendants", {1, 2, 3, 6, 7}),
    ("$record.department in $user.managed_departments or $record.owner == $user.id", {1, 2, 5, 6, 7}),
    ("$record.department not in $user.managed_departments", {1, 2, 3, 6, 7}),
    ("'finance' in $user.roles and $record.form == 'purchase'", {7}),
    ("'cashier' in $user.roles", set()),
    ("$record.created < $now and $record.id > 5", {6, 7}),
    ("$record.status == 'approved' and total >= 10000", {2}),
]


@pytest.mark.parametrize(("expression", "expected"), FILTERS, ids=[f[0] for f in FILTERS])
def test_filter_selects_what_python_accepts(loaded, expression: str, expected: set[int]) -> None:
    assert _python_ids(expression) == expected
    translated = compile_sql_filter(expression, ENV, COLUMNS, loaded.dialect)
    assert loaded.matching(translated, CONTEXT) == expected


def test_a_compiled_filter_is_bound_per_request(loaded) -> None:
    translated = compile_sql_filter(
        "$record.department in $user.department.descendants", ENV, COLUMNS, loaded.dialect
    )
    assert translated.context_references == {"$user.department.descendants"}
    assert loaded.matching(translated, {"user.department.descendants": [5]}) == {5}
    assert loaded.matching(translated, {"user.department.descendants": []}) == set()
    # a user with no department tree given: unknown, so nothing — not everything
    assert loaded.matching(translated, {}) == set()
    negated = compile_sql_filter(
        "not ($record.department in $user.department.descendants)", ENV, COLUMNS, loaded.dialect
    )
    assert loaded.matching(negated, {"user.department.descendants": []}) == {1, 2, 3, 5, 6, 7}
    assert loaded.matching(negated, {"user.department.descendants": [3]}) == {3, 5, 6}
    assert loaded.matching(negated, {}) == set()


def test_user_values_are_bound_parameters_never_sql_text(loaded) -> None:
    hostile = "x'); DROP TABLE expression_records; --"
    translated = compile_sql_filter("$user.username == name", ENV, COLUMNS, loaded.dialect)
    assert loaded.matching(translated, {"user": {"username": hostile}}) == set()
    sql = str(translated.bind({"user": {"username": hostile}}).compile(loaded.engine))
    assert "DROP" not in sql
    assert loaded.matching(translated, {"user": {"username": "zebra"}}) == {2}


def test_measure_sums_money_exactly_over_records(loaded) -> None:
    """A KPI-style measure: the SQL sum of an expression equals the Python sum, to the cent."""
    measure = compile_sql("coalesce(total, 0) + sum(lines.amount)", ENV, COLUMNS, loaded.dialect)
    python = compile_expression("coalesce(total, 0) + sum(lines.amount)", ENV)
    with loaded.connect() as conn:
        values = conn.execute(sa.select(TABLE.c.id, measure.bind(CONTEXT)).order_by(TABLE.c.id)).all()
    for record, (record_id, value) in zip(RECORDS, values, strict=True):
        assert record_id == record["id"]
        assert measure.read(value) == python.evaluate(_python_scope(record["data"]), None, CONTEXT)
    assert measure.read(values[4][1]) == D("12.80")


BIG = [
    ("total == 12345678901234567.89", True),
    ("total > 12345678901234567.88", True),
    ("total - 12345678901234567 == 0.89", True),
    ("total * 100 % 100 == 89", True),
    ("round(total, 1) == 12345678901234567.9", True),
    ("total / 3 == 4115226300411522.63", True),
    ("total / 7 > 1763668414462081.12", True),
    ("text(total)", "12345678901234567.89"),
    ("sum(lines.amount)", D("0.30")),
    ("text(sum(lines.amount))", "0.30"),
    ("text(7 / 2)", "3.5"),
    ("1 / 3", D("0.33333333333333333333333333333333333333")),
    ("-2 / 3", D("-0.66666666666666666666666666666666666667")),
    ("1 / 3 + 1000000", D("1000000.3333333333333333333333333333333")),
]


NEAR_TIES = [
    ("rate > 0.3", True),
    ("rate == 0.3", False),
    ("rate < 0.30000000000000002", True),
    ("rate >= 0.30000000000000001", True),
    ("rate > 0.29999999999999999", True),
    ("rate != 0.30000000000000001", False),
]


@pytest.mark.parametrize(("expression", "expected"), NEAR_TIES, ids=[n[0] for n in NEAR_TIES])
def test_decimals_a_float_cannot_tell_apart(database, expression: str, expected: bool) -> None:
    """0.30000000000000001 and 0.3 are the same binary float; the comparison stays exact."""
    database.replace([row(1, {"rate": D("0.30000000000000001")})])
    assert compile_expression(expression, ENV).evaluate({"rate": D("0.30000000000000001")}) is expected
    assert database.matching(compile_sql_filter(expression, ENV, COLUMNS, database.dialect), {}) == (
        {1} if expected else set()
    )


@pytest.mark.parametrize(("expression", "expected"), BIG, ids=[b[0] for b in BIG])
def test_large_money_and_quotients_are_exact(database, expression: str, expected: Any) -> None:
    """Amounts past a binary float's 15-16 digits, and quotients at Python's 38 significant digits."""
    lines = [{"amount": D("0.10")}, {"amount": D("0.10")}, {"amount": D("0.10")}]
    scope = {"total": D("12345678901234567.89"), "lines": lines}
    database.replace([row(1, scope)])
    python = compile_expression(expression, ENV).evaluate(_python_scope(row(1, scope)["data"]), None, CONTEXT)
    assert python == expected
    assert database.value(compile_sql(expression, ENV, COLUMNS, database.dialect), CONTEXT) == expected
