"""The outbox worker: send pending messages, retry failures with backoff, give up after N tries.

Each message is claimed in a short transaction of its own: the row is picked with
``FOR UPDATE SKIP LOCKED`` on PostgreSQL (other workers skip it instead of waiting)
and its ``next_attempt_at`` is moved forward by a lease, with a conditional update
so that on SQLite, too, only one worker wins the claim. The send happens outside any
transaction (a slow mail server holds no locks), and the outcome is written in a
second short transaction. A worker that dies between claim and outcome loses
nothing: when the lease runs out the message is due again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select, update

from ..db_types import utcnow
from ..extensions import db, rows_affected
from .channels import OutgoingMessage, channels
from .models import DEAD, PENDING, SENT, OutboxMessage

log = logging.getLogger(__name__)
ERROR_LENGTH = 2000


@dataclass
class DeliveryReport:
    sent: int = 0
    retried: int = 0
    dead: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def handled(self) -> int:
        return self.sent + self.retried + self.dead


def _config(name: str, default: int) -> int:
    return int(current_app.config.get(name) or default)


def backoff(attempts: int) -> timedelta:
    """Wait before the next try after ``attempts`` failures: base × 2^(attempts-1), capped."""
    base = _config("FORMWORK_OUTBOX_RETRY_SECONDS", 60)
    cap = _config("FORMWORK_OUTBOX_RETRY_MAX_SECONDS", 6 * 3600)
    return timedelta(seconds=min(base * 2 ** max(attempts - 1, 0), cap))


def claim_one(now: datetime) -> OutgoingMessage | None:
    """Claim the oldest due message for this worker (committed), or None when nothing is due."""
    lease = timedelta(seconds=_config("FORMWORK_OUTBOX_LEASE_SECONDS", 300))
    postgres = db.session.get_bind().dialect.name == "postgresql"
    try:
        for _ in range(5):  # another worker may win a candidate on SQLite; try the next one
            stmt = (
                select(OutboxMessage)
                .where(OutboxMessage.status == PENDING, OutboxMessage.next_attempt_at <= now)
                .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
                .limit(1)
            )
            if postgres:
                stmt = stmt.with_for_update(skip_locked=True)
            row = db.session.scalar(stmt)
            if row is None:
                db.session.commit()
                return None
            claimed = rows_affected(
                update(OutboxMessage)
                .where(
                    OutboxMessage.id == row.id,
                    OutboxMessage.status == PENDING,
                    OutboxMessage.next_attempt_at <= now,
                )
                .values(next_attempt_at=now + lease)
                .execution_options(synchronize_session=False)
            )
            if claimed == 1:
                message = OutgoingMessage(
                    id=row.id,
                    channel=row.channel,
                    recipient=row.recipient,
                    subject=row.subject,
                    body=row.body,
                    payload=dict(row.payload or {}),
                    attempts=row.attempts or 0,
                )
                db.session.commit()
                return message
            db.session.rollback()
        return None
    except Exception:
        db.session.rollback()
        raise


def _send(message: OutgoingMessage) -> None:
    channel = channels().get(message.channel)
    if channel is None:
        raise LookupError(f"no notification channel named {message.channel!r} is installed")
    channel.send(message)


def _record_outcome(
    message: OutgoingMessage, error: Exception | None, now: datetime, report: DeliveryReport
) -> None:
    attempts = message.attempts + 1
    if error is None:
        values = {"status": SENT, "attempts": attempts, "sent_at": utcnow(), "last_error": None}
        report.sent += 1
    else:
        detail = f"{type(error).__name__}: {error}"[:ERROR_LENGTH]
        values = {"attempts": attempts, "last_error": detail}
        if attempts >= _config("FORMWORK_OUTBOX_MAX_ATTEMPTS", 10):
            values["status"] = DEAD
            report.dead += 1
            log.error(
                "outbox message %s (%s) is dead after %s attempts: %s",
                message.id,
                message.channel,
                attempts,
                detail,
            )
        else:
            values["next_attempt_at"] = now + backoff(attempts)
            report.retried += 1
            log.warning(
                "outbox message %s (%s) failed, attempt %s: %s", message.id, message.channel, attempts, detail
            )
        report.errors.append(f"#{message.id} {message.channel} {message.recipient}: {detail}")
    db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message.id, OutboxMessage.status == PENDING)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()


def deliver(limit: int = 100, *, now: datetime | None = None) -> DeliveryReport:
    """Send up to ``limit`` due messages; safe to run in several processes at once."""
    report = DeliveryReport()
    while report.handled < limit:
        moment = now or utcnow()
        message = claim_one(moment)
        if message is None:
            break
        try:
            _send(message)
        except Exception as exc:  # any channel failure is retried; nothing escapes the worker
            _record_outcome(message, exc, moment, report)
        else:
            _record_outcome(message, None, moment, report)
    return report


def requeue(message_ids: list[int] | None = None) -> int:
    """Make dead messages (all, or the given ids) pending again with a fresh count. Commits."""
    stmt = update(OutboxMessage).where(OutboxMessage.status == DEAD)
    if message_ids:
        stmt = stmt.where(OutboxMessage.id.in_(message_ids))
    count = rows_affected(
        stmt.values(status=PENDING, attempts=0, next_attempt_at=utcnow()).execution_options(
            synchronize_session=False
        )
    )
    db.session.commit()
    return count
