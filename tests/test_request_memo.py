"""Answers read once per request, forgotten on commit and rollback, never kept outside a request."""

from __future__ import annotations

from formwork.extensions import db
from formwork.org.models import Department
from formwork.permissions.subject import OrgTree, Subject
from formwork.request_memo import once


def test_within_a_request_the_first_answer_is_kept(app):
    calls = []
    with app.test_request_context("/"):
        assert once("k", lambda: calls.append(1) or len(calls)) == 1
        assert once("k", lambda: calls.append(1) or len(calls)) == 1
    with app.test_request_context("/"):  # a new request reads again
        assert once("k", lambda: calls.append(1) or len(calls)) == 2


def test_outside_a_request_nothing_is_kept(app):
    calls = []
    once("k", lambda: calls.append(1))
    once("k", lambda: calls.append(1))
    assert len(calls) == 2


def test_a_commit_or_a_rollback_forgets_what_the_request_read(app, demo_org):
    with app.test_request_context("/"):
        before = OrgTree.load()
        assert OrgTree.load() is before
        db.session.add(Department(code="NEW", name_zh="新部门", name_en="New"))
        db.session.commit()
        after = OrgTree.load()
        assert after is not before and "NEW" in after.codes.values()
        alice = Subject.load(demo_org["alice"])
        assert Subject.load(demo_org["alice"]) is alice
        db.session.rollback()
        assert Subject.load(demo_org["alice"]) is not alice


def test_a_commit_keeps_what_it_did_not_write(app, demo_org):
    from sqlalchemy import insert, text

    from formwork.records.models import NumberSequence

    with app.test_request_context("/"):
        tree = OrgTree.load()
        alice = Subject.load(demo_org["alice"])
        unnamed = once("no tables named", lambda: object())
        db.session.add(NumberSequence(prefix="BX", year=2026, last=1))
        db.session.commit()  # an ORM write elsewhere
        assert OrgTree.load() is tree and Subject.load(demo_org["alice"]) is alice
        assert once("no tables named", lambda: object()) is not unnamed  # named nothing: forgotten
        db.session.execute(insert(NumberSequence).values(prefix="BY", year=2026, last=1))
        db.session.commit()  # a statement on a known table elsewhere
        assert OrgTree.load() is tree
        db.session.execute(text("SELECT 1"))
        db.session.commit()  # a textual statement: its tables cannot be told
        assert OrgTree.load() is not tree
