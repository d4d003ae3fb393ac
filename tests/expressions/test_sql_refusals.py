"""What the SQL back end refuses, and how: a SqlTranslationError naming the function or construct,
raised when the expression is translated (or checked at publish) — never a silent Python fallback."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from formwork.expressions import (
    ExpressionTypeError,
    FunctionSpec,
    T,
    TypeEnv,
    builtin_functions,
    check_sql,
    compile_expression,
    compile_sql,
    compile_sql_filter,
)
from formwork.expressions.spec import arity
from formwork.expressions.sql_backend import SCOPE_CONTEXT
from formwork.expressions.sql_values import SqlCall, SqlTranslationError

from .sql_harness import COLUMNS, row

LINE = T.RecordOf({"amount": T.MONEY, "kind": T.TEXT})
FIELDS: dict[str, T.Type] = {
    "total": T.MONEY,
    "name": T.TEXT,
    "day": T.DATE,
    "at": T.DATETIME,
    "lines": T.ListOf(LINE),
    "places": T.INTEGER,
}
ENV = TypeEnv(FIELDS, context=SCOPE_CONTEXT)


def _double_rule(args):
    arity(args, "double", 1)
    return args[0]


def _translate_double(call: SqlCall):
    if call.dialect == "sqlite":
        return sa.func.fw_mul(call.args[0], "2", type_=sa.String())
    return call.args[0] * 2


PLUGIN_WITHOUT_SQL = FunctionSpec("shout", lambda args: T.TEXT, lambda t: t.upper() + "!")
PLUGIN_WITH_SQL = FunctionSpec("double", _double_rule, lambda x: x * 2, sql=_translate_double)
FUNCTIONS = {**builtin_functions(), "shout": PLUGIN_WITHOUT_SQL, "double": PLUGIN_WITH_SQL}

REFUSED = [
    ("upper(name) == 'A'", "upper()"),
    ("lower(name) == 'a'", "lower()"),
    ("shout(name) == 'A!'", "shout()"),
    ("round(total, places) > 1", "round()"),
    ("round(total, 19) > 1", "round()"),
    ("date(name) < day", "date()"),
    ("date('2024-02-30') < day", "date()"),
    ("year(at) == 2024", "year()"),
    ("day(at) == 1", "day()"),
    ("days_between(at, $now) > 3", "days_between()"),
    ("text(at) == 'x'", "text()"),
    ("sum([total, 1]) > 3", "sum()"),
    ("len($user.roles) > 1", "length of a list bound from the context"),
]


@pytest.mark.parametrize(("expression", "named"), REFUSED, ids=[r[0] for r in REFUSED])
def test_refused_with_the_name_of_the_function(expression: str, named: str) -> None:
    compile_expression(expression, ENV, FUNCTIONS)  # fine for the Python back end
    with pytest.raises(SqlTranslationError) as caught:
        check_sql(expression, ENV, FUNCTIONS, condition=True)
    assert named in caught.value.message
    assert caught.value.position is not None
    assert caught.value.source == expression


def test_a_function_without_sql_is_refused_in_every_dialect() -> None:
    for dialect in ("postgresql", "sqlite"):
        with pytest.raises(SqlTranslationError, match=r"the function shout\(\) has no SQL translation"):
            compile_sql_filter("shout(name) == 'A!'", ENV, COLUMNS, dialect, FUNCTIONS)


def test_a_plugin_declares_its_sql_translation(database) -> None:
    assert PLUGIN_WITH_SQL.backends == {"python", "sql"}
    assert "sql" not in PLUGIN_WITHOUT_SQL.backends
    assert all(
        spec.sql is not None for name, spec in builtin_functions().items() if name not in ("upper", "lower")
    )
    database.replace([row(1, {"total": Decimal("0.15")})])
    translated = compile_sql("double(total)", ENV, COLUMNS, database.dialect, FUNCTIONS)
    assert database.value(translated, {}) == Decimal("0.30")


def test_row_names_are_refused() -> None:
    env = TypeEnv(FIELDS, row={"amount": T.MONEY}, row_name="lines", context=SCOPE_CONTEXT)
    with pytest.raises(SqlTranslationError, match="reads the current line-item row"):
        check_sql("amount > 10", env)


def test_a_filter_must_be_a_condition() -> None:
    with pytest.raises(ExpressionTypeError, match="boolean is needed"):
        check_sql("total + 1", ENV, condition=True)
    check_sql("total + 1", ENV)  # a measure is fine


def test_unknown_dialect() -> None:
    with pytest.raises(ValueError, match="no SQL back end for 'mysql'"):
        compile_sql("total > 1", ENV, COLUMNS, "mysql")


def test_text_is_ordered_by_code_point_on_postgresql() -> None:
    """The test database may already use the C collation; the SQL must say so whatever it uses."""
    clause = compile_sql_filter("name < 'b' and name in ['a']", ENV, COLUMNS, "postgresql").clause
    sql = str(clause.compile(dialect=postgresql.dialect()))
    assert sql.count('COLLATE "C"') == 2  # both sides of <, not the equality of in
    assert "COLLATE" not in str(
        compile_sql_filter("name < 'b'", ENV, COLUMNS, "sqlite").clause.compile(dialect=sqlite.dialect())
    )


def test_postgresql_json_paths_can_use_an_expression_index() -> None:
    """``((data ->> 'total')::numeric)`` as an index matches only a path written into the SQL."""
    clause = compile_sql_filter("total >= 10000 and lines[0].kind == 'x'", ENV, COLUMNS, "postgresql").clause
    sql = str(clause.compile(dialect=postgresql.dialect(), compile_kwargs={"render_postcompile": True}))
    assert "CAST(expression_records.data ->> 'total' AS NUMERIC) >= %(" in sql
    assert "((expression_records.data -> 'lines') -> 0) ->> 'kind'" in sql
    assert "10000" not in sql  # values stay bound parameters
