"""PRODUCT.md scenario 1 end to end at service level, on the demo organisation."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from workflow_helpers import (
    EXPENSE_ROUTE,
    act,
    claim_data,
    open_tasks,
    status,
    submit,
    task_of,
    trail_actions,
    user,
    waiting_for,
)

from formwork.extensions import db
from formwork.org.users import create_user
from formwork.workflow import service, submission
from formwork.workflow.errors import InvalidDecision
from formwork.workflow.models import Process, Task, TrailEntry


def test_claim_of_12000_goes_head_finance_cashier(expense_route, notes):
    record = submit("alice", "12000.00")
    assert status(record) == "in_review"
    assert waiting_for(record) == ["bob"]
    act(record, "bob")
    assert waiting_for(record) == ["carol"]
    act(record, "carol")
    assert waiting_for(record) == ["grace"]  # the CFO step's condition is false
    act(record, "grace")
    assert status(record) == "approved"
    actions = trail_actions(record)
    assert actions[0] == "submitted" and actions[-1] == "approved"
    assert "skipped" in actions


def test_claim_of_60000_adds_the_cfo(expense_route):
    record = submit("alice", "60000.00")
    for person in ("bob", "carol", "dave", "grace"):
        assert waiting_for(record) == [person]
        act(record, person)
    assert status(record) == "approved"


def test_a_heads_own_claim_goes_one_level_up(expense_route):
    record = submit("bob", "12000.00")
    assert waiting_for(record) == ["dave"]  # bob heads Sales: sent up to the head of Head Office
    sent_up = db.session.scalar(
        select(TrailEntry).where(TrailEntry.record_id == record.id, TrailEntry.action == "sent_up")
    )
    assert sent_up.details == {"from": user("bob").id, "to": user("dave").id}
    act(record, "dave")
    assert waiting_for(record) == ["carol"]


def test_nobody_is_asked_twice(expense_route, org):
    create_user(
        "fiona", display_name="Fiona", department_code="FIN", manager_username="carol", role_keys=["employee"]
    )
    db.session.commit()
    record = submit("fiona", "12000.00")
    assert waiting_for(record) == ["carol"]  # head of Finance
    act(record, "carol")
    # carol is also the finance reviewer: approved automatically, straight on to the cashier
    assert waiting_for(record) == ["grace"]
    auto = db.session.scalar(
        select(TrailEntry).where(TrailEntry.record_id == record.id, TrailEntry.action == "auto_approved")
    )
    assert auto.step_key == "finance" and auto.details["already_approved_at"] == "head"
    act(record, "grace")
    assert status(record) == "approved"


def test_reject_ends_the_request(expense_route, notes):
    record = submit("alice")
    act(record, "bob")
    act(record, "carol", "reject", comment="Receipts missing")
    assert status(record) == "rejected"
    assert open_tasks(record) == []
    assert ([user("alice").id], "rejected", None) in notes
    process = db.session.scalar(select(Process).where(Process.record_id == record.id))
    assert process.status == "rejected" and process.finished_at is not None


def test_reject_and_return_need_a_comment(expense_route):
    record = submit("alice")
    for action in ("reject", "return"):
        with pytest.raises(InvalidDecision, match="comment is required"):
            service.decide(task_of(record, "bob").id, user("bob"), action, comment="  ")
    assert waiting_for(record) == ["bob"]


def test_return_to_submitter_then_resubmit_starts_over(expense_route):
    record = submit("alice", "12000.00")
    act(record, "bob")
    act(record, "carol", "return", comment="Amount looks wrong")
    assert status(record) == "returned"
    assert open_tasks(record) == []
    # the owner edits (the amount grows past the CFO threshold) and submits again
    record = db.session.get(type(record), record.id)
    submission.update_record(record, claim_data("55000.00"), user("alice"), submit=True)
    assert status(record) == "in_review"
    processes = list(db.session.scalars(select(Process).where(Process.record_id == record.id)))
    assert len(processes) == 1 and processes[0].state["round"] == 2
    for person in ("bob", "carol", "dave", "grace"):  # from the start: earlier approvals no longer count
        assert waiting_for(record) == [person]
        act(record, person)
    assert status(record) == "approved"
    assert trail_actions(record).count("resubmitted") == 1


def test_return_to_an_earlier_step(expense_route):
    record = submit("alice", "60000.00")
    act(record, "bob")
    act(record, "carol")
    act(record, "dave", "return", step_key="finance", comment="Check the invoice")
    assert status(record) == "in_review"
    assert waiting_for(record) == ["carol"]  # asked again, not auto-approved
    act(record, "carol")
    assert waiting_for(record) == ["dave"]
    act(record, "dave")
    act(record, "grace")
    assert status(record) == "approved"


def test_return_to_a_later_or_unknown_step_is_refused(expense_route):
    record = submit("alice", "60000.00")
    act(record, "bob")
    for target in ("cashier", "finance", "nope"):
        with pytest.raises(InvalidDecision):
            act(record, "carol", "return", step_key=target, comment="x")
    assert waiting_for(record) == ["carol"]


def _data(record):
    db.session.expire_all()
    return db.session.get(type(record), record.id).data


def test_returned_request_keeps_fields_the_returner_could_not_see(expense_route, client, login):
    trip = {"trip_destination": "Beijing", "trip_start": "2026-03-02", "trip_end": "2026-03-04"}
    record = submit("alice", "12000.00", category="travel", **trip)
    # A value the approvers' pages do not show: stored under fields whose condition hides them on a
    # travel claim (as data written by an import can be). Decisions must keep it untouched.
    stored = db.session.get(type(record), record.id)
    stored.data = {**stored.data, "guests": "ACME buyers", "guest_count": 3}
    db.session.commit()
    before = _data(record)
    login(client, "bob")
    page = client.get(f"/tasks/{task_of(record, 'bob').id}").get_data(as_text=True)
    assert "Beijing" in page and "ACME buyers" not in page  # bob cannot see the hidden value
    act(record, "bob", "comment", comment="Looking at it")
    assert _data(record) == before
    act(record, "bob", "return", comment="This was a client dinner, not a trip")
    assert status(record) == "returned"
    assert _data(record) == before  # a decision never changes the data, seen or not
    # The owner changes only the category; nothing else is posted. The hidden values come back
    # into view with their content (and satisfy the now-required fields); the trip fields hide.
    submission.update_record(
        db.session.get(type(record), record.id), {"category": "entertainment"}, user("alice"), submit=True
    )
    after = _data(record)
    assert (after["guests"], after["guest_count"]) == ("ACME buyers", 3)
    assert after["lines"] == before["lines"] and after["payee_account"] == before["payee_account"]
    assert status(record) == "in_review" and waiting_for(record) == ["bob"]
    for person in ("bob", "carol", "grace"):
        act(record, person)
        assert _data(record) == after
    assert status(record) == "approved"


def test_withdraw_before_anyone_acted(expense_route, notes):
    record = submit("alice")
    service.withdraw(record, user("alice"))
    assert status(record) == "withdrawn"
    assert open_tasks(record) == []
    assert ([user("bob").id], "withdrawn", None) in notes


def test_withdraw_refused_after_someone_acted_or_by_someone_else(expense_route):
    record = submit("alice")
    with pytest.raises(InvalidDecision, match="Only the submitter"):
        service.withdraw(record, user("bob"))
    act(record, "bob")
    with pytest.raises(InvalidDecision, match="already acted"):
        service.withdraw(record, user("alice"))
    assert status(record) == "in_review"


def test_a_new_route_version_changes_only_new_requests(expense_route, publish_route):
    old = submit("alice", "12000.00")
    act(old, "bob")
    # the new version skips the head and asks the CFO for everything
    publish_route(
        EXPENSE_ROUTE.replace("    when: total >= 50000\n", "").replace(
            "  - key: head\n    name: {zh-CN: 部门负责人, en: Department head}\n    approvers: "
            "[{department_head: 0}]\n",
            "",
        )
    )
    new = submit("alice", "12000.00")
    assert waiting_for(new) == ["carol"]
    act(new, "carol")
    assert waiting_for(new) == ["dave"]
    # the old request stays on its version: finance, then (12,000 < 50,000) the cashier
    act(old, "carol")
    assert waiting_for(old) == ["grace"]
    old_process = db.session.scalar(select(Process).where(Process.record_id == old.id))
    new_process = db.session.scalar(select(Process).where(Process.record_id == new.id))
    assert old_process.route_id != new_process.route_id


def test_form_without_route_stays_submitted(expense):
    record = submit("alice")
    assert status(record) == "submitted"
    assert db.session.scalar(select(Process).where(Process.record_id == record.id)) is None


def test_every_task_records_intended_and_round(expense_route):
    record = submit("alice")
    task = task_of(record, "bob")
    assert task.intended_id == user("bob").id and task.round == 1
    assert db.session.scalar(select(Task).where(Task.record_id == record.id)).step_key == "head"
