"""``compile_expression``: text → checked, compiled ``CompiledExpression`` (the usual entry point)."""

from __future__ import annotations

from typing import Any, Mapping

from . import nodes as N
from . import value_types as T
from .checker import Analysis, analyse
from .env import TypeEnv
from .errors import ExpressionError, ExpressionRuntimeError, ExpressionTypeError
from .limits import DEFAULT_LIMITS, Limits
from .parser import parse
from .python_backend import Evaluator, compile_python
from .spec import FunctionSpec

_NO_CONTEXT: Mapping[str, Any] = {}


class CompiledExpression:
    """A parsed, type-checked expression ready to evaluate.

    ``references`` are the dotted field paths it reads (``category``, ``lines.amount``; row
    fields are prefixed with ``TypeEnv.row_name`` when given), ``row_references`` the current
    row's fields it reads, ``context_references`` the ``$`` values (``$user.department``).
    """

    __slots__ = (
        "source",
        "node",
        "type",
        "analysis",
        "references",
        "row_references",
        "context_references",
        "_fn",
        "_needs_row",
    )

    def __init__(self, source: str, analysis: Analysis, fn: Evaluator):
        self.source = source
        self.node: N.Node = analysis.root
        self.type: T.Type = analysis.type
        self.analysis = analysis
        self.references: frozenset[str] = analysis.references
        self.row_references: frozenset[str] = analysis.row_references
        self.context_references: frozenset[str] = analysis.context_references
        self._fn = fn
        self._needs_row = bool(analysis.row_names)

    def evaluate(
        self,
        scope: Mapping[str, Any],
        row: Mapping[str, Any] | None = None,
        context: Mapping[str, Any] | None = None,
    ) -> Any:
        """The value for this data; raises only ``ExpressionRuntimeError``."""
        if row is None and self._needs_row:
            raise ExpressionRuntimeError(
                "this expression reads a line-item row, but no row was given", None, self.source
            )
        try:
            return self._fn(scope, row, context if context is not None else _NO_CONTEXT)
        except ExpressionError as exc:
            exc.with_source(self.source)
            raise
        except RecursionError:
            raise ExpressionRuntimeError(
                "the data is nested too deeply to evaluate", None, self.source
            ) from None
        except Exception as exc:  # bad data (a wrong Python type in scope) must not escape as a raw error
            raise ExpressionRuntimeError(
                f"could not evaluate the expression: {type(exc).__name__}: {exc}"[:300], None, self.source
            ) from exc

    def test(
        self,
        scope: Mapping[str, Any],
        row: Mapping[str, Any] | None = None,
        context: Mapping[str, Any] | None = None,
    ) -> bool:
        """Evaluate as a condition: only ``true`` passes (null counts as false)."""
        return self.evaluate(scope, row, context) is True

    def __repr__(self) -> str:
        return f"CompiledExpression({self.source!r}, type={self.type!r})"


def compile_expression(
    source: str,
    env: TypeEnv,
    functions: Mapping[str, FunctionSpec] | None = None,
    expected: T.Type | None = None,
    *,
    limits: Limits = DEFAULT_LIMITS,
) -> CompiledExpression:
    """Parse, check and compile ``source`` against ``env``.

    ``functions`` defaults to the built-ins (the app passes ``current_registry().functions``);
    ``expected`` (e.g. ``T.BOOLEAN`` for conditions) is the type the result must fit.
    Raises ``ExpressionSyntaxError`` or ``ExpressionTypeError``, each with a position.
    """
    try:
        node = parse(source, limits=limits)
        analysis = analyse(node, env, functions)
        if expected is not None and not T.is_assignable(analysis.type, expected):
            raise ExpressionTypeError(
                f"the expression gives {analysis.type.describe()}, but {expected.describe()} is needed", 0
            )
        fn = compile_python(analysis, limits)
    except ExpressionError as exc:
        if isinstance(source, str):
            exc.with_source(source)
        raise
    return CompiledExpression(source, analysis, fn)
