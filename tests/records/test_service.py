"""The records service: atomic writes, version pinning, idempotent creation, optimistic locking."""

from __future__ import annotations

import copy
import threading

import pytest
from records_samples import claim_data, expense_content
from sqlalchemy import func, select, text

from formwork.definitions import store
from formwork.extensions import db
from formwork.records import service
from formwork.records.models import Record, RecordEvent
from formwork.records.serialize import record_json
from formwork.workflow import submission


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_create_draft_then_submit(expense, users):
    alice = users["alice"]
    record = submission.create_record("expense_claim", claim_data(), alice, submit=False)
    assert record.status == "draft" and record.submitted_at is None
    assert record.form_version == expense.version and record.definition_id == expense.id
    assert record.owner_id == alice.id and record.department_id == alice.department_id
    assert record.title == "Printer toner for the Sales team"
    assert "Printer toner" in record.search_text
    assert record.data["total"] == "6.30"  # 1.10 + 2.10 + 3.10, exact
    assert [
        e.action for e in db.session.scalars(select(RecordEvent).where(RecordEvent.record_id == record.id))
    ] == ["created"]
    record = submission.update_record(record, {"reason": "Toner and paper"}, alice, submit=True)
    assert record.status == "submitted" and record.submitted_at is not None
    events = db.session.scalars(
        select(RecordEvent).where(RecordEvent.record_id == record.id).order_by(RecordEvent.id)
    )
    assert [(e.action, e.changes) for e in events] == [
        ("created", {"fields": sorted(record.data)}),
        ("updated", {"fields": ["reason"]}),
        ("submitted", None),
    ]


def test_decimals_exact_end_to_end(expense, users):
    lines = [
        {"date": "2024-01-02", "type": "meals", "amount": amount} for amount in ("0.10", "0.20", "999999.99")
    ]
    record = submission.create_record("expense_claim", claim_data(lines=lines), users["alice"], submit=False)
    db.session.expire_all()
    stored = db.session.get(Record, record.id)
    assert stored.data["total"] == "1000000.29"
    assert [line["amount"] for line in stored.data["lines"]] == ["0.10", "0.20", "999999.99"]
    assert record_json(stored, users["alice"])["data"]["total"] == "1000000.29"


def test_invalid_submission_stores_nothing(expense, users):
    data = claim_data(salary="1", lines=[{"date": "2024-01-02", "type": "meals", "amount": "1.005"}] * 51)
    with pytest.raises(service.ValidationFailed) as caught:
        submission.create_record("expense_claim", data, users["alice"], submit=True)
    fields = {e["field"]: e["message"] for e in caught.value.errors}
    assert fields == {"salary": "field salary does not exist in this form", "lines": "at most 50 rows"}
    assert count(Record) == 0 and count(RecordEvent) == 0


def test_missing_required_and_row_errors_on_submit(expense, users):
    data = claim_data(payee_account=None)
    data["lines"][1]["amount"] = "-5"
    with pytest.raises(service.ValidationFailed) as caught:
        submission.create_record("expense_claim", data, users["alice"], submit=True)
    assert {e["field"]: e["message"] for e in caught.value.errors} == {
        "payee_account": "this field is required",
        "lines[1].amount": "must be at least 0.01",
    }
    # The same data is a fine draft: required fields may wait.
    data["lines"][1]["amount"] = "5"
    assert submission.create_record("expense_claim", data, users["alice"], submit=False).status == "draft"


def test_failure_after_insert_leaves_nothing(expense, users, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(service, "_write_events", broken)
    with pytest.raises(RuntimeError):
        submission.create_record("expense_claim", claim_data(), users["alice"], submit=True)
    assert count(Record) == 0 and count(RecordEvent) == 0


def test_unknown_form(users):
    with pytest.raises(service.FormNotFound):
        submission.create_record("no_such_form", {}, users["alice"], submit=False)


def test_double_submit_with_the_same_token_makes_one_record(expense, users):
    alice = users["alice"]
    first = submission.create_record("expense_claim", claim_data(), alice, submit=True, client_token="tok-1")
    again = submission.create_record("expense_claim", claim_data(), alice, submit=True, client_token="tok-1")
    assert again.id == first.id and count(Record) == 1
    # Another user may use the same token for their own record.
    other = submission.create_record(
        "expense_claim", claim_data(), users["frank"], submit=True, client_token="tok-1"
    )
    assert other.id != first.id and count(Record) == 2


def test_token_race_lost_at_the_constraint_returns_the_winner(expense, users, monkeypatch):
    """Both requests looked before inserting and saw nothing: the unique constraint decides."""
    alice = users["alice"]
    winner = submission.create_record("expense_claim", claim_data(), alice, submit=True, client_token="race")
    real = service.find_by_token
    calls = []

    def miss_first_time(user, token, digest=None):
        calls.append(token)
        return None if len(calls) == 1 else real(user, token, digest)

    monkeypatch.setattr(service, "find_by_token", miss_first_time)
    again = submission.create_record("expense_claim", claim_data(), alice, submit=True, client_token="race")
    assert again.id == winner.id and count(Record) == 1 and count(RecordEvent) == 2


def test_a_token_lost_at_the_constraint_with_another_request_is_refused(expense, users, monkeypatch):
    alice = users["alice"]
    first = service.request_digest("POST", "expense_claim", {"data": claim_data()})
    submission.create_record(
        "expense_claim", claim_data(), alice, submit=True, client_token="race", request_digest=first
    )
    real = service.find_by_token
    calls = []

    def miss_first_time(user, token, digest=None):
        calls.append(token)
        return None if len(calls) == 1 else real(user, token, digest)

    monkeypatch.setattr(service, "find_by_token", miss_first_time)
    other = service.request_digest("POST", "expense_claim", {"data": claim_data(reason="Other")})
    with pytest.raises(service.TokenReused):
        submission.create_record(
            "expense_claim", claim_data(), alice, submit=True, client_token="race", request_digest=other
        )
    assert count(Record) == 1


@pytest.mark.postgres_only
def test_concurrent_double_submit_on_postgresql(app, expense, users):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite serialises writers")
    alice_id = users["alice"].id
    data = claim_data()
    threads_count = 6
    barrier = threading.Barrier(threads_count)
    ids: list[int] = []
    failures: list[BaseException] = []

    def submit():
        with app.app_context():
            try:
                alice = db.session.get(type(users["alice"]), alice_id)
                barrier.wait(timeout=10)
                record = submission.create_record(
                    "expense_claim", copy.deepcopy(data), alice, submit=True, client_token="double-click"
                )
                ids.append(record.id)
            except BaseException as exc:  # reported below
                failures.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=submit) for _ in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not failures, failures
    assert len(ids) == threads_count and len(set(ids)) == 1
    assert count(Record) == 1 and count(RecordEvent) == 2


def test_record_keeps_its_version_and_is_validated_with_it(expense, users):
    alice = users["alice"]
    old = submission.create_record("expense_claim", claim_data(), alice, submit=False)
    v2 = expense_content()
    v2["fields"].append(
        {"key": "project_code", "type": "text", "label": {"zh-CN": "项目", "en": "Project"}, "required": True}
    )
    version2, created = store.publish(v2)
    assert created and version2.version == expense.version + 1
    # The old draft still validates, and is submitted, against version 1.
    old = submission.update_record(old, {"reason": "still v1"}, alice, submit=True)
    assert old.form_version == expense.version and old.status == "submitted"
    with pytest.raises(service.ValidationFailed) as caught:
        submission.update_record(
            submission.create_record("expense_claim", claim_data(), alice, submit=False),
            {"project_code": None},
            alice,
            submit=True,
        )
    assert caught.value.errors == [{"field": "project_code", "message": "this field is required"}]
    # A field of version 2 does not exist for a version-1 record.
    draft = submission.create_record("expense_claim", claim_data(), alice, submit=False)
    db.session.execute(
        text("UPDATE records SET definition_id = :d, form_version = :v WHERE id = :id"),
        {"d": expense.id, "v": expense.version, "id": draft.id},
    )
    db.session.commit()
    db.session.expire_all()
    draft = db.session.get(Record, draft.id)
    with pytest.raises(service.ValidationFailed) as caught:
        submission.update_record(draft, {"project_code": "P-1"}, alice, submit=False)
    assert caught.value.errors[0]["field"] == "project_code"


def test_only_the_owner_edits_and_only_while_draft_or_returned(expense, users):
    alice, bob = users["alice"], users["bob"]
    record = submission.create_record("expense_claim", claim_data(), alice, submit=True)
    with pytest.raises(service.NotAllowed):
        submission.update_record(record, {"reason": "mine now"}, bob, submit=False)
    with pytest.raises(service.NotEditable):
        submission.update_record(record, {"reason": "too late"}, alice, submit=False)
    record.status = "returned"
    db.session.commit()
    record = submission.update_record(record, {"reason": "fixed"}, alice, submit=True)
    assert record.status == "submitted"


def test_changed_paths_of_rows(expense, users):
    alice = users["alice"]
    record = submission.create_record("expense_claim", claim_data(), alice, submit=False)
    lines = copy.deepcopy(record.data["lines"])
    lines[1]["amount"] = "9.99"
    submission.update_record(record, {"lines": lines}, alice, submit=False)
    event = db.session.scalars(select(RecordEvent).where(RecordEvent.action == "updated")).one()
    assert event.changes == {"fields": ["lines[1].amount", "total", "total_in_words"]}


def test_optimistic_locking(expense, users):
    alice = users["alice"]
    record = submission.create_record("expense_claim", claim_data(), alice, submit=False)
    seen = record.lock_version
    submission.update_record(record, {"reason": "first edit"}, alice, submit=False)
    with pytest.raises(service.ConflictError):
        submission.update_record(record, {"reason": "stale edit"}, alice, submit=False, lock_version=seen)
    # A write that happened between reading and saving is caught at commit.
    db.session.execute(
        text("UPDATE records SET lock_version = lock_version + 1 WHERE id = :id"), {"id": record.id}
    )
    with pytest.raises(service.ConflictError):
        submission.update_record(record, {"reason": "lost update"}, alice, submit=False)
    db.session.expire_all()
    assert db.session.get(Record, record.id).data["reason"] == "first edit"


def test_record_json_shape(expense, users):
    alice = users["alice"]
    record = submission.create_record("expense_claim", claim_data(), alice, submit=True)
    body = record_json(record, alice)
    assert set(body) >= {
        "id",
        "form",
        "form_version",
        "status",
        "title",
        "data",
        "owner",
        "department",
        "created_at",
        "updated_at",
        "submitted_at",
    }
    assert body["form"] == "expense_claim" and body["owner"]["username"] == "alice"
    assert body["department"]["id"] == alice.department_id
    assert isinstance(body["data"]["lines"][0]["amount"], str)
