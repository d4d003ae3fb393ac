"""A records table on SQLite or PostgreSQL to run translated expressions against.

The table has the columns of ``records`` that expressions read (``data`` as JSONB on
PostgreSQL, JSON text on SQLite). On PostgreSQL it lives in its own schema, so the app
fixture's schema resets never drop it mid-run.
"""

from __future__ import annotations

import json
import os
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any, Iterable, Mapping

import sqlalchemy as sa
from sqlalchemy.pool import StaticPool

from formwork.config import normalise_database_url
from formwork.db_types import JSONDocument, Timestamp
from formwork.expressions import RecordColumns, SqlExpression, T
from formwork.expressions.sqlite_functions import install_sqlite_functions

PG_URL = os.environ.get("FORMWORK_TEST_DATABASE_URL")
PG_SCHEMA = "fw_expression_tests"

metadata = sa.MetaData()
TABLE = sa.Table(
    "expression_records",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("form_key", sa.String(100)),
    sa.Column("data", JSONDocument),
    sa.Column("status", sa.String(20)),
    sa.Column("owner_id", sa.Integer),
    sa.Column("department_id", sa.Integer),
    sa.Column("created_at", Timestamp()),
    sa.Column("submitted_at", Timestamp()),
)
COLUMNS = RecordColumns.of(TABLE)


def to_json(value: Any, numbers_as_json: bool = False) -> Any:
    """Form values as records store them: decimals as strings, dates as ISO text."""
    if isinstance(value, Decimal):
        if numbers_as_json and value == value.quantize(Decimal("0.01")) and abs(value) < 10**12:
            return float(value) if value != value.to_integral_value() else int(value)
        return str(value)
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {k: to_json(v, numbers_as_json) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json(v, numbers_as_json) for v in value]
    return value


class Database:
    def __init__(self, dialect: str):
        self.dialect = dialect
        if dialect == "sqlite":
            self.engine = sa.create_engine(
                "sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False}
            )
            install_sqlite_functions(self.engine)
            self.options: dict[str, Any] = {}
        else:
            assert PG_URL, "PostgreSQL needs FORMWORK_TEST_DATABASE_URL"
            self.engine = sa.create_engine(normalise_database_url(PG_URL))
            with self.engine.begin() as conn:
                conn.execute(sa.text(f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE"))
                conn.execute(sa.text(f"CREATE SCHEMA {PG_SCHEMA}"))
            self.options = {"schema_translate_map": {None: PG_SCHEMA}}
        with self.connect() as conn:
            metadata.create_all(conn)
            conn.commit()

    def connect(self) -> sa.Connection:
        return self.engine.connect().execution_options(**self.options)

    def replace(self, rows: Iterable[Mapping[str, Any]]) -> None:
        with self.connect() as conn:
            conn.execute(TABLE.delete())
            rows = list(rows)
            if rows:
                conn.execute(TABLE.insert(), rows)
            conn.commit()

    def value(self, expression: SqlExpression, context: Mapping[str, Any], record_id: int = 1) -> Any:
        query = sa.select(expression.bind(context)).select_from(TABLE).where(TABLE.c.id == record_id)
        with self.connect() as conn:
            return expression.read(conn.execute(query).scalar_one())

    def matching(self, expression: SqlExpression, context: Mapping[str, Any]) -> set[int]:
        query = sa.select(TABLE.c.id).where(expression.bind(context))
        with self.connect() as conn:
            return set(conn.execute(query).scalars())

    def dispose(self) -> None:
        self.engine.dispose()


def row(record_id: int, data: Mapping[str, Any], numbers_as_json: bool = False, **columns: Any) -> dict:
    values = {
        "id": record_id,
        "form_key": "expense",
        "status": "submitted",
        "owner_id": 7,
        "department_id": 3,
        "created_at": datetime(2024, 5, 1, 9, 0, tzinfo=timezone.utc),
        "submitted_at": None,
        "data": json.loads(json.dumps(to_json(data, numbers_as_json))),
    }
    values.update(columns)
    return values


def typed_value(value: Any, t: T.Type) -> Any:
    """Stored JSON → the typed value the form layer hands the Python back end."""
    if value is None:
        return None
    if t in (T.MONEY, T.DECIMAL):
        return Decimal(str(value))
    if t == T.DATE:
        return date.fromisoformat(value)
    if t == T.DATETIME:
        return datetime.fromisoformat(value)
    if isinstance(t, T.ListOf):
        return [typed_value(v, t.item) for v in value]
    if isinstance(t, T.RecordOf):
        return {k: typed_value(v, t.fields[k]) for k, v in value.items() if k in t.fields}
    return value
