"""Records, their change history, and uploaded attachments."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db_types import JSONDocument, Timestamp, utcnow
from ..definitions.models import DefinitionVersion
from ..extensions import Model
from ..org.models import Department, User

DRAFT = "draft"
SUBMITTED = "submitted"
STATUSES = (DRAFT, SUBMITTED, "in_review", "returned", "approved", "rejected", "withdrawn")
# Only its owner edits a record, and only in these statuses.
EDITABLE_STATUSES = (DRAFT, "returned")


class Record(Model):
    __tablename__ = "records"
    __table_args__ = (
        UniqueConstraint("owner_id", "client_token"),
        # PostgreSQL: JSONB containment on the data (``data @> {...}``, e.g. the duplicate-invoice
        # fact looking for one invoice number among every claim) is an index lookup, not a scan.
        Index(
            "ix_records_data", "data", postgresql_using="gin", postgresql_ops={"data": "jsonb_path_ops"}
        ).ddl_if(dialect="postgresql"),
        # Lists newest first, a page at a time (``records.listing``): each visibility condition
        # reads its newest rows in index order — a person's own records, a department's (data
        # scopes), every record (administrators), one form's — and stops after the page.
        Index("ix_records_owner_created", "owner_id", "created_at", "id"),
        Index("ix_records_owner_form_created", "owner_id", "form_key", "created_at", "id"),
        Index("ix_records_department_created", "department_id", "created_at", "id"),
        Index("ix_records_form_created", "form_key", "created_at", "id"),
        # The KPI alerts ask whether a form's records changed since their last check.
        Index("ix_records_form_updated", "form_key", "updated_at"),
        Index("ix_records_created", "created_at", "id"),
        # My requests: one's own, newest by submission (a draft by creation).
        Index(
            "ix_records_owner_newest",
            "owner_id",
            func.coalesce(text("submitted_at"), text("created_at")),
            "id",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    form_key: Mapped[str] = mapped_column(String(100), index=True)
    # The exact definition version the record was created with; it is always shown and validated with it.
    definition_id: Mapped[int] = mapped_column(ForeignKey("definition_versions.id"))
    form_version: Mapped[int] = mapped_column(Integer)
    # Field values as JSON: decimals and money as strings, so nothing passes through float.
    data: Mapped[dict] = mapped_column(JSONDocument)
    status: Mapped[str] = mapped_column(String(20), default=DRAFT, index=True)
    title: Mapped[str | None] = mapped_column(String(300))
    search_text: Mapped[str | None] = mapped_column(Text)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), index=True)
    # A client-chosen token per creation attempt: a repeated submit finds the first record.
    client_token: Mapped[str | None] = mapped_column(String(64))
    # SHA-256 of the request that carried the token (method, form, body): the same token with
    # another request is refused rather than answered with this record.
    request_digest: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(Timestamp(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(Timestamp(), default=utcnow, onupdate=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(Timestamp())
    # The number finance files the voucher under (``BX-2026-000001``), given at the first
    # submission when the form defines ``numbering`` (``records.numbering``); kept afterwards.
    voucher_number: Mapped[str | None] = mapped_column(String(40), unique=True)
    # Optimistic locking: two concurrent edits cannot both win.
    lock_version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": lock_version}

    definition: Mapped[DefinitionVersion] = relationship()
    owner: Mapped[User] = relationship(foreign_keys=[owner_id])
    department: Mapped[Department | None] = relationship()


class NumberSequence(Model):
    """The last voucher number given for one prefix in one year (``records.numbering``)."""

    __tablename__ = "number_sequences"

    prefix: Mapped[str] = mapped_column(String(20), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last: Mapped[int] = mapped_column(Integer)


class RecordEvent(Model):
    """Append-only history of a record: creation, edits (with changed fields), submission."""

    __tablename__ = "record_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("records.id"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(40))
    changes: Mapped[dict | None] = mapped_column(JSONDocument)
    comment: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(Timestamp(), default=utcnow)

    actor: Mapped[User | None] = relationship()


class Attachment(Model):
    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    record_id: Mapped[int | None] = mapped_column(ForeignKey("records.id"), index=True)
    form_key: Mapped[str] = mapped_column(String(100))
    field_path: Mapped[str] = mapped_column(String(200))
    # Sanitised display name; the stored file is named by ``storage_key`` only.
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(120))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(Timestamp(), default=utcnow)


class RecordReader(Model):
    """Someone told about a record who may therefore open it (read only), e.g. the people an alert
    on it notified. ``records.access`` counts them on every read path."""

    __tablename__ = "record_readers"
    __table_args__ = (UniqueConstraint("record_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("records.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    # Why they may read it: "alert:<key>" for an alert's recipients (the first reason is kept).
    reason: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(Timestamp(), default=utcnow)


class RecordValue(Model):
    """One value of a record's data copied out for searching (``records.projections``): the text at
    ``path`` (``lines.invoice_no``: every line's invoice number), one row per distinct value.

    Kept in the same transaction as every write of ``records.data``; the B-tree index makes "which
    records of this form hold this value at this path" an index lookup whatever the table's size.
    The value leads the index so that the lookup can only be answered by descending to the value:
    with the form and path first and no statistics yet, PostgreSQL matched those two in the index
    and filtered every row of the form for the value.
    """

    __tablename__ = "record_values"
    __table_args__ = (Index("ix_record_values_lookup", "text_value", "path", "form_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("records.id", ondelete="CASCADE"), index=True)
    form_key: Mapped[str] = mapped_column(String(100))
    path: Mapped[str] = mapped_column(String(200))
    # Exactly as stored in the data (what the checks compare); values longer than this are not projected.
    text_value: Mapped[str] = mapped_column(String(500))


# Exact decimals: NUMERIC on PostgreSQL; canonical decimal text on SQLite, whose NUMERIC is a
# binary float (the expressions' SQL back end reads and adds such text exactly, ``fw_dsum``).
EXACT_NUMBER = Numeric().with_variant(String(100), "sqlite")


class RecordFact(Model):
    """One typed value of a record's data for the KPIs (``records.facts``): the value at ``path``
    of the record itself (``row_no`` 0) or of its ``row_no``-th line item (from 1).

    One row per record and line and path, null values included, so the amount and the date of
    the same line meet on ``(record_id, row_no)``. Numbers are exact (``EXACT_NUMBER``), dates
    and date-times are business-calendar dates, identifiers and texts text. Kept in the same
    transaction as every write of ``records.data``, like ``RecordValue``.
    """

    __tablename__ = "record_facts"
    __table_args__ = (Index("ix_record_facts_read", "form_key", "path", "record_id", "row_no"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("records.id", ondelete="CASCADE"), index=True)
    form_key: Mapped[str] = mapped_column(String(100))
    path: Mapped[str] = mapped_column(String(200))
    row_no: Mapped[int] = mapped_column(Integer)
    number_value: Mapped[Any] = mapped_column(EXACT_NUMBER, nullable=True)
    date_value: Mapped[date | None] = mapped_column(Date, nullable=True)
    text_value: Mapped[str | None] = mapped_column(String(500), nullable=True)
