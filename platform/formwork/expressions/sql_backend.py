"""The SQL back end: a checked expression → a SQLAlchemy Core expression over the records.

Used for data scopes (``WHERE`` filters) and KPI measures. It means exactly what the Python
back end means — exact decimals, SQL-style nulls, code-point text order — on PostgreSQL and
SQLite (``sql_values`` says how each type is carried). What cannot be translated is refused
with a ``SqlTranslationError`` naming the function or construct; nothing is ever left for
Python to evaluate row by row.

Names resolve as in the language: a field is read from ``records.data``; ``$record.status``,
``$record.owner``, ``$record.department``, ``$record.created``, ``$record.form`` are the
record's own columns; every other ``$`` value (``$user.department``, ``$today``...) is a
bound parameter, filled per request by ``SqlExpression.bind(context)``.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Mapping

import sqlalchemy as sa
from sqlalchemy.sql import visitors
from sqlalchemy.sql.elements import BindParameter

from . import value_types as T
from .checker import Analysis, analyse
from .compiled import CompiledExpression
from .env import DEFAULT_CONTEXT, TypeEnv
from .errors import ExpressionError, ExpressionTypeError
from .limits import DEFAULT_LIMITS
from .parser import parse
from .runtime import context_value
from .spec import FunctionSpec
from .sql_compiler import RECORD_COLUMN_NAMES, ContextParam, RecordColumns, SqlCompiler
from .sql_values import DECIMALS, DIALECTS, PG, Sql
from .sqlite_functions import decimal_text, instant_text

# ``$record``: the record's own columns, as the expression language sees them.
RECORD_TYPE = T.RecordOf(
    {
        "id": T.INTEGER,
        "form": T.TEXT,
        "status": T.TEXT,
        "owner": T.USER,
        "department": T.DEPARTMENT,
        "created": T.DATETIME,
        "submitted": T.DATETIME,
    }
)
# The ``$`` values of a data scope: the signed-in user with their department's subtree (a list
# of ids, resolved when the request runs), the departments they manage, and the record.
SCOPE_CONTEXT: dict[str, T.Type] = {
    **DEFAULT_CONTEXT,
    "user": T.RecordOf(
        {
            "id": T.USER,
            "username": T.TEXT,
            "department": T.DEPARTMENT,
            "roles": T.ListOf(T.TEXT),
            "managed_departments": T.ListOf(T.DEPARTMENT),
        }
    ),
    "user.department.descendants": T.ListOf(T.DEPARTMENT),
    "record": RECORD_TYPE,
}


class SqlExpression:
    """A translated expression for one database.

    ``clause`` has a named bind parameter for each ``$`` value it reads; ``parameters(context)``
    gives their values for one request, ``bind(context)`` the clause with them filled in.
    ``read(value)`` turns a selected value back into the Python value the Python back end
    gives (``Decimal``, ``date``, ``bool``...).
    """

    def __init__(
        self, source: str, clause: Sql, result_type: T.Type, dialect: str, params: list[ContextParam]
    ):
        self.source = source
        self.clause = clause
        self.type = result_type
        self.dialect = dialect
        self._params = params

    @property
    def context_references(self) -> frozenset[str]:
        return frozenset("$" + p.path for p in self._params)

    def parameters(self, context: Mapping[str, Any]) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for p in self._params:
            value = _context_path(context, p.path)
            if p.is_list:
                if value is not None and not isinstance(value, (list, tuple, set, frozenset)):
                    raise ExpressionError(f"${p.path} must be a list")
                items = [] if value is None else [v for v in value if v is not None]
                values[p.key] = [self._param_value(v, p.type) for v in items]
                values[p.key + "_known"] = value is not None
            else:
                values[p.key] = self._param_value(value, p.type)
        return values

    def bind(self, context: Mapping[str, Any]) -> Sql:
        if not self._params:
            return self.clause
        values = self.parameters(context)

        def fill(element: Any, **kw: Any) -> Any:
            if isinstance(element, BindParameter) and element.key in values:
                return sa.bindparam(
                    element.key, values[element.key], type_=element.type, expanding=element.expanding
                )
            return None

        return visitors.replacement_traverse(self.clause, {}, fill)

    def _param_value(self, value: Any, t: T.Type) -> Any:
        if value is None or self.dialect == PG:
            return value
        if t in DECIMALS:
            return decimal_text(Decimal(value))
        if t == T.DATETIME:
            return instant_text(value)
        if t == T.DATE and isinstance(value, date):
            return value.isoformat()
        return value

    def read(self, value: Any) -> Any:
        return read_value(value, self.type)

    def __repr__(self) -> str:
        return f"SqlExpression({self.source!r}, {self.dialect})"


def read_value(value: Any, t: T.Type) -> Any:
    """A value selected from SQL as the Python back end would give it."""
    if value is None:
        return None
    if t in DECIMALS:
        return Decimal(str(value))
    if t in (T.INTEGER, T.USER, T.DEPARTMENT):
        return int(value)
    if t == T.BOOLEAN:
        return bool(value)
    if t == T.DATE:
        return value if isinstance(value, date) else date.fromisoformat(str(value))
    if t == T.DATETIME:
        text = value if isinstance(value, datetime) else instant_text(value)
        moment = text if isinstance(text, datetime) else datetime.fromisoformat(str(text) + "+00:00")
        return moment
    return value


def _context_path(context: Mapping[str, Any], path: str) -> Any:
    if path in context or "$" + path in context:
        return context_value(context, path)
    head, _, rest = path.partition(".")
    value = context_value(context, head)
    for part in rest.split(".") if rest else ():
        if value is None:
            return None
        value = value.get(part) if isinstance(value, Mapping) else getattr(value, part, None)
    return value


# -- entry points ----------------------------------------------------------------------------
def compile_sql(
    expression: str | CompiledExpression | Analysis,
    env: TypeEnv,
    columns: RecordColumns,
    dialect: str,
    functions: Mapping[str, FunctionSpec] | None = None,
    *,
    condition: bool = False,
) -> SqlExpression:
    """Translate ``expression`` for ``dialect`` ("postgresql" or "sqlite").

    ``condition=True`` for a filter: the result must be boolean, and only ``true`` passes (as
    ``CompiledExpression.test``), which lets an ``in`` over a bound list use its index.
    Raises ``ExpressionSyntaxError`` / ``ExpressionTypeError`` for a bad expression and
    ``SqlTranslationError`` for one SQL cannot express.
    """
    if dialect not in DIALECTS:
        raise ValueError(f"no SQL back end for {dialect!r}; use one of {', '.join(DIALECTS)}")
    source, analysis = _analysis(expression, env, functions)
    try:
        if condition and not T.is_assignable(analysis.type, T.BOOLEAN):
            raise ExpressionTypeError(
                f"the expression gives {analysis.type.describe()}, but boolean is needed", 0
            )
        compiler = SqlCompiler(analysis, columns, dialect)
        value = compiler.scalar(analysis.root, truth_only=condition)
    except ExpressionError as exc:
        exc.with_source(source)
        raise
    return SqlExpression(source, value, analysis.type, dialect, list(compiler.params.values()))


def compile_sql_filter(
    expression: str | CompiledExpression | Analysis,
    env: TypeEnv,
    columns: RecordColumns,
    dialect: str,
    functions: Mapping[str, FunctionSpec] | None = None,
) -> SqlExpression:
    """A ``WHERE`` clause: ``compile_sql(..., condition=True)``."""
    return compile_sql(expression, env, columns, dialect, functions, condition=True)


_CHECK_TABLE = sa.Table(
    "records",
    sa.MetaData(),
    sa.Column("id", sa.Integer),
    sa.Column("data", sa.JSON),
    *(sa.Column(c, sa.Text) for c in RECORD_COLUMN_NAMES.values() if c != "id"),
)


def check_sql(
    expression: str | CompiledExpression | Analysis,
    env: TypeEnv,
    functions: Mapping[str, FunctionSpec] | None = None,
    *,
    condition: bool = False,
) -> None:
    """Raise ``SqlTranslationError`` (naming the function or construct) unless ``expression``
    translates on every supported database — what publishing a data scope or KPI calls."""
    for dialect in DIALECTS:
        compile_sql(expression, env, RecordColumns.of(_CHECK_TABLE), dialect, functions, condition=condition)


def _analysis(
    expression: str | CompiledExpression | Analysis,
    env: TypeEnv,
    functions: Mapping[str, FunctionSpec] | None,
) -> tuple[str, Analysis]:
    if isinstance(expression, CompiledExpression):
        return expression.source, expression.analysis
    if isinstance(expression, Analysis):
        return "", expression
    try:
        return expression, analyse(parse(expression, limits=DEFAULT_LIMITS), env, functions)
    except ExpressionError as exc:
        exc.with_source(expression)
        raise
