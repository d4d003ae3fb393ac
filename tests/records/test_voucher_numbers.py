"""Voucher numbers: a per-form prefix from the definition, the year, a yearly sequence, unique under load."""

from __future__ import annotations

import copy
import threading
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest
import time_machine
from records_samples import claim_data, expense_content

from formwork.definitions import store
from formwork.extensions import db
from formwork.records.models import NumberSequence, Record
from formwork.records.numbering import next_in_sequence
from formwork.workflow import submission

YEAR = datetime.now(ZoneInfo("Asia/Shanghai")).year  # the business year (the default time zone)


def test_submitted_records_are_numbered_by_the_forms_prefix_and_year(expense, users):
    alice = users["alice"]
    first = submission.create_record("expense_claim", claim_data(), alice, submit=True)
    second = submission.create_record("expense_claim", claim_data(), users["frank"], submit=True)
    assert first.voucher_number == f"BX-{YEAR}-000001"
    assert second.voucher_number == f"BX-{YEAR}-000002"
    # A draft has none until it is submitted; then it takes the next number.
    draft = submission.create_record("expense_claim", claim_data(), alice, submit=False)
    assert draft.voucher_number is None
    draft = submission.update_record(draft, {"reason": "now submitted"}, alice, submit=True)
    assert draft.voucher_number == f"BX-{YEAR}-000003"


def test_the_year_is_the_business_year(expense, users):
    """01:00 on 1 January in Beijing is still 31 December in UTC: the claim is filed under the new year."""
    with time_machine.travel(datetime(2026, 12, 31, 17, 0, tzinfo=timezone.utc), tick=False):
        record = submission.create_record("expense_claim", claim_data(), users["alice"], submit=True)
    assert record.voucher_number == "BX-2027-000001"


def test_digits_and_forms_without_numbering(users):
    content = expense_content()
    content["numbering"] = {"prefix": "EX", "digits": 4}
    store.publish(content)
    record = submission.create_record("expense_claim", claim_data(), users["alice"], submit=True)
    assert record.voucher_number == f"EX-{YEAR}-0001"
    del content["numbering"]
    store.publish(content)
    plain = submission.create_record("expense_claim", claim_data(), users["alice"], submit=True)
    assert plain.voucher_number is None


def test_a_bad_numbering_is_refused_when_checked(users):
    from formwork.definitions.pipeline import check

    content = expense_content()
    content["numbering"] = {"prefix": "bx-1", "digits": 40}
    pointers = {problem.pointer for problem in check(content)}
    assert "/numbering/prefix" in pointers and "/numbering/digits" in pointers


def test_the_sequence_starts_again_each_year(app, users):
    assert [next_in_sequence("BX", 2025) for _ in range(3)] == [1, 2, 3]
    assert next_in_sequence("BX", 2026) == 1
    assert next_in_sequence("CG", 2025) == 1
    db.session.commit()
    assert db.session.get(NumberSequence, ("BX", 2025)).last == 3


def test_the_voucher_prints_the_number(app, expense, users):
    from formwork.documents.render import voucher_context

    record = submission.create_record("expense_claim", claim_data(), users["alice"], submit=True)
    with app.test_request_context():
        assert voucher_context(record, users["alice"])["record"]["number"] == f"BX-{YEAR}-000001"


@pytest.mark.postgres_only
def test_concurrent_submissions_take_distinct_consecutive_numbers_on_postgresql(app, expense, users):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite serialises writers")
    owner_ids = [users[name].id for name in ("alice", "frank", "bob", "carol", "grace", "erin")] * 2
    barrier = threading.Barrier(len(owner_ids))
    numbers: list[str] = []
    failures: list[BaseException] = []
    data = claim_data()

    def submit(owner_id: int) -> None:
        with app.app_context():
            try:
                owner = db.session.get(type(users["alice"]), owner_id)
                barrier.wait(timeout=10)
                record = submission.create_record("expense_claim", copy.deepcopy(data), owner, submit=True)
                numbers.append(record.voucher_number)
            except BaseException as exc:  # reported below
                failures.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=submit, args=(owner_id,)) for owner_id in owner_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not failures, failures
    expected = {f"BX-{YEAR}-{n:06d}" for n in range(1, len(owner_ids) + 1)}
    assert sorted(numbers) == sorted(expected)
    stored = db.session.scalars(db.select(Record.voucher_number)).all()
    assert sorted(stored) == sorted(expected)
