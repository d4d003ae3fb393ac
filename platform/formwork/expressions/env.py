"""The type environment an expression is checked against."""

from __future__ import annotations

from typing import Mapping

from . import value_types as T

# What ``$name`` means when the caller does not say: the signed-in user and the clock.
DEFAULT_CONTEXT: dict[str, T.Type] = {
    "user": T.RecordOf(
        {"id": T.USER, "username": T.TEXT, "department": T.DEPARTMENT, "roles": T.ListOf(T.TEXT)}
    ),
    "today": T.DATE,
    "now": T.DATETIME,
}


class TypeEnv:
    """Types of the names an expression may read.

    ``fields`` are the form's fields (a line-items field is ``T.ListOf(T.RecordOf({...}))``);
    ``row`` are the fields of the current line-item row when the expression belongs to a
    field inside line items (a bare name resolves to the row first, then to the form);
    ``context`` are the ``$`` names (``$user``, ``$today``...), written with or without ``$``;
    ``None`` means ``DEFAULT_CONTEXT``. ``row_name`` (optional) is the line-items field the
    row belongs to, used only to report row references as ``lines.amount``.
    """

    __slots__ = ("fields", "row", "context", "row_name")

    def __init__(
        self,
        fields: Mapping[str, T.Type],
        row: Mapping[str, T.Type] | None = None,
        context: Mapping[str, T.Type] | None = None,
        *,
        row_name: str | None = None,
    ):
        self.fields = dict(fields)
        self.row = dict(row) if row is not None else None
        raw_context = DEFAULT_CONTEXT if context is None else context
        self.context = {name.lstrip("$"): t for name, t in raw_context.items()}
        self.row_name = row_name

    def __repr__(self) -> str:
        return f"TypeEnv(fields={self.fields!r}, row={self.row!r}, context={self.context!r})"
