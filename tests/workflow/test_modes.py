"""Approval modes, parallel and conditional branches, and the self-approval / no-approver rules."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from workflow_helpers import act, simple_route, status, step, submit, trail_actions, user, waiting_for

from formwork.extensions import db
from formwork.records.models import Record
from formwork.records.service import ValidationFailed
from formwork.workflow.models import Process, TrailEntry

THREE = ({"user": "carol"}, {"user": "erin"}, {"user": "ivan"})
CASHIER = step("pay", {"user": "grace"})


def route_with(publish_route, *nodes, **extra):
    extra.setdefault("no_approver", "refuse")
    return publish_route(simple_route(*nodes, CASHIER, **extra))


def test_all_needs_everyone(publish_route):
    route_with(publish_route, step("sign", *THREE, mode="all"))
    record = submit("alice")
    assert waiting_for(record) == ["carol", "erin", "ivan"]
    act(record, "carol")
    act(record, "erin")
    assert waiting_for(record) == ["ivan"]
    act(record, "ivan")
    assert waiting_for(record) == ["grace"]


def test_all_one_rejection_applies_on_reject(publish_route):
    route_with(publish_route, step("sign", *THREE, mode="all", on_reject="return_to_submitter"))
    record = submit("alice")
    act(record, "carol")
    act(record, "erin", "reject", comment="no")
    assert status(record) == "returned"
    assert waiting_for(record) == []


def test_any_first_approval_wins_and_cancels_the_rest(publish_route):
    route_with(publish_route, step("sign", *THREE, mode="any"))
    record = submit("alice")
    act(record, "erin")
    assert waiting_for(record) == ["grace"]


def test_any_rejects_only_when_everyone_rejected(publish_route):
    route_with(publish_route, step("sign", *THREE, mode="any"))
    record = submit("alice")
    act(record, "carol", "reject", comment="no")
    act(record, "erin", "reject", comment="no")
    assert status(record) == "in_review"
    act(record, "ivan", "reject", comment="no")
    assert status(record) == "rejected"


def test_one_first_decision_settles(publish_route):
    route_with(publish_route, step("sign", {"user": "carol"}, {"user": "erin"}))
    record = submit("alice")
    act(record, "erin", "reject", comment="no")
    assert status(record) == "rejected"


def test_k_of_n(publish_route):
    route_with(publish_route, step("vote", *THREE, mode="k_of_n", k=2))
    record = submit("alice")
    act(record, "carol", "reject", comment="no")
    act(record, "erin")
    assert status(record) == "in_review"
    act(record, "ivan")
    assert waiting_for(record) == ["grace"]


def test_k_of_n_rejects_once_k_is_out_of_reach(publish_route):
    route_with(publish_route, step("vote", *THREE, mode="k_of_n", k=2))
    record = submit("alice")
    act(record, "carol", "reject", comment="no")
    act(record, "erin", "reject", comment="no")
    assert status(record) == "rejected"


def test_percent(publish_route):
    # 60 % of 3 → 2 approvals
    route_with(publish_route, step("vote", *THREE, mode="percent", percent=60))
    record = submit("alice")
    act(record, "ivan")
    assert status(record) == "in_review"
    act(record, "carol")
    assert waiting_for(record) == ["grace"]


def test_parallel_branches_join(publish_route):
    route_with(
        publish_route,
        {
            "parallel": {
                "key": "countersign",
                "branches": [
                    {"steps": [step("legal", {"user": "ivan"})]},
                    {"steps": [step("finance", {"user": "carol"}), step("cfo", {"user": "dave"})]},
                ],
            }
        },
    )
    record = submit("alice")
    assert waiting_for(record) == ["carol", "ivan"]
    act(record, "carol")
    assert waiting_for(record) == ["dave", "ivan"]
    act(record, "dave")
    assert waiting_for(record) == ["ivan"]  # the join waits for legal
    act(record, "ivan")
    assert waiting_for(record) == ["grace"]


def test_rejection_in_a_parallel_branch_rejects_the_request(publish_route):
    route_with(
        publish_route,
        {
            "parallel": {
                "key": "countersign",
                "branches": [
                    {"steps": [step("legal", {"user": "ivan"})]},
                    {"steps": [step("finance", {"user": "carol"})]},
                ],
            }
        },
    )
    record = submit("alice")
    act(record, "ivan", "reject", comment="no")
    assert status(record) == "rejected"
    assert waiting_for(record) == []


def test_branch_takes_the_first_case_that_holds(publish_route):
    route_with(
        publish_route,
        {
            "branch": {
                "key": "band",
                "cases": [
                    {"when": "total >= 50000", "steps": [step("big", {"user": "dave"})]},
                    {"when": "total >= 10000", "steps": [step("medium", {"user": "carol"})]},
                ],
                "otherwise": [step("small", {"user": "bob"})],
            }
        },
    )
    assert waiting_for(submit("alice", "60000.00")) == ["dave"]
    assert waiting_for(submit("alice", "12000.00")) == ["carol"]
    assert waiting_for(submit("alice", "100.00")) == ["bob"]


def test_return_to_a_step_inside_a_parallel_branch(publish_route):
    route_with(
        publish_route,
        {
            "parallel": {
                "key": "countersign",
                "branches": [
                    {"steps": [step("legal", {"user": "ivan"})]},
                    {"steps": [step("finance", {"user": "carol"})]},
                ],
            }
        },
        step("cfo", {"user": "dave"}),
    )
    record = submit("alice")
    act(record, "ivan")
    act(record, "carol")
    act(record, "dave", "return", step_key="finance", comment="redo")
    assert waiting_for(record) == ["carol"]  # legal keeps its approval
    act(record, "carol")
    assert waiting_for(record) == ["dave"]
    act(record, "dave")
    act(record, "grace")
    assert status(record) == "approved"


def test_on_reject_return_to_step(publish_route):
    route_with(
        publish_route,
        step("head", {"department_head": 0}),
        step("finance", {"user": "carol"}, on_reject="return_to_step", return_to="head"),
    )
    record = submit("alice")
    act(record, "bob")
    act(record, "carol", "reject", comment="ask bob")
    assert waiting_for(record) == ["bob"]


def test_no_approver_skip(publish_route):
    route_with(publish_route, step("manager", {"manager": True}, no_approver="skip"))
    record = submit("dave")  # dave has no manager
    assert waiting_for(record) == ["grace"]
    skipped = db.session.scalar(
        select(TrailEntry).where(TrailEntry.record_id == record.id, TrailEntry.action == "skipped")
    )
    assert skipped.details == {"reason": "no approver"}


def test_no_approver_fallback(publish_route):
    route_with(
        publish_route,
        step("manager", {"manager": True}),
        no_approver="fallback",
        fallback=[{"user": "carol"}],
    )
    record = submit("dave")
    assert waiting_for(record) == ["carol"]


def test_no_approver_refuse_stores_nothing(publish_route):
    route_with(publish_route, step("manager", {"manager": True}))
    before = db.session.query(Record).count()
    with pytest.raises(ValidationFailed, match="Nobody can approve"):
        submit("dave")
    assert db.session.query(Record).count() == before
    assert db.session.query(Process).count() == 0


def test_self_approval_skip_is_the_default(publish_route):
    route_with(publish_route, step("sign", {"user": "alice"}, {"user": "carol"}, mode="all"))
    record = submit("alice")
    assert waiting_for(record) == ["carol"]
    assert "self_skipped" in trail_actions(record)


def test_self_approval_allow_and_forbid(publish_route):
    route_with(publish_route, step("sign", {"user": "alice"}), self_approval="allow")
    assert waiting_for(submit("alice")) == ["alice"]
    route_with(
        publish_route, step("sign", {"user": "carol"}), step("own", {"user": "alice"}), self_approval="forbid"
    )
    with pytest.raises(ValidationFailed, match="forbids"):
        submit("alice")  # refused at the start, though the step comes later


def test_roles_within_the_submitters_department(publish_route, org):
    from formwork.org.users import grant_role

    grant_role(user("frank"), "legal_reviewer", user("frank").department)  # legal reviewer for Sales only
    db.session.commit()
    route_with(
        publish_route, step("review", {"role": "legal_reviewer", "scope": "submitter_department"}, mode="all")
    )
    # ivan's assignment is organisation-wide, so it covers every department; frank's only Sales
    assert waiting_for(submit("alice")) == ["frank", "ivan"]
    assert waiting_for(submit("erin")) == ["ivan"]
