"""Organisation look-ups for approval routes."""

from __future__ import annotations

import pytest

from formwork.extensions import db
from formwork.org import directory, users
from formwork.org.models import Department


def _dept(code: str) -> Department:
    dept = users.department_by_code(code)
    assert dept is not None
    return dept


def test_department_head(demo_org):
    assert directory.department_head(_dept("SALES")).username == "bob"
    assert directory.department_head(_dept("HQ")).username == "dave"
    assert directory.department_head(None) is None


def test_head_levels_up(demo_org):
    alice = demo_org["alice"]
    assert directory.head_levels_up(alice, 0).username == "bob"
    assert directory.head_levels_up(alice, 1).username == "dave"
    assert directory.head_levels_up(alice, 2) is None
    assert directory.head_levels_up(demo_org["admin"], 0).username == "dave"
    with pytest.raises(ValueError):
        directory.head_levels_up(alice, -1)


def test_head_levels_up_on_a_deeper_tree(demo_org):
    team = Department(code="SALES-N", name_zh="北区", name_en="North", parent=_dept("SALES"))
    db.session.add(team)
    db.session.flush()
    person = users.create_user("nina", display_name="Nina", department_code="SALES-N", manager_username="bob")
    db.session.commit()
    assert directory.head_levels_up(person, 0) is None  # the team has no head
    assert directory.head_levels_up(person, 1).username == "bob"
    assert directory.head_levels_up(person, 2).username == "dave"


def test_manager_of(demo_org):
    assert directory.manager_of(demo_org["alice"]).username == "bob"
    assert directory.manager_of(demo_org["dave"]) is None
    users.leave(demo_org["bob"])
    db.session.commit()
    assert directory.manager_of(demo_org["alice"]) is None


def test_users_with_role(demo_org):
    assert [u.username for u in directory.users_with_role("employee")] == ["alice", "erin", "frank", "henry"]
    assert [u.username for u in directory.users_with_role("cfo")] == ["dave"]
    assert [u.username for u in directory.users_with_role("security_owner")] == ["admin"]
    assert directory.users_with_role("no-such-role") == []


def test_users_with_role_scoped_to_a_department(demo_org):
    # grace reviews for Sales only; carol reviews for everyone.
    users.grant_role(demo_org["grace"], "finance_reviewer", _dept("SALES"))
    db.session.commit()
    assert [u.username for u in directory.users_with_role("finance_reviewer", _dept("SALES"))] == [
        "carol",
        "grace",
    ]
    assert [u.username for u in directory.users_with_role("finance_reviewer", _dept("HR"))] == ["carol"]
    assert [u.username for u in directory.users_with_role("finance_reviewer")] == ["carol", "grace"]


def test_role_scoped_to_a_parent_covers_children(demo_org):
    users.grant_role(demo_org["ivan"], "security_owner", _dept("HQ"))
    db.session.commit()
    # admin holds it for the whole organisation (the demo's security owner).
    assert [u.username for u in directory.users_with_role("security_owner", _dept("LEGAL"))] == [
        "admin",
        "ivan",
    ]


def test_leavers_are_never_returned(demo_org):
    users.leave(demo_org["carol"])
    db.session.commit()
    assert directory.department_head(_dept("FIN")) is None
    assert directory.users_with_role("finance_reviewer") == []


def test_members(demo_org):
    assert [u.username for u in directory.members(_dept("SALES"))] == ["alice", "bob", "frank", "sara"]
    everyone = directory.members(_dept("HQ"), include_sub_departments=True)
    assert len(everyone) == 11
