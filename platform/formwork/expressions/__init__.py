"""The expression language: one small, safe, typed language for every condition and formula.

Text is parsed by a hand-written parser into our own immutable tree (never ``eval``),
type-checked against a ``TypeEnv``, then compiled by a back end: Python closures
(``compile_expression``) and SQLAlchemy Core over the records (``compile_sql``,
``compile_sql_filter``, ``check_sql``); durable-rules JSON walks the same checked tree.
See ``docs/expressions.md`` for the language itself.
"""

from __future__ import annotations

from . import nodes
from . import value_types as T
from .checker import Analysis, analyse, check
from .compiled import CompiledExpression, compile_expression
from .env import DEFAULT_CONTEXT, TypeEnv
from .errors import ExpressionError, ExpressionRuntimeError, ExpressionSyntaxError, ExpressionTypeError
from .functions import builtin_functions, register_builtins
from .limits import DEFAULT_LIMITS, Limits
from .parser import parse
from .spec import ArgumentError, FunctionSpec
from .sql_backend import (
    RECORD_TYPE,
    SCOPE_CONTEXT,
    RecordColumns,
    SqlExpression,
    check_sql,
    compile_sql,
    compile_sql_filter,
)
from .sql_values import SqlCall, SqlTranslationError
from .sqlite_functions import install_sqlite_functions

__all__ = [
    "Analysis",
    "ArgumentError",
    "CompiledExpression",
    "DEFAULT_CONTEXT",
    "DEFAULT_LIMITS",
    "ExpressionError",
    "ExpressionRuntimeError",
    "ExpressionSyntaxError",
    "ExpressionTypeError",
    "FunctionSpec",
    "Limits",
    "RECORD_TYPE",
    "RecordColumns",
    "SCOPE_CONTEXT",
    "SqlCall",
    "SqlExpression",
    "SqlTranslationError",
    "T",
    "TypeEnv",
    "analyse",
    "builtin_functions",
    "check",
    "check_sql",
    "compile_expression",
    "compile_sql",
    "compile_sql_filter",
    "install_sqlite_functions",
    "nodes",
    "parse",
    "register_builtins",
]
