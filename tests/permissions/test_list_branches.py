"""Lists read the visibility filter as a union of indexed branches (``records.listing``): for
every demo person, under the demo permission definitions, the pages and the capped count hold
exactly the records of the plain OR filter — with department scopes read one department at a
time or all at once."""

from __future__ import annotations

import pytest
from permissions_samples import EXPECTED_VIEW

from formwork.extensions import db
from formwork.org.models import Department, User
from formwork.permissions import scopes
from formwork.records import access, listing
from formwork.records.models import Record

USERS = sorted(EXPECTED_VIEW)


def _reference(user: User) -> list[int]:
    stmt = access.visible_records(user).with_only_columns(Record.id)
    return list(db.session.scalars(stmt.order_by(Record.created_at.desc(), Record.id.desc())))


def _paged(user: User, per_page: int) -> list[int]:
    seen: list[int] = []
    after = None
    for _ in range(100):
        rows = db.session.execute(
            listing.newest_visible(user, [], Record.id, Record.created_at, after=after, limit=per_page)
        ).all()
        seen += [row.id for row in rows]
        if len(rows) < per_page:
            return seen
        after = listing.After(rows[-1].created_at, rows[-1].id)
    raise AssertionError("the pages never ended")


@pytest.mark.parametrize("split", [0, 12])
@pytest.mark.parametrize("username", USERS)
def test_pages_and_counts_hold_the_visible_records(enforced, app, monkeypatch, username, split):
    monkeypatch.setattr(scopes, "SPLIT_DEPARTMENTS", split)
    user = db.session.scalar(db.select(User).where(User.username == username))
    with app.test_request_context():
        expected = _reference(user)
        assert _paged(user, 2) == expected
        assert listing.capped_count(user, []) == (len(expected), False)
        if len(expected) > 1:
            assert listing.capped_count(user, [], cap=1) == (1, True)


def test_a_department_tree_scope_is_read_one_department_at_a_time(enforced, app, monkeypatch):
    """dave heads Head Office, above every department: his scope is one branch per department."""
    dave = db.session.scalar(db.select(User).where(User.username == "dave"))
    departments = db.session.scalar(db.select(db.func.count()).select_from(Department))
    assert 1 < departments <= scopes.SPLIT_DEPARTMENTS
    with app.test_request_context():
        split = access.visible_branches(dave)
        monkeypatch.setattr(scopes, "SPLIT_DEPARTMENTS", 0)
        whole = access.visible_branches(dave)
    assert split is not None and whole is not None
    assert len(split) > len(whole)
