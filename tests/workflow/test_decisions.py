"""Decisions other than approve: transfer, delegate, add signer, comment, attachments, CC, out of office,
refusals.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from workflow_helpers import (
    act,
    open_tasks,
    simple_route,
    status,
    step,
    submit,
    task_of,
    trail_actions,
    user,
    waiting_for,
)

from formwork.db_types import utcnow
from formwork.extensions import db
from formwork.org.users import leave
from formwork.records.models import Attachment
from formwork.workflow import delegation, service
from formwork.workflow.errors import InvalidDecision, NotYourTask, TaskClosed
from formwork.workflow.models import Task, TrailEntry


def entries(record, action):
    return list(
        db.session.scalars(
            select(TrailEntry).where(TrailEntry.record_id == record.id, TrailEntry.action == action)
        )
    )


def test_transfer_to_an_active_user(expense_route, notes):
    record = submit("alice")
    old = task_of(record, "bob")
    act(record, "bob", "transfer", to_user_id=user("erin").id, comment="Erin knows this customer")
    assert waiting_for(record) == ["erin"]
    new = task_of(record, "erin")
    assert new.intended_id == user("bob").id
    assert ([user("erin").id], "transferred", new.id) in notes
    db.session.refresh(old)
    assert old.status == "transferred"
    act(record, "erin")
    approve = entries(record, "approve")[0]
    assert approve.actor_id == user("erin").id and approve.on_behalf_of_id == user("bob").id
    assert waiting_for(record) == ["carol"]


def test_transfer_to_an_inactive_user_is_refused(expense_route):
    record = submit("alice")
    leave(user("frank"))
    db.session.commit()
    with pytest.raises(InvalidDecision, match="no longer active"):
        act(record, "bob", "transfer", to_user_id=user("frank").id)
    with pytest.raises(InvalidDecision, match="own request"):
        act(record, "bob", "transfer", to_user_id=user("alice").id)
    with pytest.raises(InvalidDecision):
        act(record, "bob", "transfer", to_user_id=999999)
    assert waiting_for(record) == ["bob"]


def test_delegate_and_get_back(expense_route):
    record = submit("alice")
    act(record, "bob", "delegate", to_user_id=user("frank").id, comment="Please check the lines")
    assert waiting_for(record) == ["frank"]
    assert (
        db.session.scalar(select(Task).where(Task.record_id == record.id, Task.status == "waiting"))
        is not None
    )
    with pytest.raises(InvalidDecision, match="opinion"):
        act(record, "frank", "transfer", to_user_id=user("erin").id)
    act(record, "frank", "approve", comment="Lines are fine")
    assert waiting_for(record) == ["bob"]  # back to bob, who finishes
    act(record, "bob")
    assert waiting_for(record) == ["carol"]


def test_add_signer_before(expense_route):
    record = submit("alice")
    act(record, "bob", "add_signer", to_user_id=user("ivan").id, position="before")
    assert waiting_for(record) == ["ivan"]
    act(record, "ivan")
    assert waiting_for(record) == ["bob"]
    act(record, "bob")
    assert waiting_for(record) == ["carol"]


def test_add_signer_before_who_rejects_rejects_the_step(expense_route):
    record = submit("alice")
    act(record, "bob", "add_signer", to_user_id=user("ivan").id, position="before")
    act(record, "ivan", "reject", comment="Contract not signed")
    assert status(record) == "rejected"


def test_add_signer_after(expense_route):
    record = submit("alice")
    act(record, "bob", "add_signer", to_user_id=user("ivan").id, position="after")
    assert waiting_for(record) == ["bob"]
    act(record, "bob")
    assert waiting_for(record) == ["ivan"]
    act(record, "ivan")
    assert waiting_for(record) == ["carol"]


def test_add_signer_needs_a_position(expense_route):
    record = submit("alice")
    with pytest.raises(InvalidDecision, match="before or after"):
        act(record, "bob", "add_signer", to_user_id=user("ivan").id)


def test_comment_changes_nothing(expense_route):
    record = submit("alice")
    act(record, "bob", "comment", comment="Looking at it tomorrow")
    assert waiting_for(record) == ["bob"]
    assert entries(record, "comment")[0].comment == "Looking at it tomorrow"
    with pytest.raises(InvalidDecision):
        act(record, "bob", "comment")
    with pytest.raises(InvalidDecision, match="Unknown action"):
        act(record, "bob", "sign")


def test_attachments_on_a_decision(expense_route):
    record = submit("alice")
    from formwork.records.attachments import decision_field

    def upload(owner, field_path, key):
        return Attachment(
            owner_id=user(owner).id,
            form_key="expense_claim",
            field_path=field_path,
            filename=f"{key}.pdf",
            content_type="application/pdf",
            size=10,
            sha256="0" * 64,
            storage_key=key,
        )

    mine = upload("bob", decision_field(record.id), "k1")
    theirs = upload("frank", decision_field(record.id), "k2")
    other_record = upload("bob", decision_field(record.id + 1000), "k3")
    form_field = upload("bob", "lines.receipt", "k4")
    db.session.add_all([mine, theirs, other_record, form_field])
    db.session.commit()
    for refused in (theirs, other_record, form_field):
        with pytest.raises(InvalidDecision, match="not available"):
            act(record, "bob", attachment_ids=[refused.id])
    assert waiting_for(record) == ["bob"]
    act(record, "bob", attachment_ids=[mine.id])
    assert entries(record, "approve")[0].attachment_ids == [mine.id]
    assert db.session.get(Attachment, mine.id).record_id == record.id


def test_not_your_task_closed_task_and_invisible_record(expense_route):
    record = submit("alice")
    task = task_of(record, "bob")
    with pytest.raises(NotYourTask):
        service.decide(task.id, user("carol"), "approve")  # someone else's task
    with pytest.raises(NotYourTask):
        service.decide(task.id, user("frank"), "approve")  # frank cannot even see the request
    with pytest.raises(NotYourTask):
        service.decide(987654, user("bob"), "approve")
    service.decide(task.id, user("bob"), "approve")
    with pytest.raises(TaskClosed, match="already decided"):
        service.decide(task.id, user("bob"), "approve")  # the double click
    assert waiting_for(record) == ["carol"]


def test_approvers_can_see_the_request_others_cannot(expense_route):
    from formwork.records.access import can_see, get_visible

    record = submit("alice")
    assert get_visible(user("bob"), record.id) is not None
    assert can_see(user("bob"), record)
    assert get_visible(user("frank"), record.id) is None
    assert not can_see(user("carol"), record)


def test_out_of_office_sends_tasks_to_the_delegate(expense_route):
    now = utcnow()
    delegation.set_out_of_office(
        user("bob"), user("frank"), now - timedelta(hours=1), now + timedelta(days=2)
    )
    db.session.commit()
    record = submit("alice")
    task = task_of(record, "frank")
    assert task.intended_id == user("bob").id
    assert entries(record, "redirected_out_of_office")[0].on_behalf_of_id == user("bob").id
    act(record, "frank")
    approve = entries(record, "approve")[0]
    assert (approve.actor_id, approve.on_behalf_of_id) == (user("frank").id, user("bob").id)


def test_out_of_office_never_delegates_to_the_submitter_or_outside_the_period(expense_route):
    now = utcnow()
    delegation.set_out_of_office(
        user("bob"), user("alice"), now - timedelta(hours=1), now + timedelta(days=1)
    )
    delegation.set_out_of_office(
        user("carol"), user("erin"), now + timedelta(days=1), now + timedelta(days=2)
    )
    db.session.commit()
    record = submit("alice")
    assert waiting_for(record) == ["bob"]
    act(record, "bob")
    assert waiting_for(record) == ["carol"]


def test_out_of_office_holder_of_a_role_step(expense_route):
    """Role holders are read with whether they are away in the same query: the away one's task still
    goes to the delegate, and a holder whose period has ended gets it again."""
    now = utcnow()
    delegation.set_out_of_office(
        user("carol"), user("erin"), now - timedelta(hours=1), now + timedelta(days=1)
    )
    db.session.commit()
    record = submit("alice")
    act(record, "bob")
    task = task_of(record, "erin")
    assert task.step_key == "finance" and task.intended_id == user("carol").id
    assert entries(record, "redirected_out_of_office")[0].on_behalf_of_id == user("carol").id
    for period in db.session.scalars(db.select(delegation.Delegation)):
        period.cancelled_at = utcnow()
    db.session.commit()
    second = submit("frank")
    act(second, "bob")
    assert waiting_for(second) == ["carol"]


def test_out_of_office_bad_periods(org):
    now = utcnow()
    with pytest.raises(InvalidDecision):
        delegation.set_out_of_office(user("bob"), user("bob"), now, now + timedelta(days=1))
    with pytest.raises(InvalidDecision):
        delegation.set_out_of_office(user("bob"), user("frank"), now, now - timedelta(days=1))
    with pytest.raises(InvalidDecision, match="over"):
        delegation.set_out_of_office(
            user("bob"), user("frank"), now - timedelta(days=3), now - timedelta(days=1)
        )


def test_cc_recipients_are_told_and_can_only_read(publish_route, notes):
    publish_route(
        simple_route(step("head", {"department_head": 0}, cc=[{"user": "erin"}]), no_approver="refuse")
    )
    record = submit("alice")
    copy = task_of(record, "erin", kind="cc")
    assert ([user("erin").id], "cc", copy.id) in notes
    with pytest.raises(InvalidDecision, match="mark it read"):
        service.decide(copy.id, user("erin"), "approve")
    service.mark_read(copy.id, user("erin"))
    assert db.session.get(Task, copy.id).status == "read"
    assert waiting_for(record) == ["bob"]


def test_notifications_go_to_the_next_people_and_the_submitter(expense_route, notes):
    record = submit("alice")
    assert ([user("bob").id], "task_assigned", task_of(record, "bob").id) in notes
    act(record, "bob")
    assert ([user("carol").id], "task_assigned", task_of(record, "carol").id) in notes
    act(record, "carol")
    act(record, "grace")
    assert ([user("alice").id], "approved", None) in notes


def test_trail_records_every_step(expense_route):
    record = submit("alice")
    act(record, "bob", comment="ok")
    act(record, "carol")
    act(record, "grace")
    assert trail_actions(record) == [
        "submitted",
        "approve",
        "step_approved",
        "approve",
        "step_approved",
        "skipped",
        "approve",
        "step_approved",
        "approved",
    ]
    assert open_tasks(record) == []


def test_due_work_auto_decides_and_escalates(publish_route):
    publish_route(
        simple_route(
            step(
                "head",
                {"department_head": 0},
                deadline={"hours": 24, "on_timeout": "escalate", "escalate_to": [{"user": "dave"}]},
            ),
            step("pay", {"user": "grace"}, deadline={"hours": 1, "on_timeout": "approve"}),
            no_approver="refuse",
        )
    )
    record = submit("alice")
    task = task_of(record, "bob")
    assert task.due_at is not None
    new = service.escalate(task.id)
    assert new.assignee_id == user("dave").id and waiting_for(record) == ["dave"]
    act(record, "dave")
    pay = task_of(record, "grace")
    service.auto_decide(pay.id, "approve")
    assert status(record) == "approved"
    with pytest.raises(TaskClosed):
        service.auto_decide(pay.id, "approve")  # running due work twice is harmless
    system = entries(record, "approve")[-1]
    assert system.actor_id is None and system.on_behalf_of_id == user("grace").id
