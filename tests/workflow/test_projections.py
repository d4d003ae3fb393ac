"""Projected record values (``records.projections``): the invoice numbers the demo claim route's
``$duplicate_invoices`` searches are kept in ``record_values`` on every write, and the check reads them."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import delete, event, select
from workflow_helpers import ROOT, act, claim_data, status, user

from formwork.budgets.seed import seed_demo_budgets
from formwork.definitions import store
from formwork.extensions import db
from formwork.records import drafts, projections
from formwork.records.cli import projections_cli
from formwork.records.models import Record, RecordValue
from formwork.routes.facts import duplicate_invoice_claims
from formwork.workflow import service, submission

PATH = "lines.invoice_no"


@pytest.fixture
def demo(org, notes):
    store.publish_path(ROOT / "definitions")
    seed_demo_budgets()
    return org


def lines(*invoices: str | None) -> list[dict]:
    rows = []
    for invoice in invoices:
        row = {"date": date.today().replace(day=1).isoformat(), "type": "other", "amount": "100.00"}
        if invoice is not None:
            row["invoice_no"] = invoice
        rows.append(row)
    return rows


def projected(record: Record) -> list[tuple[str, str]]:
    rows = db.session.execute(
        select(RecordValue.path, RecordValue.text_value)
        .where(RecordValue.record_id == record.id)
        .order_by(RecordValue.path, RecordValue.text_value)
    )
    return [(path, value) for path, value in rows]


def new_claim(username: str, *invoices: str | None, submit: bool = True) -> Record:
    data = claim_data("100.00", lines=lines(*invoices))
    return submission.create_record("expense_claim", data, user(username), submit=submit)


def edit(record: Record, *invoices: str | None, submit: bool) -> None:
    submission.update_record(
        record, claim_data("100.00", lines=lines(*invoices)), user(record.owner.username), submit=submit
    )


def test_the_route_declares_the_invoice_field_projected(demo):
    assert projections.projected_paths("expense_claim") == {PATH}
    assert projections.projected_paths("purchase_request") == frozenset()  # its route searches nothing


def test_values_follow_every_write_of_the_data(demo):
    record = new_claim("alice", "11110001", "11110002", None, "11110001", submit=False)
    assert projected(record) == [(PATH, "11110001"), (PATH, "11110002")]  # a draft: distinct, no blanks
    edit(record, "11110002", "11110003", submit=False)  # a line changed, one removed, one added
    assert projected(record) == [(PATH, "11110002"), (PATH, "11110003")]
    edit(record, "11110003", submit=True)
    assert projected(record) == [(PATH, "11110003")]
    act(record, "bob", "reject", comment="Wrong invoice")  # the head's rejection returns it
    assert status(record) == "returned"
    edit(record, "11110004", None, submit=True)  # resubmitted with another invoice
    assert projected(record) == [(PATH, "11110004")] and status(record) == "in_review"


def test_withdrawn_and_deleted_records_are_not_found(demo):
    first = new_claim("alice", "22220001")
    second = new_claim("erin", "22220001")
    assert duplicate_invoice_claims(second) == {"22220001": [(first.id, first.title)]}
    service.withdraw(first, user("alice"))
    assert duplicate_invoice_claims(second) == {}
    assert projected(first) == [(PATH, "22220001")]  # kept: the check filters on the record's status

    draft = new_claim("frank", "33330001", submit=False)
    assert projected(draft) == [(PATH, "33330001")]
    draft_id = draft.id
    drafts.delete_draft(draft, user("frank"), has_process=False)
    assert db.session.scalars(select(RecordValue).where(RecordValue.record_id == draft_id)).all() == []


def test_the_check_reads_the_projection_not_the_data(demo, app):
    first = new_claim("alice", "44440001")
    second = new_claim("erin", "44440001")
    statements: list[str] = []

    def seen(_conn, _cursor, statement, *_args):
        statements.append(statement)

    db.session.execute(delete(RecordValue).where(RecordValue.record_id == first.id))
    db.session.commit()
    engine = db.engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        assert (
            duplicate_invoice_claims(second) == {}
        )  # its values are missing: not found, whatever the data says
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert any("record_values" in s for s in statements)
    assert not any("search_text" in s or "@>" in s for s in statements)

    result = app.test_cli_runner().invoke(projections_cli, ["rebuild", "--form", "expense_claim"])
    assert result.exit_code == 0, result.output
    assert "expense_claim: 2 values" in result.output
    assert duplicate_invoice_claims(second) == {"44440001": [(first.id, first.title)]}


def test_rebuild_matches_what_the_writes_keep(demo, app):
    records = [
        new_claim("alice", "55550001", "55550002"),
        new_claim("erin", "55550002", None, submit=False),
        new_claim("frank", None),
    ]
    kept = {r.id: projected(r) for r in records}
    # A stored value the forms would not accept any more still projects exactly as stored; a blank
    # one and a number do not.
    odd = records[2]
    odd.data = {**odd.data, "lines": [{"invoice_no": " 55550003 "}, {"invoice_no": " \t"}, {"invoice_no": 7}]}
    db.session.commit()
    kept[odd.id] = projected(odd)
    assert kept[odd.id] == [(PATH, " 55550003 ")]

    result = app.test_cli_runner().invoke(projections_cli, ["rebuild"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    assert {r.id: projected(r) for r in records} == kept
    assert "expense_claim: 4 values" in result.output
