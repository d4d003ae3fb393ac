"""Due-time work: reminders and passed deadlines of open approval tasks.

``run_due`` is what ``formwork due run`` calls from cron or a systemd timer. Each due
task is handled in a transaction of its own:

1. **Claim.** The task's *process* row is locked with ``FOR UPDATE SKIP LOCKED`` on
   PostgreSQL — the same row, and so the same lock order, a person's decision takes —
   so another copy of the command (on this host or another) skips it instead of waiting,
   and a decision in flight is never interleaved with a timeout. After the lock the task
   is read again and the condition checked again: a copy that finished it a moment ago
   has moved ``remind_at`` or set ``deadline_handled_at``, and the task is left alone.
   On SQLite (one writer at a time) the task's optimistic ``lock_version`` does the same.
2. **Deadline passed** (``due_at`` reached, not yet handled) — the step's ``on_timeout``:
   ``remind`` (tell the assignee it is overdue), ``escalate`` (the runtime moves the task to
   the step's ``escalate_to`` person and writes the trail; when nobody resolves, a reminder
   instead), ``approve`` / ``reject`` (the runtime decides on the system's behalf, trail
   actor "system"). The deadline fires once: ``deadline_handled_at`` is set, and ``due_at``
   stays for the inbox's "overdue".
3. **Reminder due** (``remind_at`` reached) — remind the assignee, count it in
   ``reminders_sent`` and set the next ``remind_at`` from the step's ``remind_every_hours``.

Running the command twice is harmless: the second run finds nothing due, and every
message it would enqueue carries a dedupe key per task and due time.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm.exc import StaleDataError

from ..db_types import utcnow
from ..extensions import db
from ..notifications.service import notify
from ..org.clock import as_utc
from . import service as workflow
from .errors import NotYourTask, TaskClosed
from .models import APPROVAL, OPEN, Process, Task

log = logging.getLogger(__name__)


@dataclass
class DueReport:
    reminders: int = 0
    overdue: int = 0  # deadlines answered with a reminder (on_timeout: remind, or nobody to escalate to)
    escalated: int = 0
    approved: int = 0
    rejected: int = 0
    skipped: int = 0  # decided or handled by someone else meanwhile
    errors: list[str] = field(default_factory=list)

    @property
    def handled(self) -> int:
        return self.reminders + self.overdue + self.escalated + self.approved + self.rejected


def _due_condition(now: datetime):
    return and_(
        Task.status == OPEN,
        Task.kind == APPROVAL,
        or_(
            and_(Task.remind_at.is_not(None), Task.remind_at <= now),
            and_(Task.due_at.is_not(None), Task.due_at <= now, Task.deadline_handled_at.is_(None)),
        ),
    )


def _claim(now: datetime, skip: set[int], task_id: int | None = None) -> Task | None:
    """Lock the process of one due task (skipping ones locked elsewhere) and return the task, re-read."""
    stmt = select(Task.id).join(Process, Process.id == Task.process_id).where(_due_condition(now))
    if task_id is not None:
        stmt = stmt.where(Task.id == task_id)
    if skip:
        stmt = stmt.where(Task.id.not_in(skip))
    stmt = stmt.order_by(Task.id).limit(1)
    if db.session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(of=Process, skip_locked=True)
    found = db.session.scalar(stmt)
    if found is None:
        return None
    # Re-read after the lock: a copy that held it a moment ago may have handled the task.
    task = db.session.execute(
        select(Task).where(Task.id == found).execution_options(populate_existing=True)
    ).scalar_one()
    return task if _is_due(task, now) else None


def _is_due(task: Task, now: datetime) -> bool:
    return task.status == OPEN and (_remind_due(task, now) or _deadline_due(task, now))


def _remind_due(task: Task, now: datetime) -> bool:
    return task.remind_at is not None and as_utc(task.remind_at) <= now


def _deadline_due(task: Task, now: datetime) -> bool:
    return task.due_at is not None and as_utc(task.due_at) <= now and task.deadline_handled_at is None


def _deadline_of(task: Task) -> Any:
    """The step's ``Deadline`` from the route version the process runs on (None: no deadline)."""
    route = workflow.compiled_route(task.process.route)
    step = route.steps.get(task.step_key)
    return step.deadline if step is not None else None


def _stamp(moment: datetime | None) -> str:
    return as_utc(moment).strftime("%Y%m%dT%H%M%S") if moment is not None else "none"


def _remind(task: Task, now: datetime, deadline: Any, *, overdue: bool) -> None:
    """Tell the assignee, count the reminder and schedule the next one (in the current transaction)."""
    number = (task.reminders_sent or 0) + 1
    params: dict[str, Any] = {}
    if task.due_at is not None:
        params["due_at"] = as_utc(task.due_at)
    key = f"due:{task.id}:deadline:{_stamp(task.due_at)}" if overdue else f"due:{task.id}:remind:{number}"
    notify([task.assignee_id], "reminder", task=task, params=params, dedupe=key)
    task.reminders_sent = number
    if _remind_due(task, now):
        task.remind_at = _next_reminder(task, now, deadline)


def _next_reminder(task: Task, now: datetime, deadline: Any) -> datetime | None:
    hours = getattr(deadline, "remind_every_hours", None)
    if not hours:
        return None
    every = timedelta(hours=hours)
    # Called for a task whose reminder is due, so remind_at is set; without one, count from now.
    following = (as_utc(task.remind_at) if task.remind_at is not None else now) + every
    return following if following > now else now + every  # after an outage: one reminder, not a burst


def _handle(task: Task, now: datetime, report: DueReport) -> None:
    """Do what is due on one claimed task and commit."""
    deadline = _deadline_of(task)
    if _deadline_due(task, now):
        on_timeout = getattr(deadline, "on_timeout", "remind")
        if on_timeout in ("approve", "reject"):
            workflow.auto_decide(task.id, on_timeout)  # commits, with the trail and the submitter's notice
            if on_timeout == "approve":
                report.approved += 1
            else:
                report.rejected += 1
            return
        if on_timeout == "escalate":
            # Commits, with the trail entry and the "escalated" notice to the new assignee;
            # rolls back (our lock too) when nobody resolves.
            if workflow.escalate(task.id) is not None:
                report.escalated += 1
                return
            claimed = _claim(now, set(), task.id)  # nobody to escalate to: remind instead, under a fresh lock
            if claimed is None:
                db.session.rollback()
                report.skipped += 1
                return
            task = claimed
        _remind(task, now, deadline, overdue=True)
        task.deadline_handled_at = now
        db.session.commit()
        report.overdue += 1
        return
    _remind(task, now, deadline, overdue=False)
    db.session.commit()
    report.reminders += 1


def run_due(limit: int = 500, *, now: datetime | None = None) -> DueReport:
    """Handle up to ``limit`` due tasks; safe to run in several processes on several hosts at once."""
    report = DueReport()
    failed: set[int] = set()
    attempts = 0
    while attempts < limit:
        moment = now or utcnow()
        try:
            task = _claim(moment, failed)
        except Exception:
            db.session.rollback()
            raise
        if task is None:
            db.session.rollback()
            break
        attempts += 1
        task_id = task.id
        try:
            _handle(task, moment, report)
        except (TaskClosed, NotYourTask, StaleDataError):
            db.session.rollback()  # decided or handled elsewhere meanwhile: nothing left to do
            failed.add(task_id)
            report.skipped += 1
        except Exception as exc:  # one broken task must not stop the others; it is retried next run
            db.session.rollback()
            failed.add(task_id)
            detail = getattr(exc, "message", None) or str(exc) or type(exc).__name__
            report.errors.append(f"task {task_id}: {detail}")
            log.exception("due work failed for task %s", task_id)
    return report
