"""Published definition versions: immutable, numbered per (kind, key)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..db_types import JSONDocument, Timestamp, utcnow
from ..extensions import Model


class DefinitionVersion(Model):
    __tablename__ = "definition_versions"
    __table_args__ = (UniqueConstraint("kind", "key", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))  # "form" now; "route", "permission", "kpi" later
    key: Mapped[str] = mapped_column(String(100), index=True)
    version: Mapped[int] = mapped_column(Integer)
    # Deferred: hot paths need only the id and checksum to find the compiled form in the cache.
    content: Mapped[dict] = mapped_column(JSONDocument, deferred=True)
    # sha256 of the canonical JSON of ``content``: an unchanged definition is not stored again.
    checksum: Mapped[str] = mapped_column(String(64))
    source: Mapped[str | None] = mapped_column(String(500))
    published_at: Mapped[datetime] = mapped_column(Timestamp(), default=utcnow)
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
