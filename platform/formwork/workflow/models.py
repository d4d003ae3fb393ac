"""Approval state, all in the database so any worker can serve any request.

A ``Process`` is one run of a record through one route version; ``Task`` rows are the
work items people act on; ``TrailEntry`` rows are the append-only history; a
``Delegation`` is an out-of-office period.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, Select, String, Text, or_, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db_types import JSONDocument, Timestamp, utcnow
from ..definitions.models import DefinitionVersion
from ..extensions import Model
from ..org.models import User
from ..records.models import Record

# Process.status
RUNNING, APPROVED, REJECTED, RETURNED, WITHDRAWN, CANCELLED = (
    "running",
    "approved",
    "rejected",
    "returned",
    "withdrawn",
    "cancelled",
)
# Task.status
OPEN = "open"
# Paused, neither open nor closed: waiting for a delegate (委派) or a signer added before (前加签) to answer.
WAITING = "waiting"
TASK_CLOSED_STATUSES = (
    "approved",
    "rejected",
    "returned",
    "transferred",
    "delegated",
    "skipped",
    "cancelled",
    "expired",
    "read",
)
# Task.kind
APPROVAL, CC = "approval", "cc"


class Process(Model):
    __tablename__ = "processes"

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("records.id"), index=True)
    # The route version the request started with; it runs on it to the end.
    route_id: Mapped[int] = mapped_column(ForeignKey("definition_versions.id"))
    status: Mapped[str] = mapped_column(String(20), default=RUNNING, index=True)
    # The runtime's position in the route (active nodes, join counters, rounds); JSON so a
    # new route construct needs no schema change.
    state: Mapped[dict] = mapped_column(JSONDocument, default=dict)
    started_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    started_at: Mapped[datetime] = mapped_column(Timestamp(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(Timestamp())
    # Optimistic lock: two decisions racing on one process produce exactly one transition.
    lock_version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": lock_version}

    record: Mapped[Record] = relationship()
    route: Mapped[DefinitionVersion] = relationship()
    started_by: Mapped[User] = relationship()


class Task(Model):
    __tablename__ = "tasks"
    __table_args__ = (
        # The inbox: my open tasks, oldest first.
        Index("ix_tasks_assignee_status_created", "assignee_id", "status", "created_at"),
        # Due work: open tasks whose deadline or reminder time has come.
        Index("ix_tasks_status_due", "status", "due_at"),
        Index("ix_tasks_status_remind", "status", "remind_at"),
        # What I decided, latest first (the inbox's "decided" list).
        Index("ix_tasks_decided_by_decided_at", "decided_by_id", "decided_at"),
        # Who may read a record: the records of tasks meant for me (with the assignee index,
        # "assigned to me or meant for me" is two index scans, never a scan of every task).
        Index("ix_tasks_intended_record", "intended_id", "record_id"),
        # ... and of the tasks assigned to me, read from the index alone.
        Index("ix_tasks_assignee_record", "assignee_id", "record_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    process_id: Mapped[int] = mapped_column(ForeignKey("processes.id"), index=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("records.id"), index=True)
    step_key: Mapped[str] = mapped_column(String(100))
    # Which activation of the step (a step can run again after a return).
    round: Mapped[int] = mapped_column(Integer, default=1)
    kind: Mapped[str] = mapped_column(String(20), default=APPROVAL)
    status: Mapped[str] = mapped_column(String(20), default=OPEN)
    # Who must act now, and who the route meant (they differ under out-of-office delegation or transfer).
    assignee_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    intended_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # For 委派 (delegate and get back): the task that waits for this one.
    parent_task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id"))
    created_at: Mapped[datetime] = mapped_column(Timestamp(), default=utcnow)
    due_at: Mapped[datetime | None] = mapped_column(Timestamp())
    remind_at: Mapped[datetime | None] = mapped_column(Timestamp())
    reminders_sent: Mapped[int] = mapped_column(Integer, default=0)
    # When due work acted on the passed deadline (reminded or escalated while the task stays open);
    # None until then. Keeps ``due_at`` for the inbox's "overdue" and makes the deadline fire once.
    deadline_handled_at: Mapped[datetime | None] = mapped_column(Timestamp())
    decided_at: Mapped[datetime | None] = mapped_column(Timestamp())
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decision: Mapped[str | None] = mapped_column(String(30))
    comment: Mapped[str | None] = mapped_column(Text)
    lock_version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": lock_version}

    process: Mapped[Process] = relationship()
    record: Mapped[Record] = relationship()
    assignee: Mapped[User] = relationship(foreign_keys=[assignee_id])
    intended: Mapped[User | None] = relationship(foreign_keys=[intended_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])


class TrailEntry(Model):
    """Append-only: who did what, when, with which comment, on behalf of whom."""

    __tablename__ = "trail_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    process_id: Mapped[int] = mapped_column(ForeignKey("processes.id"), index=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("records.id"), index=True)
    task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id"))
    step_key: Mapped[str | None] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(40))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # None: the system (timeouts, skips)
    on_behalf_of_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    comment: Mapped[str | None] = mapped_column(Text)
    attachment_ids: Mapped[list | None] = mapped_column(JSONDocument)
    details: Mapped[dict | None] = mapped_column(JSONDocument)
    at: Mapped[datetime] = mapped_column(Timestamp(), default=utcnow)

    actor: Mapped[User | None] = relationship(foreign_keys=[actor_id])
    on_behalf_of: Mapped[User | None] = relationship(foreign_keys=[on_behalf_of_id])


class Delegation(Model):
    """Out of office: tasks arriving for ``user`` between ``starts_at`` and ``ends_at`` go to ``delegate``."""

    __tablename__ = "delegations"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    delegate_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    starts_at: Mapped[datetime] = mapped_column(Timestamp())
    ends_at: Mapped[datetime] = mapped_column(Timestamp())
    created_at: Mapped[datetime] = mapped_column(Timestamp(), default=utcnow)
    cancelled_at: Mapped[datetime | None] = mapped_column(Timestamp())

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    delegate: Mapped[User] = relationship(foreign_keys=[delegate_id])


def task_record_ids(user_id: int) -> Select:
    """Records the user was asked to act on (approval or copy), now or earlier: they may read them."""
    return select(Task.record_id).where(or_(Task.assignee_id == user_id, Task.intended_id == user_id))
