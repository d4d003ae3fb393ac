"""Errors of the expression language.

Every failure — bad syntax, a type mismatch, a value that cannot be computed —
is an ``ExpressionError`` carrying a user-facing ``message``, the 0-based
``position`` in the source (or ``None``) and the ``source`` itself, so callers
can point at the offending character without ever showing a stack trace.
"""

from __future__ import annotations


class ExpressionError(Exception):
    """Base class: ``message``, ``position`` (0-based offset or ``None``), ``source``."""

    def __init__(self, message: str, position: int | None = None, source: str | None = None):
        self.message = message
        self.position = position
        self.source = source
        super().__init__(message)

    def __str__(self) -> str:
        if self.position is None:
            return self.message
        return f"{self.message} (at position {self.position})"

    def with_source(self, source: str) -> "ExpressionError":
        """Attach the source text if the raiser did not know it; returns ``self``."""
        if self.source is None:
            self.source = source
        return self

    def snippet(self, width: int = 60) -> str:
        """The part of the source around ``position`` with a caret under it (for CLI output)."""
        if self.source is None or self.position is None:
            return ""
        start = max(0, self.position - width // 2)
        line = self.source[start : start + width].replace("\n", " ").replace("\t", " ")
        return f"{line}\n{' ' * (self.position - start)}^"


class ExpressionSyntaxError(ExpressionError):
    """The text is not a well-formed expression, or breaks a parse-time limit."""


class ExpressionTypeError(ExpressionError):
    """The expression is well-formed but its types do not fit (or a name is unknown)."""


class ExpressionRuntimeError(ExpressionError):
    """Evaluation failed on the given data (a bad value, a result over a limit)."""
