"""The expression language's SQL back end as the custom-filter back end of data scopes.

A grant's ``filter`` is checked when its definition is published; here the same analysis
becomes a ``WHERE`` clause over ``records`` with the ``$user`` values bound for this request,
so a custom scope is applied by the database, never row by row in Python.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import ColumnElement

from ..business_time import local, now
from ..expressions import RecordColumns, compile_sql_filter
from ..extensions import db
from ..records.models import Record
from .filters import Filter, type_env


def custom_filter_sql(condition: Filter, *, user: Mapping[str, Any], form_key: str) -> ColumnElement[bool]:
    """``condition`` as a condition on ``records`` in this database (``scopes.CustomFilterBackend``)."""
    dialect = db.engine.dialect.name
    # The analysis was checked at publish against the form's fields; the environment is not read again.
    columns = RecordColumns.of(Record.__table__)
    translated = compile_sql_filter(condition.analysis, type_env(None), columns, dialect)
    moment = now()
    return translated.bind({"user": dict(user), "today": local(moment).date(), "now": moment})
