"""The types of the expression language (imported as ``T``).

Scalars are singletons compared by identity-or-name; ``ListOf`` and ``RecordOf``
are structural. Types are immutable and hashable so they can key caches.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Iterator, Mapping


class Type:
    """Base class of every expression type."""

    __slots__ = ()

    def describe(self) -> str:
        """A short English name for messages, e.g. ``money`` or ``list of text``."""
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class Scalar(Type):
    name: str

    def describe(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return f"T.{self.name.upper()}"


@dataclass(frozen=True, slots=True)
class ListOf(Type):
    item: Type

    def describe(self) -> str:
        return f"list of {self.item.describe()}"

    def __repr__(self) -> str:
        return f"T.ListOf({self.item!r})"


class RecordOf(Type):
    """A record (one line-item row, the signed-in user...) with named, typed fields."""

    __slots__ = ("_items", "_fields")
    _items: tuple[tuple[str, Type], ...]
    _fields: Mapping[str, Type]

    def __init__(self, fields: Mapping[str, Type]):
        items = tuple(sorted(fields.items()))
        for name, value in items:
            if not isinstance(value, Type):
                raise TypeError(f"field {name!r} of a record type must be a Type, not {value!r}")
        object.__setattr__(self, "_items", items)
        object.__setattr__(self, "_fields", MappingProxyType(dict(items)))

    @property
    def fields(self) -> Mapping[str, Type]:
        return self._fields

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("RecordOf is immutable")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RecordOf) and other._items == self._items

    def __hash__(self) -> int:
        return hash(("record", self._items))

    def __iter__(self) -> Iterator[str]:
        return iter(self._fields)

    def describe(self) -> str:
        return "record"

    def __repr__(self) -> str:
        return f"T.RecordOf({dict(self._items)!r})"


TEXT = Scalar("text")
INTEGER = Scalar("integer")
DECIMAL = Scalar("decimal")
MONEY = Scalar("money")
DATE = Scalar("date")
DATETIME = Scalar("datetime")
BOOLEAN = Scalar("boolean")
NULL = Scalar("null")
USER = Scalar("user")
DEPARTMENT = Scalar("department")

NUMERIC = frozenset({INTEGER, DECIMAL, MONEY})
ORDERED = frozenset({INTEGER, DECIMAL, MONEY, TEXT, DATE, DATETIME})
IDENTIFIERS = frozenset({USER, DEPARTMENT})


def is_numeric(t: Type) -> bool:
    return t in NUMERIC


def is_assignable(actual: Type, expected: Type) -> bool:
    """May a value of type ``actual`` be used where ``expected`` is required?

    ``null`` fits everything; numbers widen (integer → decimal → money, decimal ↔ money
    since both are exact decimals); lists are covariant.
    """
    if actual == expected or actual == NULL:
        return True
    if expected in (DECIMAL, MONEY) and actual in NUMERIC:
        return True
    if isinstance(actual, ListOf) and isinstance(expected, ListOf):
        return is_assignable(actual.item, expected.item)
    if isinstance(actual, RecordOf) and isinstance(expected, RecordOf):
        return all(
            name in actual.fields and is_assignable(actual.fields[name], t)
            for name, t in expected.fields.items()
        )
    return False


def unify(a: Type, b: Type) -> Type | None:
    """The common type of two branches (``if``, ``coalesce``, list items), or ``None``."""
    if a == b or b == NULL:
        return a
    if a == NULL:
        return b
    if a in NUMERIC and b in NUMERIC:
        if MONEY in (a, b):
            return MONEY
        return DECIMAL
    if isinstance(a, ListOf) and isinstance(b, ListOf):
        item = unify(a.item, b.item)
        return ListOf(item) if item is not None else None
    return None


def comparable(a: Type, b: Type, ordering: bool) -> bool:
    """Can ``a`` and ``b`` be compared (``ordering``: with < <= > >=, else == !=)?"""
    if a == NULL or b == NULL:
        return True
    if a in NUMERIC and b in NUMERIC:
        return True
    if ordering:
        return a == b and a in ORDERED
    if a == b:
        return not isinstance(a, (ListOf, RecordOf))
    # ids compare with integers (e.g. ``$user.id == 7``)
    return (a in IDENTIFIERS and b == INTEGER) or (b in IDENTIFIERS and a == INTEGER)
