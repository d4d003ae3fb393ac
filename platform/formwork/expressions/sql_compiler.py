"""The tree walk of the SQL back end: a checked tree → SQLAlchemy Core, for one database.

``sql_backend`` holds the entry points (``compile_sql``, ``check_sql``) and the per-request
binding; this module turns each node into SQL (``sql_values`` says how each type is carried)
and refuses, naming it, every construct SQL cannot express.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from . import nodes as N
from . import value_types as T
from .checker import Analysis
from .errors import ExpressionError
from .sql_values import (
    DECIMALS,
    PG,
    SQLITE,
    JsonRef,
    ParamList,
    Sql,
    SqlCall,
    SqlList,
    SqlTranslationError,
    convert,
    elements,
    json_is_null,
    list_is_null,
    literal,
    null_of,
    pg_divide,
    pg_significant,
    scalar,
    sql_type,
    text_order,
)

# ``$record.<name>`` → the column of the records table it reads.
RECORD_COLUMN_NAMES = {
    "id": "id",
    "form": "form_key",
    "status": "status",
    "owner": "owner_id",
    "department": "department_id",
    "created": "created_at",
    "submitted": "submitted_at",
}


@dataclass(frozen=True)
class RecordColumns:
    """Where an expression reads from: the JSON ``data`` column and the ``$record`` columns."""

    data: Sql
    columns: Mapping[str, Sql]

    @classmethod
    def of(cls, table: Any) -> "RecordColumns":
        """For the ``records`` table (or any table with its column names)."""
        c = table.c
        return cls(c.data, {name: c[column] for name, column in RECORD_COLUMN_NAMES.items() if column in c})


@dataclass(frozen=True)
class ContextParam:
    """A ``$`` value the clause reads as a bind parameter."""

    key: str  # the bind parameter's name
    path: str  # the context path, e.g. "user.department"
    type: T.Type
    is_list: bool


@dataclass(frozen=True)
class _ContextRecord:
    path: str


@dataclass(frozen=True)
class _RecordRow:
    pass


# Relative gap between two floats beyond which their order is certainly the order of the exact
# decimals they were read from (each is within 2**-52 of its decimal; this is ~2**-40).
_FLOAT_MARGIN = 1e-12

_COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


class SqlCompiler:
    """Walks one analysed tree; ``params`` collects the ``$`` values it binds."""

    def __init__(self, analysis: Analysis, columns: RecordColumns, dialect: str):
        self.analysis = analysis
        self.columns = columns
        self.dialect = dialect
        self.params: dict[str, ContextParam] = {}

    def type_of(self, node: N.Node) -> T.Type:
        return self.analysis.type_of(node)

    def refuse(self, message: str, node: N.Node) -> SqlTranslationError:
        return SqlTranslationError(message, node.pos)

    # -- dispatch ----------------------------------------------------------------------------
    def value(self, node: N.Node, truth_only: bool = False) -> Any:
        """A scalar ``Sql``, a ``SqlList``, or a record reference for paths to go on from."""
        if isinstance(node, N.Literal):
            return literal(node.value, self.type_of(node), self.dialect)
        if isinstance(node, N.ListLiteral):
            return self.list_literal(node)
        if isinstance(node, N.Name):
            return self.name(node)
        if isinstance(node, N.ContextName):
            return self.context_name(node)
        if isinstance(node, N.Member):
            return self.member(node)
        if isinstance(node, N.Index):
            return self.index(node)
        if isinstance(node, N.AllItems):
            return self.value(node.target)
        if isinstance(node, N.Negate):
            return self.negate(node)
        if isinstance(node, N.Not):
            return sa.not_(self.scalar(node.operand))
        if isinstance(node, N.Arithmetic):
            return self.arithmetic(node)
        if isinstance(node, N.Compare):
            return self.compare(node, truth_only)
        if isinstance(node, N.IsNull):
            return self.is_null(node)
        if isinstance(node, N.Logical):
            parts = [self.scalar(o, truth_only) for o in node.operands]
            return sa.and_(*parts) if node.op == "and" else sa.or_(*parts)
        if isinstance(node, N.Call):
            return self.call(node)
        raise self.refuse(f"{type(node).__name__} cannot be translated to SQL", node)

    def scalar(self, node: N.Node, truth_only: bool = False) -> Sql:
        t = self.type_of(node)
        if t == T.NULL and not isinstance(node, (N.Compare, N.IsNull, N.Logical, N.Not, N.Call)):
            return sa.null()
        value = self.value(node, truth_only)
        if isinstance(value, SqlList):
            raise self.refuse("a list cannot be used here in SQL; aggregate it (sum, count, any...)", node)
        if isinstance(value, (JsonRef, _ContextRecord, _RecordRow)):
            raise self.refuse("a whole record cannot be used in SQL; name one of its fields", node)
        return value

    # -- names -------------------------------------------------------------------------------
    def name(self, node: N.Name) -> Any:
        if self.analysis.reads_row(node):
            raise self.refuse(
                f"'{node.name}' reads the current line-item row, which SQL filters do not have; "
                "use sum(), any(), ... over the line items",
                node,
            )
        return self._json(JsonRef(self.columns.data, (node.name,)), self.type_of(node), nullable=True)

    def _json(self, ref: JsonRef, t: T.Type, nullable: bool) -> Any:
        if isinstance(t, T.ListOf):
            return SqlList(t.item, array=ref, nullable=nullable)
        if isinstance(t, T.RecordOf):
            return ref
        return scalar(ref, t, self.dialect)

    def context_name(self, node: N.ContextName) -> Any:
        if node.name == "record":
            return _RecordRow()
        return self._context(node.name, self.type_of(node), node)

    def _context(self, path: str, t: T.Type, node: N.Node) -> Any:
        if isinstance(t, T.RecordOf):
            return _ContextRecord(path)
        key = "fw_" + "".join(ch if ch.isalnum() else "_" for ch in path)
        if isinstance(t, T.ListOf):
            if isinstance(t.item, (T.ListOf, T.RecordOf)):
                raise self.refuse(f"${path} is a list of records, which SQL cannot bind", node)
            self.params[key] = ContextParam(key, path, t.item, True)
            items = sa.bindparam(key, type_=sql_type(t.item, self.dialect), expanding=True)
            known = sa.bindparam(key + "_known", type_=sa.Boolean())
            return SqlList(t.item, param=ParamList(items, known))
        self.params[key] = ContextParam(key, path, t, False)
        return sa.bindparam(key, type_=sql_type(t, self.dialect))

    def member(self, node: N.Member) -> Any:
        dotted = self.analysis.context_paths.get(id(node))
        if dotted is not None:
            return self._context(dotted, self.type_of(node), node)
        target = self.value(node.target)
        t = self.type_of(node)
        if isinstance(target, _ContextRecord):
            return self._context(f"{target.path}.{node.name}", t, node)
        if isinstance(target, _RecordRow):
            column = self.columns.columns.get(node.name)
            if column is None:
                raise self.refuse(f"$record.{node.name} is not a column SQL can read", node)
            if self.dialect == SQLITE and t == T.DATETIME:
                return sa.func.fw_instant(column, type_=sa.String())
            return column
        if isinstance(target, JsonRef):
            return self._json(target.then(node.name), t, nullable=True)
        if isinstance(target, SqlList):
            if target.array is None:
                raise self.refuse(f"'.{node.name}' of a list that is not line items", node)
            item = t.item if isinstance(t, T.ListOf) else t
            return SqlList(item, array=target.array, project=target.project + (node.name,), nullable=False)
        raise self.refuse(f"'.{node.name}' cannot be translated to SQL here", node)

    def index(self, node: N.Index) -> Any:
        target = self.value(node.target)
        if not isinstance(target, SqlList) or target.array is None:
            raise self.refuse("only line items and list fields can be indexed in SQL", node)
        ref = target.array.then(node.index, *target.project)
        return self._json(ref, self.type_of(node), nullable=True)

    def list_literal(self, node: N.ListLiteral) -> SqlList:
        t = self.type_of(node)
        item = t.item if isinstance(t, T.ListOf) else T.NULL
        values = tuple(
            convert(self.scalar(i), self.type_of(i), item, self.dialect)
            if self.type_of(i) != T.NULL
            else null_of(item, self.dialect)
            for i in node.items
        )
        return SqlList(item, values=values, nullable=False)

    # -- operators ---------------------------------------------------------------------------
    def negate(self, node: N.Negate) -> Sql:
        t = self.type_of(node)
        operand = self.scalar(node.operand)
        if self.dialect == SQLITE and t in DECIMALS:
            return sa.func.fw_neg(operand, type_=sa.String())
        return -operand

    def arithmetic(self, node: N.Arithmetic) -> Sql:
        t = self.type_of(node)
        if t == T.NULL:
            return sa.null()
        lt, rt = self.type_of(node.left), self.type_of(node.right)
        left = self.scalar(node.left) if lt != T.NULL else null_of(t, self.dialect)
        right = self.scalar(node.right) if rt != T.NULL else null_of(t, self.dialect)
        if t == T.TEXT:
            return left.concat(right)
        op = node.op
        if self.dialect == PG:
            if op == "/":
                return pg_divide(left, right)
            if op == "%":
                result = sa.cast(left, sa.Numeric()) % sa.func.nullif(sa.cast(right, sa.Numeric()), 0)
            else:
                result = _ARITHMETIC[op](left, right)
            # Exact NUMERIC can carry more digits than Python's 38 only after a division (1/3 + 1e6).
            if _has_quotient(node.left) or _has_quotient(node.right):
                return pg_significant(result)
            return result
        if t == T.INTEGER:
            if op == "%":
                return left % sa.func.nullif(right, 0)
            return _ARITHMETIC[op](left, right)
        name = {"+": "fw_add", "-": "fw_sub", "*": "fw_mul", "/": "fw_div", "%": "fw_mod"}[op]
        return getattr(sa.func, name)(left, right, type_=sa.String())

    def compare(self, node: N.Compare, truth_only: bool) -> Sql:
        if node.op in ("in", "not in"):
            return self.membership(node, truth_only)
        lt, rt = self.type_of(node.left), self.type_of(node.right)
        if T.NULL in (lt, rt):
            return null_of(T.BOOLEAN, self.dialect)
        left, right = self.scalar(node.left), self.scalar(node.right)
        test = _COMPARE[node.op]
        if self.dialect == SQLITE and (lt in DECIMALS or rt in DECIMALS):
            exact = test(sa.func.fw_cmp(left, right, type_=sa.Integer()), 0)
            near_left, near_right = self._approximate(node.left), self._approximate(node.right)
            if near_left is None or near_right is None:
                return exact
            # Calling fw_cmp on every row costs a Python call (~20 µs). A binary float is within
            # 2**-52 of the decimal it was read from, so when the floats differ by far more than
            # that, their order is the decimals' order; only near-ties go to the exact comparison.
            certain = sa.func.abs(near_left - near_right) > _FLOAT_MARGIN * (
                sa.func.abs(near_left) + sa.func.abs(near_right)
            )
            return sa.case(
                (sa.or_(near_left.is_(None), near_right.is_(None)), null_of(T.BOOLEAN, self.dialect)),
                (certain, test(near_left, near_right)),
                else_=exact,
            )
        if node.op in ("==", "!="):  # equality is byte equality in every deterministic collation
            return test(left, right)
        return test(text_order(left, lt, self.dialect), text_order(right, rt, self.dialect))

    def _approximate(self, node: N.Node) -> Sql | None:
        """SQLite: a binary-float reading of a number that costs no function call — a written
        number or a field of the record — or None."""
        t = self.type_of(node)
        if t not in (T.INTEGER, *DECIMALS):
            return None
        if isinstance(node, N.Literal) and node.value is not None and not isinstance(node.value, bool):
            return sa.literal(float(node.value), sa.Float())
        if isinstance(node, N.Name) and not self.analysis.reads_row(node):
            path = sa.literal(f'$."{node.name}"', sa.String())
            if '"' in node.name or "\\" in node.name:
                return None
            return sa.cast(self.columns.data.op("->>", return_type=sa.String())(path), sa.Float())
        return None

    def membership(self, node: N.Compare, truth_only: bool) -> Sql:
        negated = node.op == "not in"
        lt = self.type_of(node.left)
        if lt == T.NULL or self.type_of(node.right) == T.NULL:
            return null_of(T.BOOLEAN, self.dialect)
        lst = self.value(node.right)
        if not isinstance(lst, SqlList):
            raise self.refuse(f"'{node.op}' needs a list in SQL", node)
        needle = self.scalar(node.left)
        if truth_only and not negated and lst.param is not None:
            # Only true passes here, so false and null need not differ: a plain IN, which can use
            # the column's index (``$record.department in $user.department.descendants``).
            return sa.and_(lst.param.known, needle.in_(lst.param.items))
        found = self.member_test(needle, lt, lst, node)
        return sa.not_(found) if negated else found

    def member_test(self, needle: Sql, needle_type: T.Type, lst: SqlList, node: N.Node) -> Sql:
        """``needle in lst`` with SQL's ``IN`` meaning: null when not found and the list holds a null."""
        common = T.unify(needle_type, lst.item) or needle_type
        decimal = self.dialect == SQLITE and common in DECIMALS
        if lst.values is not None:
            if not lst.values:
                return sa.case((needle.is_(None), null_of(T.BOOLEAN, self.dialect)), else_=sa.false())
            if decimal:
                return sa.or_(*(sa.func.fw_cmp(needle, v, type_=sa.Integer()) == 0 for v in lst.values))
            return needle.in_(list(lst.values))
        if lst.param is not None:
            # No rows for an unknown list makes ``IN`` false, not null; the CASE keeps null's meaning
            # (also for a null needle over an empty list), and the plain IN is kept inside it.
            hit = needle.in_(lst.param.items)
            return sa.case(
                (sa.or_(needle.is_(None), sa.not_(lst.param.known)), null_of(T.BOOLEAN, self.dialect)),
                else_=hit,
            )
        if lst.array is None:
            raise self.refuse("this list cannot be searched in SQL", node)
        rows = elements(lst, self.dialect)
        item = convert(rows.value, lst.item, common, self.dialect)
        probe = convert(needle, needle_type, common, self.dialect)
        equal = sa.func.fw_cmp(item, probe, type_=sa.Integer()) == 0 if decimal else item == probe
        found = sa.exists(self._rows(rows).where(equal))
        has_null = sa.exists(self._rows(rows).where(rows.is_null))
        return sa.case(
            (sa.or_(needle.is_(None), list_is_null(lst, self.dialect)), null_of(T.BOOLEAN, self.dialect)),
            (found, sa.true()),
            (has_null, null_of(T.BOOLEAN, self.dialect)),
            else_=sa.false(),
        )

    def _rows(self, rows: Any) -> sa.Select[Any]:
        query = sa.select(sa.literal(1)).select_from(rows.source).correlate_except(rows.source)
        return query.where(rows.guard) if rows.guard is not None else query

    def is_null(self, node: N.IsNull) -> Sql:
        operand = self.value(node.operand)
        if isinstance(operand, SqlList):
            test = list_is_null(operand, self.dialect)
        elif isinstance(operand, JsonRef):
            test = json_is_null(operand, self.dialect)
        elif isinstance(operand, (_ContextRecord, _RecordRow)):
            raise self.refuse("a whole context record cannot be tested for null in SQL", node)
        else:
            test = operand.is_(None)
        return sa.not_(test) if node.negated else test

    def call(self, node: N.Call) -> Sql:
        spec = self.analysis.function(node)
        if spec.sql is None:
            raise self.refuse(f"the function {node.name}() has no SQL translation", node)
        call = SqlCall(
            name=node.name,
            args=[self.value(a) if self.type_of(a) != T.NULL else sa.null() for a in node.args],
            arg_types=[self.type_of(a) for a in node.args],
            type=self.type_of(node),
            dialect=self.dialect,
            node=node,
            helpers={
                "member_test": lambda needle, t, lst: self.member_test(needle, t, lst, node),
                "context": lambda path, t: self._context(path, t, node),
            },
        )
        for value in call.args:
            if isinstance(value, (_ContextRecord, _RecordRow)) or (
                isinstance(value, JsonRef) and node.name not in ("is_empty",)
            ):
                raise self.refuse(f"{node.name}() of a whole record cannot be translated to SQL", node)
        try:
            result = spec.sql(call)
        except SqlTranslationError as exc:
            if exc.position is None:  # raised by a shared helper that does not know the call
                exc.message, exc.position = f"{node.name}(): {exc.message}", node.pos
                exc.args = (exc.message,)
            raise
        except ExpressionError:
            raise
        except Exception as exc:  # a plugin's translator must fail as a refusal, not a crash
            raise self.refuse(f"{node.name}() could not be translated to SQL: {exc}", node) from exc
        if not isinstance(result, ColumnElement):
            raise self.refuse(f"{node.name}() did not give a SQL expression", node)
        return result


_ARITHMETIC: dict[str, Callable[[Any, Any], Any]] = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
}


def _has_quotient(node: N.Node) -> bool:
    """Whether a value may have more digits than its inputs: it contains a division or avg()."""
    return any(
        (isinstance(n, N.Arithmetic) and n.op == "/") or (isinstance(n, N.Call) and n.name == "avg")
        for n in N.walk(node)
    )
