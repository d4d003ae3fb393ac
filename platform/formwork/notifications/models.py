"""In-app notifications and the transactional outbox."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..db_types import JSONDocument, Timestamp, utcnow
from ..extensions import Model

PENDING, SENT, DEAD = "pending", "sent", "dead"


class Notification(Model):
    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_user_read", "user_id", "read_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(
        String(40)
    )  # task_assigned, reminder, approved, rejected, cc, alert, ...
    record_id: Mapped[int | None] = mapped_column(ForeignKey("records.id"))
    task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id"))
    # Message parameters, rendered in the reader's language when shown.
    params: Mapped[dict | None] = mapped_column(JSONDocument)
    created_at: Mapped[datetime] = mapped_column(Timestamp(), default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(Timestamp())


class OutboxMessage(Model):
    """A side effect (e-mail, webhook) written in the same transaction as the change that causes it."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status_next", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(40))  # "email", or a plugin channel name
    recipient: Mapped[str] = mapped_column(String(500))
    subject: Mapped[str | None] = mapped_column(String(500))
    body: Mapped[str | None] = mapped_column(Text)
    payload: Mapped[dict | None] = mapped_column(JSONDocument)
    # Makes enqueueing idempotent: a repeated run of due work never sends twice.
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    status: Mapped[str] = mapped_column(String(20), default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(Timestamp(), default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(Timestamp(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(Timestamp())
