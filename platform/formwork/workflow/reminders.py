"""催办: the submitter reminds the people a request waits on, at most once per interval.

The reminder is a notification to each current approver (by every channel that reaches them) and an
entry in the trail, so everyone sees who reminded whom and when. The interval
(``FORMWORK_REMIND_INTERVAL_SECONDS``) is counted from the last reminder on the request; two clicks
at once are serialised on the process row, so they cannot both get through.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import current_app
from flask_babel import gettext
from sqlalchemy import func, select

from ..db_types import utcnow
from ..extensions import db
from ..org.clock import as_utc
from ..records.models import Record
from .errors import WorkflowError
from .models import APPROVAL, OPEN, RUNNING, Process, Task, TrailEntry
from .runtime import notifier

REMIND = "remind"  # the trail action


class RemindRefused(WorkflowError):
    """Nothing to remind of (409), or not the submitter (404 to reveal nothing)."""

    status = 409


class TooSoon(WorkflowError):
    """A reminder went out less than the interval ago (429); ``retry_after`` in seconds."""

    status = 429

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after


def interval() -> timedelta:
    return timedelta(seconds=int(current_app.config.get("FORMWORK_REMIND_INTERVAL_SECONDS", 3600)))


def last_reminded(record_id: int) -> Any:
    return db.session.scalar(
        select(func.max(TrailEntry.at)).where(TrailEntry.record_id == record_id, TrailEntry.action == REMIND)
    )


def can_remind(record: Record, user: Any) -> bool:
    """Whether the page offers 催办: the submitter's running request that waits on someone."""
    return (
        record.owner_id == getattr(user, "id", None)
        and db.session.scalar(
            select(Task.id)
            .where(Task.record_id == record.id, Task.status == OPEN, Task.kind == APPROVAL)
            .limit(1)
        )
        is not None
    )


def remind(record: Record, user: Any) -> list[int]:
    """Remind the current approvers of ``user``'s request; commits. Returns who was reminded."""
    if record.owner_id != user.id:
        raise RemindRefused(gettext("Only the submitter can send a reminder."))
    process = db.session.scalar(
        select(Process)
        .where(Process.record_id == record.id, Process.status == RUNNING)
        .order_by(Process.id.desc())
        .limit(1)
        .with_for_update()
    )
    tasks = (
        db.session.scalars(
            select(Task)
            .where(Task.process_id == process.id, Task.status == OPEN, Task.kind == APPROVAL)
            .order_by(Task.id)
        ).all()
        if process is not None
        else []
    )
    if not tasks:
        db.session.rollback()
        raise RemindRefused(gettext("The request is not waiting for anyone."))
    last = last_reminded(record.id)
    now = utcnow()
    if last is not None and now - as_utc(last) < interval():
        db.session.rollback()
        wait = int((as_utc(last) + interval() - now).total_seconds()) + 1
        raise TooSoon(
            gettext(
                "A reminder was sent recently; you can send another in %(minutes)s minutes.",
                minutes=max(1, -(-wait // 60)),
            ),
            wait,
        )
    people = sorted({task.assignee_id for task in tasks})
    db.session.add(
        TrailEntry(
            process_id=process.id,
            record_id=record.id,
            action=REMIND,
            actor_id=user.id,
            details={"users": people},
            at=now,
        )
    )
    notify = notifier()  # notifications sit above the workflow: reached through the runtime's door
    if notify is not None:
        for task in tasks:
            notify([task.assignee_id], "reminder", record=record, task=task, params={"actor": user})
    db.session.commit()
    return people
