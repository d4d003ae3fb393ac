"""Helpers for the workflow tests: routes on the expense claim, submitting, acting, reading the state."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import select

from formwork.extensions import db
from formwork.org.users import user_by_username
from formwork.records.models import Record
from formwork.workflow import service, submission
from formwork.workflow.models import APPROVAL, OPEN, Task, TrailEntry

ROOT = Path(__file__).resolve().parents[2]
NAME = {"zh-CN": "步骤", "en": "Step"}
# The expense claim route of PRODUCT.md: head → finance review → (total ≥ 50,000: CFO) → cashier;
# a head's own claim goes one level up.
EXPENSE_ROUTE = """
kind: route
key: expense_approval
form: expense_claim
title: {zh-CN: 费用报销审批, en: Expense claim approval}
self_approval: send_up
no_approver: refuse
steps:
  - key: head
    name: {zh-CN: 部门负责人, en: Department head}
    approvers: [{department_head: 0}]
  - key: finance
    name: {zh-CN: 财务审核, en: Finance review}
    approvers: [{role: finance_reviewer}]
  - key: cfo
    name: {zh-CN: 财务总监, en: CFO}
    when: total >= 50000
    approvers: [{role: cfo}]
  - key: cashier
    name: {zh-CN: 出纳, en: Cashier}
    approvers: [{role: cashier}]
"""


def simple_route(*steps: dict, **extra: Any) -> dict:
    """A route on the expense claim with the given step (or parallel/branch) nodes."""
    content = {
        "kind": "route",
        "key": "test_route",
        "form": "expense_claim",
        "title": {"zh-CN": "测试", "en": "Test"},
        "steps": list(steps),
    }
    content.update(extra)
    return content


def step(key: str, *approvers: dict, **extra: Any) -> dict:
    return {"key": key, "name": NAME, "approvers": list(approvers), **extra}


def claim_data(amount: str = "12000.00", **overrides: Any) -> dict:
    data = {
        "category": "other",
        "reason": "Customer workshop",
        "lines": [
            {
                "date": date.today().replace(day=1).isoformat(),
                "type": "other",
                "amount": amount,
                "invoice_no": "12345678",
            }
        ],
        "payee_name": "Payee",
        "payee_bank": "ICBC Shanghai",
        "payee_account": "6222021234567890123",
    }
    data.update(overrides)
    return data


def user(name: str):
    return user_by_username(name)


def submit(username: str, amount: str = "12000.00", **overrides: Any) -> Record:
    return submission.create_record(
        "expense_claim", claim_data(amount, **overrides), user(username), submit=True
    )


def open_tasks(record: Record, kind: str = APPROVAL) -> list[Task]:
    return list(
        db.session.scalars(
            select(Task)
            .where(Task.record_id == record.id, Task.status == OPEN, Task.kind == kind)
            .order_by(Task.id)
        )
    )


def waiting_for(record: Record) -> list[str]:
    """User names with an open approval task on the record, sorted."""
    return sorted(t.assignee.username for t in open_tasks(record))


def task_of(record: Record, username: str, kind: str = APPROVAL) -> Task:
    tasks = [t for t in open_tasks(record, kind) if t.assignee.username == username]
    assert tasks, f"{username} has no open task; open: {waiting_for(record)}"
    return tasks[0]


def act(record: Record, username: str, action: str = "approve", **kwargs: Any) -> Task:
    if action in ("reject", "return") and "comment" not in kwargs:
        kwargs["comment"] = "Please check the amounts"
    return service.decide(task_of(record, username).id, user(username), action, **kwargs)


def trail_actions(record: Record) -> list[str]:
    return list(
        db.session.scalars(
            select(TrailEntry.action).where(TrailEntry.record_id == record.id).order_by(TrailEntry.id)
        )
    )


def status(record: Record) -> str:
    db.session.expire_all()
    return db.session.get(Record, record.id).status
