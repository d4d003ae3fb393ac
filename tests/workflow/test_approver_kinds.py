"""Approver kinds at run time (a user field, an expression, heads N levels up, a fixed department),
and what happens when a step reached later in a request finds nobody."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from workflow_helpers import (
    act,
    simple_route,
    status,
    step,
    submit,
    task_of,
    trail_actions,
    user,
    waiting_for,
)

from formwork.definitions import store
from formwork.extensions import db
from formwork.org.models import Department, Role, RoleAssignment
from formwork.org.users import grant_role
from formwork.records.models import Record
from formwork.records.service import ValidationFailed
from formwork.workflow import submission
from formwork.workflow.errors import StartRefused
from formwork.workflow.models import Process, Task, TrailEntry

LABEL = {"zh-CN": "字段", "en": "Field"}
# A small form with people and a department in its fields.
TRAVEL = {
    "kind": "form",
    "key": "travel",
    "title": {"zh-CN": "出差申请", "en": "Travel request"},
    "fields": [
        {"key": "sponsor", "type": "user", "label": LABEL, "required": True},
        {"key": "deputy", "type": "user", "label": LABEL},
        {"key": "cost_centre", "type": "department", "label": LABEL, "required": True},
        {"key": "amount", "type": "money", "label": LABEL, "required": True, "currency": "CNY"},
    ],
}
CASHIER = step("pay", {"user": "grace"})


def department(code: str) -> Department:
    return db.session.scalar(select(Department).where(Department.code == code))


@pytest.fixture
def travel(org, expense):
    version, _ = store.publish(TRAVEL)
    return version


def travel_route(publish_route, *nodes, **extra):
    extra.setdefault("no_approver", "refuse")
    return publish_route(simple_route(*nodes, CASHIER, form="travel", **extra))


def ask(
    username: str,
    sponsor: str,
    cost_centre: str = "SALES",
    amount: str = "5000.00",
    deputy: str | None = None,
) -> Record:
    data = {"sponsor": user(sponsor).id, "cost_centre": department(cost_centre).id, "amount": amount}
    if deputy:
        data["deputy"] = user(deputy).id
    return submission.create_record("travel", data, user(username), submit=True)


def route_with(publish_route, *nodes, **extra):
    extra.setdefault("no_approver", "refuse")
    return publish_route(simple_route(*nodes, CASHIER, **extra))


# ---- approver kinds ------------------------------------------------------------------------


def test_field_names_the_user_in_a_user_field(travel, publish_route):
    travel_route(publish_route, step("sponsor", {"field": "sponsor"}))
    record = ask("alice", sponsor="ivan")
    assert waiting_for(record) == ["ivan"]
    act(record, "ivan")
    assert waiting_for(record) == ["grace"]
    assert waiting_for(ask("alice", sponsor="erin")) == ["erin"]  # each request its own person


def test_field_on_a_department_field_names_its_head(travel, publish_route):
    travel_route(publish_route, step("centre", {"field": "cost_centre"}))
    assert waiting_for(ask("alice", sponsor="ivan", cost_centre="FIN")) == ["carol"]
    assert waiting_for(ask("alice", sponsor="ivan", cost_centre="LEGAL")) == ["ivan"]


def test_field_naming_the_submitter_follows_self_approval(travel, publish_route):
    travel_route(publish_route, step("sponsor", {"field": "sponsor"}), self_approval="send_up")
    record = ask("alice", sponsor="alice")
    assert waiting_for(record) == ["bob"]  # the head above alice, not alice herself
    assert "sent_up" in trail_actions(record)


def test_expression_picks_the_user(travel, publish_route):
    travel_route(publish_route, step("pick", {"expression": "if(amount >= 1000, sponsor, deputy)"}))
    assert waiting_for(ask("alice", sponsor="ivan", deputy="erin", amount="5000.00")) == ["ivan"]
    assert waiting_for(ask("alice", sponsor="ivan", deputy="erin", amount="10.00")) == ["erin"]


def test_expression_that_gives_nobody_refuses_at_the_start(travel, publish_route):
    travel_route(publish_route, step("pick", {"expression": "if(amount >= 1000, sponsor, deputy)"}))
    before = db.session.query(Record).count()
    with pytest.raises(ValidationFailed, match="Nobody can approve"):
        ask("alice", sponsor="ivan", amount="10.00")  # no deputy
    assert db.session.query(Record).count() == before


def test_department_head_levels_up(publish_route):
    route_with(publish_route, step("up", {"department_head": 1}))
    assert waiting_for(submit("alice")) == ["dave"]  # Sales → Head Office
    assert waiting_for(submit("erin")) == ["dave"]  # HR → Head Office (erin heads HR herself)


def test_department_head_beyond_the_top_finds_nobody(publish_route):
    route_with(publish_route, step("up", {"department_head": 2}))
    with pytest.raises(ValidationFailed, match='Nobody can approve step "up"'):
        submit("alice")  # Sales → Head Office → nothing above


def test_department_head_send_up_goes_one_more_level(publish_route):
    route_with(
        publish_route,
        step("head", {"department_head": 0}),
        step("up", {"department_head": 1}),
        self_approval="send_up",
        no_approver="fallback",
        fallback=[{"user": "admin"}],
    )
    record = submit("bob")  # bob heads Sales: head → dave; one level up is dave again
    assert waiting_for(record) == ["dave"]
    act(record, "dave")
    # dave already approved: asked again at "up", he is approved automatically
    assert waiting_for(record) == ["grace"]
    assert "auto_approved" in trail_actions(record)


def test_head_of_a_fixed_department(publish_route):
    route_with(
        publish_route,
        step("finance_head", {"department_head": 0, "department": "FIN"}),
        step("above_finance", {"department_head": 1, "department": "FIN"}),
    )
    record = submit("alice")
    assert waiting_for(record) == ["carol"]  # whoever submits: the head of Finance
    act(record, "carol")
    assert waiting_for(record) == ["dave"]  # the head one level above Finance
    act(record, "dave")
    assert waiting_for(record) == ["grace"]
    assert waiting_for(submit("erin")) == ["carol"]


def test_role_in_a_fixed_department(publish_route, org):
    grant_role(user("frank"), "legal_reviewer", department("SALES"))
    db.session.commit()
    route_with(
        publish_route,
        step("sales_legal", {"role": "legal_reviewer", "department": "SALES"}, mode="all"),
        step("fin_legal", {"role": "legal_reviewer", "department": "FIN"}, mode="all"),
    )
    record = submit("erin")  # HR's request: the department named, not the submitter's, counts
    assert waiting_for(record) == ["frank", "ivan"]  # frank for Sales only, ivan organisation-wide
    act(record, "frank")
    act(record, "ivan")
    # ivan already approved: Finance's only covering reviewer is him, approved automatically
    assert waiting_for(record) == ["grace"]


# ---- nobody to approve later in a request --------------------------------------------------


def _two_steps(publish_route, **extra):
    return route_with(
        publish_route, step("review", {"user": "carol"}), step("legal", {"role": "legal_reviewer"}), **extra
    )


def _leave(username: str) -> None:
    user(username).active = False
    db.session.commit()


def test_refuse_checks_every_step_reachable_at_the_start(publish_route):
    _two_steps(publish_route)
    _leave("ivan")  # the only legal reviewer
    before = db.session.query(Record).count()
    with pytest.raises(ValidationFailed, match='Nobody can approve step "legal"'):
        submit("alice")  # refused now, though the step comes after carol's
    assert db.session.query(Record).count() == before
    assert db.session.query(Process).count() == 0


def test_refuse_does_not_check_a_step_whose_condition_is_false(publish_route):
    _nobody_holds("security_owner")
    route_with(
        publish_route,
        step("review", {"user": "carol"}),
        step("security", {"role": "security_owner"}, when="total >= 50000"),
    )  # no holder
    record = submit("alice", "12000.00")
    assert waiting_for(record) == ["carol"]
    with pytest.raises(ValidationFailed, match='Nobody can approve step "security"'):
        submit("alice", "60000.00")


def test_a_step_reached_later_with_nobody_goes_to_the_administrators(publish_route, notes):
    _two_steps(publish_route)
    record = submit("alice")
    _leave("ivan")  # leaves while carol is deciding
    act(record, "carol")  # carol's approval stands
    assert waiting_for(record) == ["admin"]
    entry = db.session.scalar(
        select(TrailEntry).where(
            TrailEntry.record_id == record.id, TrailEntry.action == "sent_to_administrators"
        )
    )
    assert entry.step_key == "legal"
    assert entry.details == {"reason": "no approver found", "users": [user("admin").id]}
    assert any(kind == "task_assigned" and ids == [user("admin").id] for ids, kind, _ in notes)
    act(record, "admin")
    act(record, "grace")
    assert status(record) == "approved"


def test_a_step_reached_later_uses_the_fallback_first(publish_route):
    _two_steps(publish_route, fallback=[{"user": "erin"}])
    record = submit("alice")
    _leave("ivan")
    act(record, "carol")
    assert waiting_for(record) == ["erin"]
    assert "fallback" in trail_actions(record) and "sent_to_administrators" not in trail_actions(record)


def test_with_no_administrator_either_the_decision_is_refused_and_nothing_changes(publish_route):
    _two_steps(publish_route)
    record = submit("alice")
    _leave("ivan")
    _leave("admin")
    carol_task = task_of(record, "carol")
    with pytest.raises(StartRefused, match="no administrator"):
        act(record, "carol")
    db.session.expire_all()
    assert db.session.get(Task, carol_task.id).status == "open"
    assert waiting_for(record) == ["carol"] and status(record) == "in_review"


def test_a_later_step_with_nobody_through_the_api(publish_route, client, bearer):
    _two_steps(publish_route)
    record = submit("alice")
    carol_task = task_of(record, "carol").id
    _leave("ivan")
    response = client.post(
        f"/api/tasks/{carol_task}/decision", json={"action": "approve"}, headers=bearer("carol")
    )
    assert response.status_code == 200, response.get_json()
    current = response.get_json()["process"]["current"]
    assert [(s["key"], s["holder_ids"]) for s in current] == [("legal", [user("admin").id])]


def _nobody_holds(role_key: str) -> None:
    """Take ``role_key`` from everyone (the demo's admin is its security owner)."""
    for assignment in db.session.scalars(
        select(RoleAssignment).join(Role, Role.id == RoleAssignment.role_id).where(Role.key == role_key)
    ):
        db.session.delete(assignment)
    db.session.commit()
