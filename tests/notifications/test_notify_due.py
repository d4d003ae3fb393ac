"""Due work on real routes: reminders, overdue notices, escalation, automatic decisions, idempotency."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml
from sqlalchemy import func, select

from formwork.db_types import utcnow
from formwork.definitions import store
from formwork.extensions import db
from formwork.notifications.models import Notification, OutboxMessage
from formwork.org.clock import as_utc
from formwork.records.models import Record
from formwork.workflow import submission
from formwork.workflow.due import run_due
from formwork.workflow.models import OPEN, Task, TrailEntry

ROOT = Path(__file__).resolve().parents[2]
NAME = {"zh-CN": "部门负责人", "en": "Department head"}


def _route(deadline: dict) -> dict:
    return {
        "kind": "route",
        "key": "due_test",
        "form": "expense_claim",
        "title": {"zh-CN": "测试", "en": "Test"},
        "no_approver": "refuse",
        "steps": [
            {"key": "head", "name": NAME, "approvers": [{"department_head": 0}], "deadline": deadline},
            {
                "key": "cashier",
                "name": {"zh-CN": "出纳", "en": "Cashier"},
                "approvers": [{"role": "cashier"}],
            },
        ],
    }


def _claim() -> dict:
    return {
        "category": "other",
        "reason": "Customer workshop",
        "lines": [
            {
                "date": date.today().replace(day=1).isoformat(),
                "type": "other",
                "amount": "1200.00",
                "invoice_no": "12345678",
            }
        ],
        "payee_name": "Payee",
        "payee_bank": "ICBC Shanghai",
        "payee_account": "6222021234567890123",
    }


@pytest.fixture
def submit(app, demo_org):
    """``submit(deadline) -> (record, head task)``: alice's claim on a route whose first step has it."""
    form = yaml.safe_load((ROOT / "definitions" / "forms" / "expense_claim.yaml").read_text("utf-8"))
    store.publish(form)

    def _submit(deadline: dict, username: str = "alice"):
        store.publish(_route(deadline))
        record = submission.create_record("expense_claim", _claim(), demo_org[username], submit=True)
        task = db.session.scalar(select(Task).where(Task.record_id == record.id, Task.status == OPEN))
        assert task is not None and task.assignee_id == demo_org["bob"].id
        return record, task

    return _submit


def _notifications(user, kind: str) -> list[Notification]:
    return list(
        db.session.scalars(
            select(Notification)
            .where(Notification.user_id == user.id, Notification.kind == kind)
            .order_by(Notification.id)
        )
    )


def _reload(task: Task) -> Task:
    db.session.expire_all()
    return db.session.get(Task, task.id)


def test_nothing_is_due_before_its_time(app, demo_org, submit):
    submit({"hours": 48, "remind_every_hours": 24})
    report = run_due(now=utcnow() + timedelta(hours=23))
    assert report.handled == 0 and report.errors == []


def test_reminders_repeat_on_their_schedule_and_twice_run_is_once(app, demo_org, submit):
    app.config["FORMWORK_SMTP_HOST"] = "mail.example.com"
    demo_org["bob"].email = "bob@example.com"
    record, task = submit({"hours": 100, "remind_every_hours": 24})
    first_remind_at = as_utc(task.remind_at)
    moment = first_remind_at + timedelta(minutes=1)
    assert run_due(now=moment).reminders == 1
    assert run_due(now=moment).handled == 0  # idempotent: the second run finds nothing due
    task = _reload(task)
    assert task.reminders_sent == 1 and as_utc(task.remind_at) == first_remind_at + timedelta(hours=24)
    reminders = _notifications(demo_org["bob"], "reminder")
    assert len(reminders) == 1 and reminders[0].task_id == task.id
    mails = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.dedupe_key.like(f"due:{task.id}:%"))
    ).all()
    assert len(mails) == 1 and mails[0].recipient == "bob@example.com"

    # After an outage of three days: one reminder, and the next one a day from now (no burst).
    late = moment + timedelta(days=3)
    assert run_due(now=late).reminders == 1
    assert as_utc(_reload(task).remind_at) == late + timedelta(hours=24)


def test_passed_deadline_with_remind_tells_the_assignee_once(app, demo_org, submit):
    record, task = submit({"hours": 2, "on_timeout": "remind"})
    moment = as_utc(task.due_at) + timedelta(minutes=5)
    report = run_due(now=moment)
    assert report.overdue == 1
    assert run_due(now=moment + timedelta(hours=1)).handled == 0  # the deadline fires once
    task = _reload(task)
    assert task.status == OPEN and task.deadline_handled_at is not None and task.due_at is not None
    [note] = _notifications(demo_org["bob"], "reminder")
    # The deadline as the assignee reads it: business time (Asia/Shanghai), with its offset.
    due = as_utc(task.due_at).astimezone(ZoneInfo("Asia/Shanghai"))
    assert note.params["due_at"] == f"{due:%Y-%m-%d %H:%M} (UTC+08:00)"


def test_auto_approve_moves_the_request_on(app, demo_org, submit):
    record, task = submit({"hours": 1, "on_timeout": "approve"})
    report = run_due(now=as_utc(task.due_at) + timedelta(seconds=1))
    assert report.approved == 1 and report.errors == []
    task = _reload(task)
    assert task.status == "approved"
    entry = db.session.scalar(
        select(TrailEntry).where(TrailEntry.task_id == task.id, TrailEntry.actor_id.is_(None))
    )
    assert entry is not None  # decided by the system, not by bob
    next_task = db.session.scalar(select(Task).where(Task.record_id == record.id, Task.status == OPEN))
    assert next_task.step_key == "cashier" and next_task.assignee_id == demo_org["grace"].id
    assert run_due(now=as_utc(task.due_at) + timedelta(hours=1)).handled == 0


def test_auto_reject_ends_the_request(app, demo_org, submit):
    record, task = submit({"hours": 1, "on_timeout": "reject"})
    assert run_due(now=as_utc(task.due_at) + timedelta(seconds=1)).rejected == 1
    db.session.expire_all()
    assert db.session.get(Record, record.id).status == "rejected"
    assert _notifications(demo_org["alice"], "rejected")


def test_escalation_moves_the_task_and_says_why(app, demo_org, submit):
    record, task = submit({"hours": 4, "on_timeout": "escalate", "escalate_to": [{"role": "cfo"}]})
    task.due_at = utcnow() - timedelta(minutes=1)  # bob let it wait past the deadline
    db.session.commit()
    moment = utcnow()
    report = run_due(now=moment)
    assert report.escalated == 1, report
    assert _reload(task).status != OPEN
    new = db.session.scalar(select(Task).where(Task.record_id == record.id, Task.status == OPEN))
    assert new.assignee_id == demo_org["dave"].id and new.step_key == "head"
    [note] = _notifications(demo_org["dave"], "escalated")
    assert note.task_id == new.id
    assert run_due(now=moment).handled == 0

    # The escalated task's own deadline: nobody further to escalate to, so a reminder, once.
    later = as_utc(new.due_at) + timedelta(seconds=1)
    report = run_due(now=later)
    assert (report.escalated, report.overdue) == (0, 1), report
    assert run_due(now=later).handled == 0
    assert _reload(new).assignee_id == demo_org["dave"].id


def test_a_task_decided_meanwhile_is_left_alone(app, demo_org, submit):
    from formwork.workflow import service as workflow

    record, task = submit({"hours": 1, "on_timeout": "reject"})
    workflow.decide(task.id, demo_org["bob"], "approve")
    report = run_due(now=utcnow() + timedelta(hours=2))
    assert report.rejected == 0
    db.session.expire_all()
    assert db.session.get(Record, record.id).status == "in_review"


def test_due_run_command(app, runner, demo_org, submit):
    submit({"hours": 1, "remind_every_hours": 1, "on_timeout": "remind"})
    # the command uses the real clock: move the task's times into the past
    for task in db.session.scalars(select(Task)):
        task.remind_at = utcnow() - timedelta(minutes=1)
        task.due_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    result = runner.invoke(args=["due", "run", "--limit", "10"])
    assert result.exit_code == 0, result.output
    assert "overdue notices 1" in result.output
    assert (
        db.session.scalar(
            select(func.count()).select_from(Notification).where(Notification.kind == "reminder")
        )
        == 1
    )
