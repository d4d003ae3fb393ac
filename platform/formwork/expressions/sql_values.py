"""How values of the expression language are carried in SQL, per database.

* integer, decimal, money — PostgreSQL ``NUMERIC`` (exact); SQLite: integer as ``INTEGER``,
  decimal and money as canonical decimal text handled by the ``fw_*`` functions
  (``sqlite_functions``), since SQLite's own numbers are binary floats;
* text — ``TEXT``, ordered by code point as in Python (PostgreSQL: ``COLLATE "C"``);
* boolean — PostgreSQL ``BOOLEAN``; SQLite ``0`` / ``1``;
* date — PostgreSQL ``DATE``; SQLite ``'YYYY-MM-DD'`` text;
* datetime — PostgreSQL ``TIMESTAMPTZ``; SQLite UTC text ``'YYYY-MM-DD HH:MM:SS.ffffff'``;
* user, department — integer ids.

Form data lives in one JSON document (``records.data``); a ``JsonRef`` points into it and
``scalar`` reads a typed value out. A ``SqlList`` is a list-valued expression (a JSON array,
a written list or a list bound from ``$user``), consumed by aggregates, ``in`` and a few
functions. ``SqlCall`` is what a function's ``sql`` translator receives.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Callable, Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.sql.elements import ColumnElement

from . import nodes as N
from . import value_types as T
from .errors import ExpressionError

PG = "postgresql"
SQLITE = "sqlite"
DIALECTS = (PG, SQLITE)
# Python's str.strip() removes every one of these; SQL trim() removes only what it is given.
WHITESPACE = "".join(chr(c) for c in range(0x3001) if chr(c).isspace())
# to_char() rounds a NUMERIC to 38 significant digits, the precision of the Python back end.
_SIGNIFICANT_38 = "9." + "9" * 37 + "EEEE"
DECIMALS = (T.DECIMAL, T.MONEY)

Sql = ColumnElement[Any]


class SqlTranslationError(ExpressionError):
    """The expression (a function, a construct) has no SQL translation; the message names it."""


def sql_type(t: T.Type, dialect: str) -> sa.types.TypeEngine[Any]:
    """The SQLAlchemy type a bound value of type ``t`` is sent as."""
    if t in (T.INTEGER, T.USER, T.DEPARTMENT):
        return sa.BigInteger()
    if t in DECIMALS:
        return sa.Numeric() if dialect == PG else sa.String()
    if t == T.BOOLEAN:
        return sa.Boolean()
    if t == T.DATE:
        return sa.Date() if dialect == PG else sa.String()
    if t == T.DATETIME:
        return sa.DateTime(timezone=True) if dialect == PG else sa.String()
    return sa.Text()


def null_of(t: T.Type, dialect: str) -> Sql:
    """A typed SQL null (an untyped one can leave PostgreSQL unable to choose a function)."""
    if dialect == PG and t in (T.INTEGER, *DECIMALS):
        return sa.cast(sa.null(), sa.Numeric())
    if dialect == PG and isinstance(t, T.Scalar) and t != T.NULL:
        return sa.cast(sa.null(), sql_type(t, dialect))
    return sa.null()


def literal(value: Any, t: T.Type, dialect: str) -> Sql:
    """A Python value of type ``t`` as a bound parameter — never spliced into SQL text."""
    if value is None:
        return null_of(t, dialect)
    if isinstance(value, bool):
        return sa.true() if value else sa.false()
    if t in DECIMALS and dialect == SQLITE:
        return sa.literal(format(Decimal(value), "f"), sa.String())
    if isinstance(value, int) and abs(value) >= 2**63:
        return sa.literal(Decimal(value), sa.Numeric()) if dialect == PG else sa.literal(str(value))
    return sa.literal(value, sql_type(t, dialect))


# -- JSON ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class JsonRef:
    """A place inside a JSON document: ``doc`` then ``keys`` (field names and list positions).

    On SQLite an element of a ``json_each`` is addressed as ``doc`` (the array's JSON text)
    at ``prefix`` (the element's ``fullkey``) followed by ``keys``.
    """

    doc: Sql
    keys: tuple[str | int, ...] = ()
    prefix: Sql | None = None

    def then(self, *keys: str | int) -> "JsonRef":
        return JsonRef(self.doc, self.keys + keys, self.prefix)


def _sqlite_path(keys: Sequence[str | int]) -> str:
    parts = []
    for key in keys:
        if isinstance(key, int):
            parts.append(f"[{key}]")
        else:
            if '"' in key or "\\" in key:
                raise SqlTranslationError(f"the field name {key!r} cannot be used in SQL")
            parts.append(f'."{key}"')
    return "".join(parts)


def _path(ref: JsonRef) -> Sql:
    """SQLite: the JSON path of ``ref`` — a bound parameter, or the element's key plus one."""
    tail = _sqlite_path(ref.keys)
    if ref.prefix is None:
        return sa.literal("$" + tail, sa.String())
    if not tail:
        return ref.prefix
    return ref.prefix.concat(sa.literal(tail, sa.String())).self_group()


def _pg_path(ref: JsonRef, as_text: bool) -> Sql:
    """PostgreSQL: ``data -> 'lines' -> 0 ->> 'amount'``.

    The keys (field names of the definition, list positions) are rendered into the statement by
    SQLAlchemy's own literal quoting when it runs (``literal_execute``) rather than sent as
    parameters, so that an expression index such as ``((data ->> 'total')::numeric)`` matches.
    """
    value = ref.doc
    if not ref.keys:
        return value.op("#>>", return_type=sa.Text())(sa.literal([], postgresql.ARRAY(sa.Text())))
    for position, key in enumerate(ref.keys):
        step = sa.literal(key, sa.Integer() if isinstance(key, int) else sa.Text(), literal_execute=True)
        if as_text and position == len(ref.keys) - 1:
            value = value.op("->>", return_type=sa.Text())(step)
        else:
            value = value.op("->", return_type=postgresql.JSONB())(step)
    return value


def json_doc(ref: JsonRef, dialect: str) -> Sql:
    """The JSON value at ``ref`` (PostgreSQL: ``jsonb``; SQLite: JSON text), SQL null if absent."""
    if dialect == PG:
        return ref.doc if not ref.keys else _pg_path(ref, as_text=False)
    if ref.prefix is None and not ref.keys:
        return ref.doc
    return ref.doc.op("->", return_type=sa.String())(_path(ref))


def json_type(ref: JsonRef, dialect: str) -> Sql:
    """``'array'``, ``'object'``, ``'null'``... of the value at ``ref``; SQL null when absent."""
    if dialect == PG:
        return sa.func.jsonb_typeof(json_doc(ref, dialect), type_=sa.Text())
    return sa.func.json_type(ref.doc, _path(ref), type_=sa.String())


def json_is_null(ref: JsonRef, dialect: str) -> Sql:
    """True when the value at ``ref`` is absent or JSON null (what Python reads as None)."""
    return sa.func.coalesce(json_type(ref, dialect) == "null", sa.true())


def scalar(ref: JsonRef, t: T.Type, dialect: str) -> Sql:
    """The value at ``ref`` as type ``t`` (see the table in the module docstring)."""
    if dialect == PG:
        text = _pg_path(ref, as_text=True)
        if t == T.TEXT:
            return text
        if t in (T.INTEGER, *DECIMALS):
            return sa.cast(text, sa.Numeric())
        return sa.cast(text, sql_type(t, dialect))
    path = _path(ref)
    if t in DECIMALS:
        # ``->`` gives the JSON text of the number ('12.50', '"12.50"'), never a binary float.
        return sa.func.fw_dec(ref.doc.op("->", return_type=sa.String())(path), type_=sa.String())
    value = ref.doc.op("->>", return_type=sql_type(t, dialect))(path)
    if t == T.DATETIME:
        return sa.func.fw_instant(value, type_=sa.String())
    return value


# -- lists -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class ParamList:
    """A list bound from the context (``$user.roles``): an expanding parameter of the non-null
    items plus a flag saying whether the list was given at all."""

    items: Sql
    known: Sql


@dataclass(frozen=True)
class SqlList:
    """A list-valued expression of ``item`` values.

    ``array`` (a JSON array, with ``project`` naming the field read from each row) or ``values``
    (a written list) or ``param``. ``nullable``: the list itself may be null (a list field that
    is empty), unlike a projection ``lines.amount``, which is ``[]`` when there are no rows.
    """

    item: T.Type
    array: JsonRef | None = None
    project: tuple[str, ...] = ()
    values: tuple[Sql, ...] | None = None
    param: ParamList | None = None
    nullable: bool = True


@dataclass
class Elements:
    """``FROM`` the rows of a JSON array: ``source`` to select from, each row's ``value`` (typed
    item or JSON), ``is_null`` per row, and ``guard`` to put in ``WHERE`` (SQLite)."""

    source: Any
    value: Any
    is_null: Sql
    guard: Sql | None


def elements(lst: SqlList, dialect: str) -> Elements:
    """The rows of a JSON-array list as a table-valued function (correlated to the record)."""
    assert lst.array is not None
    ref = lst.array
    if dialect == PG:
        doc = json_doc(ref, dialect)
        guarded = sa.case((sa.func.jsonb_typeof(doc) == "array", doc), else_=sa.null())
        table = sa.func.jsonb_array_elements(guarded).table_valued("value").alias("fw_e")
        element = JsonRef(table.c.value, tuple(lst.project))
        guard = None
    else:
        doc_text = json_doc(ref, dialect)
        table = sa.func.json_each(doc_text).table_valued("value", "fullkey", "type").alias("fw_e")
        element = JsonRef(doc_text, tuple(lst.project), prefix=table.c.fullkey)
        guard = json_type(ref, dialect) == "array"
    if isinstance(lst.item, T.Scalar) and lst.item != T.NULL:
        value: Any = scalar(element, lst.item, dialect)
        is_null = value.is_(None)
    else:
        value = element
        is_null = json_is_null(element, dialect)
    return Elements(table, value, is_null, guard)


def list_length(lst: SqlList, dialect: str) -> Sql:
    """Number of items (nulls included); SQL null when the list itself is null."""
    if lst.values is not None:
        return sa.literal(len(lst.values), sa.BigInteger())
    if lst.array is None:
        raise SqlTranslationError("the length of a list bound from the context cannot be used in SQL")
    doc = json_doc(lst.array, dialect)
    length: Sql
    if dialect == PG:
        length = sa.func.jsonb_array_length(
            sa.case((sa.func.jsonb_typeof(doc) == "array", doc), else_=sa.null())
        )
    else:
        length = sa.case(
            (json_type(lst.array, dialect) == "array", sa.func.json_array_length(doc)), else_=sa.null()
        )
    return length if lst.nullable else sa.func.coalesce(length, 0)


def list_is_null(lst: SqlList, dialect: str) -> Sql:
    if lst.values is not None or not lst.nullable:
        return sa.false()
    if lst.param is not None:
        return sa.not_(lst.param.known)
    assert lst.array is not None
    return sa.func.coalesce(json_type(lst.array, dialect) != "array", sa.true())


# -- conversions and arithmetic --------------------------------------------------------------
def convert(value: Sql, source: T.Type, target: T.Type, dialect: str) -> Sql:
    """Widen ``value`` from ``source`` to ``target`` (only integer → decimal needs work, on SQLite)."""
    if dialect == SQLITE and target in DECIMALS and source not in DECIMALS:
        return sa.func.fw_dec(value, type_=sa.String())
    return value


def pg_divide(a: Sql, b: Sql) -> Sql:
    """``a / b`` rounded to 38 significant digits as the Python back end divides; null on zero.

    The dividend gets 80 decimal places first (PostgreSQL's own division keeps only about 20
    significant digits), then ``pg_significant`` rounds the quotient.
    """
    quotient = sa.func.round(sa.cast(a, sa.Numeric()), 80) / sa.func.nullif(sa.cast(b, sa.Numeric()), 0)
    return pg_significant(quotient)


def pg_significant(value: Sql) -> Sql:
    """``value`` rounded to 38 significant digits (the Python back end's decimal precision).

    ``NUMERIC`` arithmetic is exact, so only results built on a quotient can need it; the trailing
    zeros of the scientific form are trimmed (the value is the same; its text may show fewer zeros).
    """
    rounded = sa.cast(sa.func.to_char(value, _SIGNIFICANT_38), sa.Numeric())
    return sa.func.trim_scale(rounded, type_=sa.Numeric())


def text_order(value: Sql, t: T.Type, dialect: str) -> Sql:
    """Text compared by code point on PostgreSQL, whatever the database's collation."""
    if dialect == PG and t == T.TEXT:
        return sa.collate(value, "C")
    return value


@dataclass
class SqlCall:
    """What a function's ``sql`` translator gets.

    ``args``: each argument compiled (a SQLAlchemy expression, or a ``SqlList`` for a list);
    ``arg_types`` and ``type`` (the result) as checked; ``dialect``: ``"postgresql"`` or
    ``"sqlite"``; ``node``: the call in the tree (its arguments, e.g. literal places of round).
    ``refuse(message)`` raises the error that stops the expression from being published.
    """

    name: str
    args: list[Any]
    arg_types: list[T.Type]
    type: T.Type
    dialect: str
    node: N.Call
    helpers: dict[str, Callable[..., Any]] = field(default_factory=dict)

    def refuse(self, message: str) -> SqlTranslationError:
        return SqlTranslationError(f"{self.name}(): {message}", self.node.pos)

    def arg(self, index: int, target: T.Type | None = None) -> Any:
        """Argument ``index``, widened to ``target`` (e.g. an integer where a decimal is computed)."""
        value = self.args[index]
        if target is None or isinstance(value, SqlList):
            return value
        if self.arg_types[index] == T.NULL:
            return null_of(target, self.dialect)
        return convert(value, self.arg_types[index], target, self.dialect)
