"""Taking a delegated task back (委派 → recall), the route's withdraw setting, and add_signer's position."""

from __future__ import annotations

import pytest
import yaml
from sqlalchemy import select
from workflow_helpers import EXPENSE_ROUTE, act, open_tasks, status, submit, task_of, user, waiting_for

from formwork.definitions.problems import DefinitionError
from formwork.extensions import db
from formwork.workflow import service
from formwork.workflow.errors import InvalidDecision, NotYourTask, TaskClosed
from formwork.workflow.models import Task, TrailEntry


def entries(record, action):
    return list(
        db.session.scalars(
            select(TrailEntry).where(TrailEntry.record_id == record.id, TrailEntry.action == action)
        )
    )


def delegated(record):
    """bob delegates his task to erin; returns (bob's task id, erin's task id)."""
    bob_task = task_of(record, "bob").id
    act(record, "bob", "delegate", to_user_id=user("erin").id)
    return bob_task, task_of(record, "erin").id


def test_recall_takes_the_task_back_before_the_delegate_decides(expense_route, notes):
    record = submit("alice")
    bob_task, erin_task = delegated(record)
    service.decide(bob_task, user("bob"), "recall", comment="I will decide myself")
    db.session.expire_all()
    assert db.session.get(Task, bob_task).status == "open"
    erin = db.session.get(Task, erin_task)
    assert (erin.status, erin.decision) == ("cancelled", "recalled")
    assert waiting_for(record) == ["bob"]
    entry = entries(record, "recall")[0]
    assert entry.actor_id == user("bob").id and entry.comment == "I will decide myself"
    assert entry.details == {"from": user("erin").id, "task": erin_task}
    assert ([user("erin").id], "recalled", erin_task) in notes
    # The delegate can no longer answer; the holder decides as usual.
    with pytest.raises(TaskClosed):
        service.decide(erin_task, user("erin"), "approve")
    act(record, "bob")
    assert waiting_for(record) == ["carol"]


def test_nothing_to_recall_once_the_delegate_decided_or_without_a_delegation(expense_route):
    record = submit("alice")
    bob_task, erin_task = delegated(record)
    service.decide(erin_task, user("erin"), "approve", comment="Looks right")
    with pytest.raises(InvalidDecision, match="nothing to take back"):
        service.decide(bob_task, user("bob"), "recall")  # open again: nothing to take back
    assert waiting_for(record) == ["bob"]
    other = submit("frank")
    with pytest.raises(InvalidDecision, match="nothing to take back"):
        service.decide(task_of(other, "bob").id, user("bob"), "recall")


def test_only_the_person_who_delegated_can_recall(expense_route):
    record = submit("alice")
    bob_task, erin_task = delegated(record)
    with pytest.raises(NotYourTask):
        service.decide(bob_task, user("erin"), "recall")
    with pytest.raises(InvalidDecision, match="nothing to take back"):
        service.decide(erin_task, user("erin"), "recall")  # the delegate's own task waits for nobody
    assert waiting_for(record) == ["erin"]


def test_a_signer_added_before_cannot_be_recalled(expense_route):
    record = submit("alice")
    bob_task = task_of(record, "bob").id
    act(record, "bob", "add_signer", to_user_id=user("ivan").id, position="before")
    with pytest.raises(InvalidDecision, match="nothing to take back"):
        service.decide(bob_task, user("bob"), "recall")
    assert waiting_for(record) == ["ivan"]


def test_recall_after_the_request_ended_is_already_decided(publish_route):
    route_with_withdraw(publish_route, "while_running")
    record = submit("alice")
    bob_task, erin_task = delegated(record)
    service.withdraw(record, user("alice"))
    with pytest.raises(TaskClosed):
        service.decide(bob_task, user("bob"), "recall")
    db.session.expire_all()
    assert {db.session.get(Task, bob_task).status, db.session.get(Task, erin_task).status} == {"cancelled"}


def test_add_signer_needs_an_explicit_position(expense_route):
    record = submit("alice")
    for position in (None, "", "sideways"):
        with pytest.raises(InvalidDecision, match="before") as refused:
            act(record, "bob", "add_signer", to_user_id=user("ivan").id, position=position)
        assert refused.value.field == "position"
    assert waiting_for(record) == ["bob"]


# ---- withdraw setting ----------------------------------------------------------------------


def route_with_withdraw(publish_route, policy):
    content = yaml.safe_load(EXPENSE_ROUTE)
    content["withdraw"] = policy
    return publish_route(content)


def test_withdraw_while_running_allows_it_after_decisions(publish_route, notes):
    route_with_withdraw(publish_route, "while_running")
    record = submit("alice")
    act(record, "bob")
    service.withdraw(record, user("alice"))
    assert status(record) == "withdrawn" and open_tasks(record) == []
    assert ([user("carol").id], "withdrawn", None) in notes


def test_withdraw_never(publish_route):
    route_with_withdraw(publish_route, "never")
    record = submit("alice")
    with pytest.raises(InvalidDecision, match="does not allow withdrawing"):
        service.withdraw(record, user("alice"))
    assert status(record) == "in_review" and waiting_for(record) == ["bob"]


def test_withdraw_until_first_decision_is_the_default_and_can_be_written(publish_route):
    route_with_withdraw(publish_route, "until_first_decision")
    record = submit("alice")
    act(record, "bob", "comment", comment="Looking at it")  # a comment is not a decision
    act(record, "bob")
    with pytest.raises(InvalidDecision, match="already acted"):
        service.withdraw(record, user("alice"))
    assert status(record) == "in_review"


def test_an_unknown_withdraw_setting_is_refused(publish_route):
    with pytest.raises(DefinitionError) as refused:
        route_with_withdraw(publish_route, "sometimes")
    assert any(p.pointer == "/withdraw" for p in refused.value.problems), refused.value.problems
