"""The shared case table through the Python back end: values and their Python types."""

from __future__ import annotations

import pytest

from formwork.expressions import TypeEnv, compile_expression

from .cases import CASES, CONTEXT, FIELDS, ROW, Case


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_case(case: Case) -> None:
    env = TypeEnv(FIELDS, row=ROW if case.row is not None else None)
    compiled = compile_expression(case.expression, env)
    result = compiled.evaluate(case.scope, case.row, CONTEXT)
    assert result == case.expected
    assert type(result) is type(case.expected), f"{result!r} should be a {type(case.expected).__name__}"


def test_the_table_is_large_and_covers_null_tables() -> None:
    assert len(CASES) > 120
    assert sum(1 for c in CASES if c.expected is None) >= 15
