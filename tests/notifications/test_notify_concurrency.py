"""Several workers at once on PostgreSQL: each due task handled once, each message sent once."""

from __future__ import annotations

import copy
import threading
from datetime import date, timedelta
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select

from formwork.db_types import utcnow
from formwork.definitions import store
from formwork.extensions import db
from formwork.notifications import delivery, service
from formwork.notifications.models import SENT, OutboxMessage
from formwork.workflow import submission
from formwork.workflow.due import run_due
from formwork.workflow.models import Task, TrailEntry

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.postgres_only


@pytest.fixture(autouse=True)
def postgres_only(app):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("needs PostgreSQL: row locks with SKIP LOCKED")


def _in_threads(app, count: int, work) -> list[BaseException]:
    barrier = threading.Barrier(count)
    failures: list[BaseException] = []

    def run(index: int) -> None:
        with app.app_context():
            try:
                barrier.wait(timeout=10)
                work(index)
            except BaseException as exc:  # collected and asserted on in the test
                failures.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return failures


def test_two_due_workers_handle_each_task_exactly_once(app, demo_org):
    store.publish(yaml.safe_load((ROOT / "definitions" / "forms" / "expense_claim.yaml").read_text("utf-8")))
    store.publish(
        {
            "kind": "route",
            "key": "due_race",
            "form": "expense_claim",
            "title": {"zh-CN": "测", "en": "T"},
            "no_approver": "refuse",
            "steps": [
                {
                    "key": "head",
                    "name": {"zh-CN": "负责人", "en": "Head"},
                    "approvers": [{"department_head": 0}],
                    "deadline": {"hours": 1, "remind_every_hours": 1, "on_timeout": "approve"},
                },
                {
                    "key": "cashier",
                    "name": {"zh-CN": "出纳", "en": "Cashier"},
                    "approvers": [{"role": "cashier"}],
                    "deadline": {"hours": 10, "remind_every_hours": 1, "on_timeout": "remind"},
                },
            ],
        }
    )
    claim = {
        "category": "other",
        "reason": "Workshop",
        "payee_name": "P",
        "payee_bank": "ICBC",
        "payee_account": "6222021234567890123",
        "lines": [
            {
                "date": date.today().replace(day=1).isoformat(),
                "type": "other",
                "amount": "100.00",
                "invoice_no": "1",
            }
        ],
    }
    count = 8
    for index in range(count):
        claim["lines"][0]["invoice_no"] = f"{12345670 + index}"  # distinct: no duplicate-invoice alert
        submission.create_record("expense_claim", copy.deepcopy(claim), demo_org["alice"], submit=True)
    past = utcnow() - timedelta(minutes=1)
    head_tasks = list(db.session.scalars(select(Task).where(Task.step_key == "head")))
    for index, task in enumerate(head_tasks):
        if index % 2:
            task.due_at = past  # auto-approve
        else:
            task.remind_at = past  # a reminder only
    db.session.commit()

    reports = []
    failures = _in_threads(app, 2, lambda i: reports.append(run_due(limit=100)))
    assert failures == []
    assert [r.errors for r in reports] == [[], []]
    assert sum(r.approved for r in reports) == count // 2
    assert sum(r.reminders for r in reports) == count // 2
    db.session.expire_all()
    system_approvals = db.session.scalar(
        select(func.count())
        .select_from(TrailEntry)
        .where(TrailEntry.action == "approve", TrailEntry.actor_id.is_(None))
    )
    assert system_approvals == count // 2
    assert (
        db.session.scalar(select(func.count()).select_from(Task).where(Task.step_key == "cashier"))
        == count // 2
    )
    reminded = list(
        db.session.scalars(select(Task.reminders_sent).where(Task.step_key == "head", Task.status == "open"))
    )
    assert reminded == [1] * (count // 2)
    assert run_due().handled == 0


def test_two_delivery_workers_send_each_message_once(app, webhook, demo_org):
    app.config.update(FORMWORK_WEBHOOK_URL=webhook.url)
    for _ in range(20):
        service.notify([demo_org["bob"].id], "cc")
    db.session.commit()
    failures = _in_threads(app, 2, lambda i: delivery.deliver(limit=100))
    assert failures == []
    assert len(webhook.posts) == 20
    db.session.expire_all()
    statuses = list(db.session.scalars(select(OutboxMessage.status)))
    assert statuses == [SENT] * 20


def test_racing_enqueues_with_one_key_make_one_message(app):
    def enqueue(index: int) -> None:
        service.enqueue("email", f"r{index}@example.com", subject="s", dedupe_key="race-key")
        db.session.commit()

    failures = _in_threads(app, 4, enqueue)
    assert failures == []
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 1
