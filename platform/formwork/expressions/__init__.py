"""The expression language: one small, safe, typed language for every condition and formula.

Text is parsed by a hand-written parser into our own immutable tree (never ``eval``),
type-checked against a ``TypeEnv``, then compiled by a back end — today Python
closures; durable-rules JSON and SQLAlchemy expressions walk the same checked tree.
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
    "T",
    "TypeEnv",
    "analyse",
    "builtin_functions",
    "check",
    "compile_expression",
    "nodes",
    "parse",
    "register_builtins",
]
