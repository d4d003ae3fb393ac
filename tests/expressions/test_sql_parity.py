"""Property test: for generated expressions and records, SQL and Python give the same answer.

Expressions are drawn from a small typed grammar over every kind of field (money, decimals,
integers, text with non-ASCII, dates, booleans, line items, a list field, the record's columns
and bound ``$user`` values), so almost every draw type-checks. For each draw the filter must
select exactly the records ``CompiledExpression.test`` accepts, and a numeric or text measure
must give the same value for every record. SQLite runs by default; PostgreSQL with
``./dev test --postgres URL``.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from formwork.expressions import ExpressionError, T, TypeEnv, compile_expression
from formwork.expressions.sql_backend import SCOPE_CONTEXT, compile_sql, compile_sql_filter

from .sql_harness import COLUMNS, row, typed_value

LINE = T.RecordOf({"amount": T.MONEY, "kind": T.TEXT, "taxable": T.BOOLEAN})
FIELDS: dict[str, T.Type] = {
    "total": T.MONEY,
    "rate": T.DECIMAL,
    "qty": T.INTEGER,
    "n": T.INTEGER,
    "name": T.TEXT,
    "day": T.DATE,
    "urgent": T.BOOLEAN,
    "tags": T.ListOf(T.TEXT),
    "lines": T.ListOf(LINE),
}
ENV = TypeEnv(FIELDS, context=SCOPE_CONTEXT)
CONTEXT: dict[str, Any] = {
    "user": {"id": 7, "username": "li.na", "department": 3, "roles": ["staff"], "managed_departments": [5]},
    "user.department.descendants": [3, 8],
    "today": date(2024, 6, 15),
}
TEXTS = ["", "a", "Zoë", "zebra", "Ábel", "汇总", " a ", "a\u3000", "travel", "ß"]
DECIMAL_TEXTS = ["0", "0.1", "0.2", "0.3", "-1.25", "2.50", "3", "9999.99", "10000", "0.07", "-0.5"]

# -- records ---------------------------------------------------------------------------------
money = (
    st.sampled_from(DECIMAL_TEXTS).map(D)
    | st.sampled_from(DECIMAL_TEXTS).map(D)
    | st.decimals(min_value=-(10**9), max_value=10**9, places=2, allow_nan=False, allow_infinity=False)
)
decimal = st.sampled_from(DECIMAL_TEXTS).map(D) | st.decimals(
    min_value=-1000, max_value=1000, places=4, allow_nan=False, allow_infinity=False
)
integer = st.integers(-5, 20) | st.integers(-(10**12), 10**12)
# Any text a record can hold: PostgreSQL stores no NUL character, and JSON no lone surrogate.
text = st.sampled_from(TEXTS) | st.text(
    st.characters(exclude_characters="\x00", exclude_categories=("Cs",)), max_size=6
)
day = st.dates(min_value=date(2000, 1, 1), max_value=date(2030, 12, 31))
line = st.none() | st.fixed_dictionaries(
    {},
    optional={"amount": st.none() | money, "kind": st.none() | text, "taxable": st.none() | st.booleans()},
)
data = st.fixed_dictionaries(
    {},
    optional={
        "total": st.none() | money,
        "rate": st.none() | decimal,
        "qty": st.none() | integer,
        "n": st.none() | st.integers(-3, 3),
        "name": st.none() | text,
        "day": st.none() | day,
        "urgent": st.none() | st.booleans(),
        "tags": st.none() | st.lists(st.none() | text, max_size=3),
        "lines": st.none() | st.lists(line, max_size=3),
    },
)
record = st.tuples(
    data,
    st.sampled_from(["draft", "submitted", "approved"]),
    st.sampled_from([3, 5, 8, 9, None]),
    st.sampled_from([7, 8]),
    st.booleans(),
)

# -- expressions -----------------------------------------------------------------------------
NUM_LEAVES = [
    "total",
    "rate",
    "qty",
    "n",
    "sum(lines.amount)",
    "count(lines)",
    "max(lines.amount)",
    "min(lines.amount)",
    "avg(lines.amount)",
    "lines[0].amount",
    "len(name)",
    "len(tags)",
    "count(tags)",
    "coalesce(total, 0)",
    "year(day)",
    "days_between(day, $today)",
    *DECIMAL_TEXTS,
    "7",
    "-2",
]
PLAIN = ["qty", "n", "rate", "2", "3", "0.5", "count(lines)", "len(name)"]  # never money
TEXT_LEAVES = [
    "name",
    "lines[0].kind",
    "trim(name)",
    "concat(name, '-', qty)",
    "text(total)",
    "$record.status",
]
TEXT_LEAVES += [repr(t) if "\u3000" not in t else "'a\u3000'" for t in TEXTS]
DATE_LEAVES = ["day", "$today", "add_days(day, 30)", "date('2024-06-15')", "add_days($today, -n)"]


def _num(depth: int) -> st.SearchStrategy[str]:
    leaf = st.sampled_from(NUM_LEAVES)
    if depth <= 0:
        return leaf
    sub = _num(depth - 1)
    plain = st.sampled_from(PLAIN)
    return st.one_of(
        leaf,
        st.tuples(sub, st.sampled_from(["+", "-"]), sub).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(sub, st.sampled_from(["*", "/", "%"]), plain).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        sub.map(lambda s: f"-{s}"),
        st.tuples(sub, st.integers(-2, 3)).map(lambda t: f"round({t[0]}, {t[1]})"),
        sub.map(lambda s: f"abs({s})"),
        st.tuples(st.sampled_from(["floor", "ceil"]), sub).map(lambda t: f"{t[0]}({t[1]})"),
        st.tuples(st.sampled_from(["min", "max", "coalesce"]), sub, sub).map(
            lambda t: f"{t[0]}({t[1]}, {t[2]})"
        ),
        st.tuples(_bool(depth - 1), sub, sub).map(lambda t: f"if({t[0]}, {t[1]}, {t[2]})"),
    )


def _text(depth: int) -> st.SearchStrategy[str]:
    leaf = st.sampled_from(TEXT_LEAVES)
    if depth <= 0:
        return leaf
    sub = _text(depth - 1)
    return st.one_of(
        leaf,
        st.tuples(sub, sub).map(lambda t: f"({t[0]} + {t[1]})"),
        st.tuples(sub, sub).map(lambda t: f"coalesce({t[0]}, {t[1]})"),
    )


def _bool(depth: int) -> st.SearchStrategy[str]:
    num, txt, dt = _num(max(depth - 1, 0)), _text(max(depth - 1, 0)), st.sampled_from(DATE_LEAVES)
    op = st.sampled_from(["==", "!=", "<", "<=", ">", ">="])
    leaves = st.one_of(
        st.sampled_from(
            [
                "urgent",
                "true",
                "false",
                "null",
                "any(lines.taxable)",
                "all(lines.taxable)",
                "is_empty(name)",
                "is_empty(tags)",
                "tags is null",
                "lines[1] is null",
                "$record.department in $user.department.descendants",
                "$record.department in $user.managed_departments",
                "$record.owner == $user.id",
                "$record.department == $user.department",
                "'staff' in $user.roles",
                "$record.status in ['approved', 'submitted']",
                # exact-decimal equalities that records hit often (the values come from DECIMAL_TEXTS)
                "total == 0.1 + 0.2",
                "rate + 0.2 == 0.3",
                "total == rate",
                "total >= 9999.99",
                "sum(lines.amount) == total",
                "max(lines.amount) <= 0.3",
                "qty == total",
            ]
        ),
        st.tuples(num, op, num).map(lambda t: f"{t[0]} {t[1]} {t[2]}"),
        st.tuples(txt, op, txt).map(lambda t: f"{t[0]} {t[1]} {t[2]}"),
        st.tuples(dt, op, dt).map(lambda t: f"{t[0]} {t[1]} {t[2]}"),
        st.tuples(num, st.sampled_from(["is null", "is not null"])).map(lambda t: f"{t[0]} {t[1]}"),
        st.tuples(txt, st.sampled_from(["in", "not in"]), st.sampled_from(["tags", "lines.kind"])).map(
            lambda t: f"{t[0]} {t[1]} {t[2]}"
        ),
        st.tuples(
            num, st.sampled_from(["in", "not in"]), st.sampled_from(["[0.3, 1, null]", "[3, 10000]", "[]"])
        ).map(lambda t: f"{t[0]} {t[1]} {t[2]}"),
        st.tuples(st.sampled_from(["contains", "startswith", "endswith"]), txt, txt).map(
            lambda t: f"{t[0]}({t[1]}, {t[2]})"
        ),
        st.tuples(txt).map(lambda t: f"contains(tags, {t[0]})"),
    )
    if depth <= 0:
        return leaves
    sub = _bool(depth - 1)
    return st.one_of(
        leaves,
        st.tuples(sub, st.sampled_from(["and", "or"]), sub).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        sub.map(lambda s: f"not ({s})"),
        st.tuples(sub, sub, sub).map(lambda t: f"if({t[0]}, {t[1]}, {t[2]})"),
    )


def _python_context(record_row: dict[str, Any]) -> dict[str, Any]:
    return {
        **CONTEXT,
        "record": {
            "id": record_row["id"],
            "status": record_row["status"],
            "owner": record_row["owner_id"],
            "department": record_row["department_id"],
            "form": record_row["form_key"],
        },
    }


def _rows(records: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
    return [
        row(i + 1, d, numbers_as_json=as_json, status=status, department_id=dept, owner_id=owner)
        for i, (d, status, dept, owner, as_json) in enumerate(records)
    ]


def _stored(record_row: dict[str, Any]) -> dict[str, Any]:
    """What the Python back end is given for a saved record: its JSON read back with the field
    types (a decimal saved as the JSON number 0 reads as 0, not 0.00)."""
    return {key: typed_value(value, FIELDS[key]) for key, value in record_row["data"].items()}


def _compile(source: str, **kw: Any) -> Any:
    try:
        return compile_expression(source, ENV, **kw)
    except ExpressionError:
        assume(False)


def _evaluate(compiled: Any, scope: dict[str, Any], context: dict[str, Any]) -> Any:
    try:
        return compiled.evaluate(scope, None, context)
    except ExpressionError:
        assume(False)  # e.g. a text result over the length limit: the SQL back end has no such limit


PARITY = settings(
    max_examples=50,  # per database and test, to keep CI within its time; raise it for a deeper run
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.function_scoped_fixture,
    ],
)


@PARITY
@given(st.lists(record, min_size=1, max_size=5), _bool(3))
def test_filters_select_what_python_accepts(database, records: list[tuple[Any, ...]], source: str) -> None:
    compiled = _compile(source, expected=T.BOOLEAN)
    rows = _rows(records)
    expected = set()
    for r in rows:
        if _evaluate(compiled, _stored(r), _python_context(r)) is True:
            expected.add(r["id"])
    database.replace(rows)
    translated = compile_sql_filter(compiled, ENV, COLUMNS, database.dialect)
    assert database.matching(translated, CONTEXT) == expected, source


@PARITY
@given(st.lists(record, min_size=1, max_size=3), _num(3) | _text(2))
def test_values_are_the_same(database, records: list[tuple[Any, ...]], source: str) -> None:
    compiled = _compile(source)
    rows = _rows(records)
    database.replace(rows)
    translated = compile_sql(compiled, ENV, COLUMNS, database.dialect)
    for r in rows:
        scope = _stored(r)
        python = _evaluate(compiled, scope, _python_context(r))
        sql = database.value(translated, CONTEXT, r["id"])
        assert sql == python, (source, scope)
        if isinstance(python, str) and "/" not in source and "avg" not in source:
            assert sql == python  # text, including decimals as text, is the same character for character
