"""``FunctionSpec``: one function of the expression language, built-in or from a plugin.

A spec carries everything every back end needs: the type rule (argument types →
result type, used by the checker whatever the back end), the Python
implementation, how nulls are treated, the back ends that can translate the
function natively, and a one-line description in English and Chinese.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

from . import value_types as T

TypeRule = Callable[[Sequence[T.Type]], T.Type]
# ``sql(call)`` → a SQLAlchemy expression; ``call`` is an ``sql_values.SqlCall`` (the compiled
# arguments, their types, the result type and the dialect). Typed loosely here so that this
# module, which every plugin imports, does not pull in SQLAlchemy.
SqlTranslator = Callable[[Any], Any]


class ArgumentError(Exception):
    """Raised by a type rule: ``message`` for the user, ``index`` of the offending argument (or ``None``)."""

    def __init__(self, message: str, index: int | None = None):
        self.message = message
        self.index = index
        super().__init__(message)


@dataclass(frozen=True)
class FunctionSpec:
    """One callable function.

    ``python(*args)`` computes the result. With ``null_propagates`` (the default, as in SQL)
    a null argument gives null without calling it; ``lazy`` passes zero-argument callables
    instead of values (for ``if`` and ``coalesce``, which must not evaluate every branch);
    ``needs_context`` passes the evaluation context (``$today``, ``$user``...) first.
    ``specialise(arg_types, result_type)``, if given, returns the implementation to use for
    those argument types (``sum`` of integers starts at ``0``, of money at ``Decimal("0")``).
    ``sql(call)``, if given, translates a call to SQLAlchemy Core (see ``sql_values.SqlCall``);
    without it the SQL back end refuses any expression that calls the function, naming it —
    it never evaluates it in Python row by row. ``backends`` lists the back ends that
    translate the function natively ("python", "sql", "rules"); "sql" is added when ``sql``
    is given.
    """

    name: str
    type_rule: TypeRule
    python: Callable[..., Any]
    doc: Mapping[str, str] = field(default_factory=dict)
    signature: str = ""
    examples: tuple[tuple[str, str], ...] = ()
    null_propagates: bool = True
    lazy: bool = False
    needs_context: bool = False
    specialise: Callable[[Sequence[T.Type], T.Type], Callable[..., Any]] | None = None
    backends: frozenset[str] = frozenset({"python"})
    sql: SqlTranslator | None = None

    def __post_init__(self) -> None:
        if self.sql is not None and "sql" not in self.backends:
            object.__setattr__(self, "backends", self.backends | {"sql"})

    def describe(self, locale: str = "en") -> str:
        """The one-line description in ``locale`` (falls back to English)."""
        return self.doc.get(locale) or self.doc.get("en", "")

    def implementation(self, arg_types: Sequence[T.Type], result_type: T.Type) -> Callable[..., Any]:
        return self.specialise(arg_types, result_type) if self.specialise else self.python


# -- helpers for writing type rules -------------------------------------------------------
def arity(args: Sequence[T.Type], name: str, least: int, most: int | None = None) -> None:
    """Refuse a call with fewer than ``least`` or more than ``most`` arguments."""
    most = least if most is None else most
    if least <= len(args) <= (most if most >= 0 else len(args)):
        return
    if least == most:
        wanted = f"{least} argument" + ("" if least == 1 else "s")
    elif most < 0:
        wanted = f"at least {least} argument" + ("" if least == 1 else "s")
    else:
        wanted = f"{least} to {most} arguments"
    raise ArgumentError(f"{name}() takes {wanted}, not {len(args)}")


def expect(
    args: Sequence[T.Type], index: int, name: str, allowed: Callable[[T.Type], bool], what: str
) -> T.Type:
    """Check argument ``index`` against ``allowed`` (``null`` always passes); return its type."""
    t = args[index]
    if t != T.NULL and not allowed(t):
        raise ArgumentError(f"argument {index + 1} of {name}() must be {what}, not {t.describe()}", index)
    return t


def list_item(
    args: Sequence[T.Type], index: int, name: str, allowed: Callable[[T.Type], bool], what: str
) -> T.Type:
    """Check that argument ``index`` is a list whose items pass ``allowed``; return the item type."""
    t = args[index]
    if t == T.NULL:
        return T.NULL
    if not isinstance(t, T.ListOf):
        raise ArgumentError(
            f"argument {index + 1} of {name}() must be a list of {what} (e.g. lines.amount), not "
            f"{t.describe()}",
            index,
        )
    if t.item != T.NULL and not allowed(t.item):
        raise ArgumentError(f"{name}() needs a list of {what}, not a {t.describe()}", index)
    return t.item
