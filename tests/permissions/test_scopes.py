"""Data scopes as SQL (SQLite and PostgreSQL) and per record in Python, over the seeded demo records."""

from __future__ import annotations

import pytest
from permissions_samples import EXPECTED_VIEW, department_id, load_policy, threshold_backend
from sqlalchemy import select

from formwork.extensions import db
from formwork.org.models import Department, Role, RoleAssignment, User
from formwork.permissions.model import PolicySet
from formwork.permissions.scopes import (
    CustomFilterNotWired,
    bases_seeing,
    records_filter,
    use_custom_filter_backend,
)
from formwork.permissions.subject import OrgTree, RecordFacts, Subject
from formwork.records.models import Record


def sql_visible(user, policy_sets, backend=threshold_backend) -> set[str]:
    subject = Subject.load(user)
    names = set()
    for policies in policy_sets.values():
        rows = db.session.scalars(
            select(Record.title).where(records_filter(subject, policies, backend=backend))
        )
        names.update(rows)
    return names


def python_visible(user, policy_sets, forms) -> set[str]:
    subject = Subject.load(user)
    tree = OrgTree.load()
    names = set()
    for record in db.session.scalars(select(Record)):
        facts = RecordFacts.of(record, forms[record.form_key])
        if bases_seeing(subject, policy_sets[record.form_key], facts, tree):
            names.add(record.title)
    return names


@pytest.mark.parametrize("username", sorted(EXPECTED_VIEW))
def test_each_demo_user_sees_what_the_demo_definitions_say(username, seeded, demo_org, policy_sets, forms):
    user = demo_org[username]
    assert sql_visible(user, policy_sets) == EXPECTED_VIEW[username]
    assert python_visible(user, policy_sets, forms) == EXPECTED_VIEW[username]


def test_a_custom_filter_without_an_sql_back_end_is_refused_not_evaluated_in_python(
    seeded, demo_org, policy_sets
):
    subject = Subject.load(demo_org["henry"])
    use_custom_filter_backend(None)
    with pytest.raises(CustomFilterNotWired) as caught:
        records_filter(subject, policy_sets["purchase_request"])
    assert "estimated_total >= 10000" in str(caught.value)
    assert "permission purchase_request version 1, /grants/0" in str(caught.value)
    # People whose scopes need no filter are not affected.
    alice = Subject.load(demo_org["alice"])
    assert db.session.scalars(
        select(Record.title).where(records_filter(alice, policy_sets["purchase_request"]))
    ).all() == ["pr_alice_small"]


def test_a_registered_back_end_is_used(seeded, demo_org, policy_sets):
    subject = Subject.load(demo_org["henry"])
    use_custom_filter_backend(threshold_backend)
    try:
        rows = set(
            db.session.scalars(
                select(Record.title).where(records_filter(subject, policy_sets["purchase_request"]))
            )
        )
    finally:
        use_custom_filter_backend(None)
    assert rows == {"pr_henry_small", "pr_frank_big", "pr_erin_big"}


def test_a_department_move_counts_on_the_next_query(seeded, demo_org, policy_sets, forms):
    """frank becomes head of HR's new sub-team: SQL and Python both follow, without any cache."""
    team = Department(code="HR_TEAM", name_zh="招聘组", name_en="Recruiting", parent_id=department_id("HR"))
    db.session.add(team)
    db.session.flush()
    frank = demo_org["frank"]
    team.head_id = frank.id
    # erin moves into the new team; her records keep their department (HR)
    erin = demo_org["erin"]
    erin.department_id = team.id
    db.session.commit()
    seen = sql_visible(frank, policy_sets)
    assert seen == EXPECTED_VIEW["frank"]  # HR_TEAM has no records yet
    record = db.session.scalars(select(Record).where(Record.title == "ec_erin")).one()
    record.department_id = team.id
    db.session.commit()
    assert sql_visible(frank, policy_sets) == EXPECTED_VIEW["frank"] | {"ec_erin"}
    assert python_visible(frank, policy_sets, forms) == EXPECTED_VIEW["frank"] | {"ec_erin"}
    # A re-parented department: HR_TEAM moves under Sales, so bob (head of Sales) now sees it.
    team.parent_id = department_id("SALES")
    db.session.commit()
    assert "ec_erin" in sql_visible(demo_org["bob"], policy_sets)
    assert "ec_erin" in python_visible(demo_org["bob"], policy_sets, forms)
    # erin, a member of HR no more, loses HR's view of other departments' claims.
    assert "ec_ivan" not in sql_visible(erin, policy_sets)


def test_a_role_held_for_a_department_reaches_only_that_department_and_below(seeded, demo_org, forms):
    policy = load_policy(
        "reviewers",
        forms,
        text="""
kind: permission
key: reviewers
form: expense_claim
title: {zh-CN: 审核, en: Reviewers}
grants:
  - role: finance_reviewer
    operations: [view]
    scope: all
  - role: legal_reviewer
    operations: [view]
    scope: own_department
""",
    )
    policies = PolicySet.of("expense_claim", [policy])
    role = db.session.scalars(select(Role).where(Role.key == "finance_reviewer")).one()
    legal = db.session.scalars(select(Role).where(Role.key == "legal_reviewer")).one()
    ivan = demo_org["ivan"]
    db.session.add(RoleAssignment(user_id=ivan.id, role_id=role.id, department_id=department_id("SALES")))
    db.session.add(RoleAssignment(user_id=ivan.id, role_id=legal.id, department_id=department_id("HR")))
    db.session.commit()
    subject = Subject.load(ivan)
    rows = set(db.session.scalars(select(Record.title).where(records_filter(subject, policies))))
    # finance reviewer for Sales: all Sales claims; legal reviewer (organisation-wide): Legal's;
    # legal reviewer for HR: HR's (own_department means the department the role is held for).
    sales = {"ec_alice_draft", "ec_alice_approved", "ec_frank_review", "ec_bob"}
    assert rows == sales | {"ec_ivan", "ec_erin"}
    tree = OrgTree.load()
    python = {
        r.title
        for r in db.session.scalars(select(Record).where(Record.form_key == "expense_claim"))
        if bases_seeing(subject, policies, RecordFacts.of(r, forms["expense_claim"]), tree)
    }
    assert python == rows


def test_nobody_without_a_basis_sees_anything(seeded, demo_org, policy_sets):
    new = User(username="nobody", display_name="Nobody", department_id=None)
    db.session.add(new)
    db.session.commit()
    assert sql_visible(new, policy_sets) == set()


def test_listed_departments_with_and_without_below(seeded, demo_org, forms):
    policy = load_policy(
        "listed",
        forms,
        text="""
kind: permission
key: listed
form: expense_claim
title: {zh-CN: 列举, en: Listed}
grants:
  - role: legal_reviewer
    operations: [view]
    scope: {departments: [HQ]}
  - role: cashier
    operations: [view]
    scope: {departments: [HQ], below: true}
""",
    )
    policies = PolicySet.of("expense_claim", [policy])
    ivan = Subject.load(demo_org["ivan"])
    grace = Subject.load(demo_org["grace"])
    assert set(db.session.scalars(select(Record.title).where(records_filter(ivan, policies)))) == {"ec_dave"}
    everything = set(db.session.scalars(select(Record.title).where(Record.form_key == "expense_claim")))
    assert set(db.session.scalars(select(Record.title).where(records_filter(grace, policies)))) == everything


def test_an_operation_has_its_own_scope(seeded, demo_org, policy_sets):
    """carol may export every non-draft claim (finance reviewer) but alice may export nothing."""
    carol = Subject.load(demo_org["carol"])
    alice = Subject.load(demo_org["alice"])
    exported = set(
        db.session.scalars(
            select(Record.title).where(records_filter(carol, policy_sets["expense_claim"], "export"))
        )
    )
    assert exported == EXPECTED_VIEW["carol"] - {"pr_carol_big"}
    assert (
        db.session.scalars(
            select(Record.title).where(records_filter(alice, policy_sets["expense_claim"], "export"))
        ).all()
        == []
    )
