"""Who sees which records: their own; administrators everything."""

from __future__ import annotations

from records_samples import claim_data

from formwork.extensions import db
from formwork.records import access
from formwork.workflow import submission


def test_own_records_and_administrators(expense, users):
    alice, frank, admin = users["alice"], users["frank"], users["admin"]
    mine = submission.create_record("expense_claim", claim_data(), alice, submit=False)
    theirs = submission.create_record("expense_claim", claim_data(), frank, submit=False)
    assert [r.id for r in db.session.scalars(access.visible_records(alice))] == [mine.id]
    assert access.get_visible(alice, theirs.id) is None
    assert access.get_visible(alice, mine.id).id == mine.id
    assert {r.id for r in db.session.scalars(access.visible_records(admin))} == {mine.id, theirs.id}
    assert access.get_visible(admin, theirs.id) is not None
    assert access.get_visible(alice, 10**9) is None
