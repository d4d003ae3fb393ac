"""Column types shared by every model."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime
from sqlalchemy.dialects.postgresql import JSONB

from . import business_time

# JSONB on PostgreSQL (indexable, compact); plain JSON text elsewhere.
JSONDocument = JSON().with_variant(JSONB(), "postgresql")


def utcnow() -> datetime:
    """The current instant in UTC, from the one clock (``business_time.now``)."""
    return business_time.now()


def Timestamp() -> DateTime:  # noqa: N802 - reads like a type in column declarations
    return DateTime(timezone=True)


def include_for_dialect(dialect_name: str):
    """An Alembic ``include_object`` hook: leaves out schema items that the models declare for
    another database only (``Index(...).ddl_if(dialect=...)``), which Alembic does not know of."""

    def include(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
        condition = getattr(obj, "_ddl_if", None)
        wanted = getattr(condition, "dialect", None)
        if wanted is None:
            return True
        return dialect_name in ((wanted,) if isinstance(wanted, str) else tuple(wanted))

    return include
