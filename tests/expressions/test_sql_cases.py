"""The shared case table through the SQL back end: the same values as the Python back end."""

from __future__ import annotations

import pytest

from formwork.expressions import SqlTranslationError, TypeEnv, compile_expression, compile_sql

from .cases import CASES, CONTEXT, FIELDS, Case
from .sql_harness import COLUMNS, row

ENV = TypeEnv(FIELDS)
# Cases SQL refuses on purpose (each refusal is asserted in test_sql_refusals.py), and values
# that are lists (SQL gives one value per row; lists are only aggregated).
REFUSED = {"upper(category)", "lower('ABC')", "upper(null)", "day(submitted_at)"}
SQL_CASES = [
    c
    for c in CASES
    if c.row is None
    and "sql" in c.backends
    and not isinstance(c.expected, list)
    and c.expression not in REFUSED
]


@pytest.mark.parametrize("case", SQL_CASES, ids=[c.id for c in SQL_CASES])
def test_case_in_sql(database, case: Case) -> None:
    database.replace([row(1, case.scope)])
    compiled = compile_expression(case.expression, ENV)
    translated = compile_sql(compiled, ENV, COLUMNS, database.dialect)
    result = database.value(translated, CONTEXT)
    assert result == case.expected
    assert type(result) is type(case.expected), f"{result!r} should be a {type(case.expected).__name__}"


@pytest.mark.parametrize("expression", sorted(REFUSED))
def test_refused_cases_name_the_function(expression: str) -> None:
    with pytest.raises(SqlTranslationError):
        compile_sql(expression, ENV, COLUMNS, "postgresql")
