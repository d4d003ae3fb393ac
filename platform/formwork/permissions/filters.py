"""Filters of grants: expressions over a record and the person asking.

A filter reads the record's fields (as the form names them), ``$record`` (``status``,
``department``, ``owner``, ``created_at``, ``submitted_at``) and ``$user``:

- ``$user.id``, ``$user.username``, ``$user.department``, ``$user.roles``;
- ``$user.department.descendants``: every department below the person's own (not itself);
- ``$user.managed_departments``: the departments the person heads.

``$user.department`` is a department id in comparisons, so ``$user.department.descendants``
cannot be a field of it in the language's types; it is rewritten to
``$user.department_descendants`` before checking (same positions, same meaning).

A filter compiles to an ``Analysis`` (the checked tree every back end compiles from) and a
Python evaluator (explain uses it on one record). A filter the SQL back end cannot translate
on every supported database is refused when it is compiled, naming the function or construct;
``scopes.CustomFilterBackend`` turns the same analysis into SQL for lists.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Mapping

from ..definitions.problems import DefinitionError, Problem
from ..expressions import (
    DEFAULT_LIMITS,
    Analysis,
    ExpressionError,
    SqlTranslationError,
    T,
    TypeEnv,
    analyse,
    check_sql,
    parse,
)
from ..expressions import nodes as N
from ..expressions.python_backend import Evaluator, compile_python

USER_TYPE = T.RecordOf(
    {
        "id": T.USER,
        "username": T.TEXT,
        "department": T.DEPARTMENT,
        "department_descendants": T.ListOf(T.DEPARTMENT),
        "managed_departments": T.ListOf(T.DEPARTMENT),
        "roles": T.ListOf(T.TEXT),
    }
)
RECORD_TYPE = T.RecordOf(
    {
        "status": T.TEXT,
        "department": T.DEPARTMENT,
        "owner": T.USER,
        "created_at": T.DATETIME,
        "submitted_at": T.DATETIME,
    }
)
CONTEXT = {"user": USER_TYPE, "record": RECORD_TYPE, "today": T.DATE, "now": T.DATETIME}


@dataclass(frozen=True, eq=False)
class Filter:
    """A checked filter: ``analysis`` for back ends, ``evaluate`` in Python."""

    source: str
    analysis: Analysis
    python: Evaluator

    @property
    def references(self) -> frozenset[str]:
        return self.analysis.references

    def test(self, values: Mapping[str, Any], context: Mapping[str, Any]) -> bool:
        """True only when the filter gives true (null counts as false, like every condition)."""
        return self.python(values, None, context) is True


def _rewrite(node: N.Node) -> N.Node:
    """``$user.department.descendants`` → ``$user.department_descendants``, everywhere in the tree."""
    if (
        isinstance(node, N.Member)
        and node.name == "descendants"
        and isinstance(node.target, N.Member)
        and node.target.name == "department"
        and isinstance(node.target.target, N.ContextName)
        and node.target.target.name == "user"
    ):
        return N.Member(node.pos, node.target.target, "department_descendants")
    changes: dict[str, Any] = {}
    for field in dataclasses.fields(node):
        value = getattr(node, field.name)
        if isinstance(value, N.Node):
            new = _rewrite(value)
            if new is not value:
                changes[field.name] = new
        elif isinstance(value, tuple) and value and isinstance(value[0], N.Node):
            items = tuple(_rewrite(item) for item in value)
            if any(a is not b for a, b in zip(items, value, strict=True)):
                changes[field.name] = items
    return dataclasses.replace(node, **changes) if changes else node


def type_env(form: Any) -> TypeEnv:
    """The names a filter may read: the form's fields (none for ``form: "*"``) and the context."""
    fields = {f.key: f.value_type for f in form.fields} if form is not None else {}
    return TypeEnv(fields=fields, context=CONTEXT)


def compile_filter(source: str, form: Any, functions: Mapping[str, Any] | None = None) -> Filter:
    """Parse, rewrite and check ``source``; ``DefinitionError`` (pointer "") when it is wrong."""
    try:
        node = _rewrite(parse(source, limits=DEFAULT_LIMITS))
        analysis = analyse(node, type_env(form), functions)
        if not T.is_assignable(analysis.type, T.BOOLEAN):
            raise DefinitionError(
                [Problem(f"a filter must give true or false, not {analysis.type.describe()} (in {source!r})")]
            )
        # A scope is applied by the database: a filter SQL cannot express is refused here, at
        # publish, never evaluated row by row in Python later.
        check_sql(analysis, type_env(form), functions, condition=True)
        return Filter(source, analysis, compile_python(analysis, DEFAULT_LIMITS))
    except SqlTranslationError as exc:
        message = getattr(exc, "message", None) or str(exc)
        raise DefinitionError(
            [Problem(f"a data scope runs in the database, and {message} (in {source!r})")]
        ) from None
    except ExpressionError as exc:
        message = getattr(exc, "message", None) or str(exc)
        position = getattr(exc, "position", None)
        where = f"at position {position + 1} of {source!r}" if position is not None else f"in {source!r}"
        raise DefinitionError([Problem(f"{message} ({where})")]) from None
