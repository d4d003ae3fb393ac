"""The shipped demo routes (definitions/routes/*.yaml) on the demo organisation and budgets, end to end.

Everything here is published from the real ``definitions/`` folder, as ``./dev demo`` does, so a
change to a shipped route that breaks a PRODUCT.md scenario fails here.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select
from workflow_helpers import ROOT, act, claim_data, open_tasks, status, trail_actions, user, waiting_for

from formwork.budgets.seed import seed_demo_budgets
from formwork.definitions import store
from formwork.extensions import db
from formwork.org.models import Department
from formwork.org.users import create_user
from formwork.records.models import Attachment, Record
from formwork.workflow import submission
from formwork.workflow.models import CC, TrailEntry


@pytest.fixture
def demo(org, notes):
    """The demo definitions (forms, then routes) and the demo budgets for this quarter."""
    results = store.publish_path(ROOT / "definitions")
    assert {r.definition.key for r in results if r.definition.kind == "route"} >= {
        "expense_claim",
        "purchase_request",
        "contract_payment",
    }
    seed_demo_budgets()
    return org


def entries(record: Record, action: str) -> list[TrailEntry]:
    return list(
        db.session.scalars(
            select(TrailEntry)
            .where(TrailEntry.record_id == record.id, TrailEntry.action == action)
            .order_by(TrailEntry.id)
        )
    )


def claim(username: str, amount: str, invoice: str = "10000001", **overrides) -> Record:
    lines = [
        {
            "date": date.today().replace(day=1).isoformat(),
            "type": "other",
            "amount": amount,
            "invoice_no": invoice,
        }
    ]
    return submission.create_record(
        "expense_claim", claim_data(amount, lines=lines, **overrides), user(username), submit=True
    )


def walk(record: Record, *people: str) -> None:
    """Each person in turn is the only one waiting, and approves."""
    for person in people:
        assert waiting_for(record) == [person], (person, waiting_for(record))
        act(record, person)


# ---- expense claim ---------------------------------------------------------------------------


def test_expense_claim_below_50000_head_finance_cashier(demo, notes):
    record = claim("alice", "49999.99")
    walk(record, "bob", "carol", "grace")
    assert status(record) == "approved"
    assert [e.details for e in entries(record, "skipped")] == [{"reason": "condition false"}]
    assert entries(record, "skipped")[0].step_key == "cfo"
    # The cashier step copies the finance reviewers (抄送): carol gets a copy to read.
    assert [t.assignee_id for t in open_tasks(record, CC)] == [user("carol").id]
    cc = entries(record, "cc")
    assert [(e.step_key, e.details) for e in cc] == [("cashier", {"users": [user("carol").id]})]
    assert ([user("alice").id], "approved", None) in notes


def test_expense_claim_at_50000_adds_the_cfo(demo):
    record = claim("alice", "50000.00")
    walk(record, "bob", "carol", "dave", "grace")
    assert status(record) == "approved"
    assert "skipped" not in trail_actions(record)


def test_a_cfo_rejection_returns_to_finance_review(demo):
    record = claim("frank", "80000.00")
    walk(record, "bob", "carol")
    act(record, "dave", "reject", comment="Split the claim")
    assert status(record) == "in_review" and waiting_for(record) == ["carol"]  # return_to: finance_review
    walk(record, "carol", "dave", "grace")
    assert status(record) == "approved"


def test_bobs_own_claim_goes_one_level_up(demo):
    record = claim("bob", "12000.00")
    sent_up = entries(record, "sent_up")
    assert [(e.step_key, e.details) for e in sent_up] == [
        ("department_head", {"from": user("bob").id, "to": user("dave").id})
    ]
    walk(record, "dave", "carol", "grace")
    assert status(record) == "approved"


def test_daves_own_claim_goes_to_the_fallback_and_nobody_approves_twice(demo):
    record = claim("dave", "60000.00")
    # dave heads the top department: nobody above him, so the fallback (admin) gets the head step.
    head = [e for e in entries(record, "sent_up") if e.step_key == "department_head"]
    assert head[0].details == {"from": user("dave").id, "to": None}
    assert [e.step_key for e in entries(record, "fallback")] == ["department_head"]
    walk(record, "admin", "carol")
    # The CFO step: dave is the only CFO and the submitter; it goes the same way, to admin,
    # who has already approved this claim: approved automatically, not asked again.
    auto = entries(record, "auto_approved")
    assert [(e.step_key, e.details) for e in auto] == [
        ("cfo", {"user": user("admin").id, "already_approved_at": "department_head"})
    ]
    walk(record, "grace")
    assert status(record) == "approved"
    decided_by = {e.actor_id for e in entries(record, "approve")}
    assert user("dave").id not in decided_by


def test_nobody_is_asked_twice_on_the_demo_route(demo):
    create_user(
        "fiona", display_name="Fiona", department_code="FIN", manager_username="carol", role_keys=["employee"]
    )
    db.session.commit()
    record = claim("fiona", "12000.00")
    walk(record, "carol")  # head of Finance
    # carol is also the (only) finance reviewer: approved automatically, with a trail entry
    auto = entries(record, "auto_approved")
    assert [(e.step_key, e.details) for e in auto] == [
        ("finance_review", {"user": user("carol").id, "already_approved_at": "department_head"})
    ]
    walk(record, "grace")
    assert status(record) == "approved"


def test_a_duplicate_invoice_alerts_finance(demo, notes):
    first = claim("alice", "300.00", invoice="55550001")
    assert entries(first, "alert") == []
    second = claim("frank", "450.00", invoice="55550001")
    alert = entries(second, "alert")
    # The alert names the invoice number and the other claim that carries it.
    assert [e.details for e in alert] == [
        {"alert": "duplicate_invoice", "users": [user("carol").id], "invoices": {"55550001": [first.id]}}
    ]
    assert ([user("carol").id], "alert", None) in notes
    # An alert never stops the claim.
    assert waiting_for(second) == ["bob"]


def test_whoever_is_alerted_about_a_record_may_open_it(demo, app, login):
    first = claim("alice", "300.00", invoice="55550002")
    second = claim("frank", "450.00", invoice="55550002")
    assert "carol" not in waiting_for(second)  # no task on it yet: only the alert leads her there
    carol = login(app.test_client(), "carol")
    assert carol.get(f"/records/{second.id}").status_code == 200
    assert carol.get(f"/api/records/{second.id}").status_code == 200
    assert carol.get(f"/records/{second.id}/pdf").status_code == 200
    assert second.id in [item["id"] for item in carol.get("/api/records").get_json()["items"]]
    # The alert names the other claim with that invoice number: she may open it too.
    assert carol.get(f"/api/records/{first.id}").status_code == 200
    # Someone the alert did not tell still gets nothing.
    grace = login(app.test_client(), "grace")
    assert grace.get(f"/records/{second.id}").status_code == 404
    assert grace.get(f"/api/records/{second.id}").status_code == 404
    assert grace.get(f"/records/{second.id}/pdf").status_code == 404


# ---- purchase request with budget control --------------------------------------------------


def department(code: str) -> Department:
    return db.session.scalar(select(Department).where(Department.code == code))


def purchase(username: str, price: str, category: str = "equipment", code: str | None = None) -> Record:
    requester = user(username)
    data = {
        "subject": "Laptops",
        "department": department(code).id if code else requester.department_id,
        "budget_category": category,
        "items": [{"description": "Laptop", "quantity": 1, "unit_price": price}],
        "needed_by": (date.today() + timedelta(days=14)).isoformat(),
        "justification": "New staff",
    }
    return submission.create_record("purchase_request", data, requester, submit=True)


def test_purchase_within_the_sales_budget(demo, notes):
    record = purchase("alice", "15000.00")  # Sales equipment budget: 200,000
    walk(record, "bob")
    assert entries(record, "branch")[0].details == {"case": 0}
    walk(record, "henry")  # head of Purchasing
    assert status(record) == "approved"
    assert entries(record, "alert") == []


def test_purchase_over_budget_adds_the_cfo_and_alerts(demo, notes):
    record = purchase("alice", "250000.00")
    alert = entries(record, "alert")
    assert [e.details for e in alert] == [{"alert": "over_budget", "users": [user("dave").id]}]
    assert ([user("dave").id], "alert", None) in notes
    walk(record, "bob")
    assert entries(record, "branch")[0].details == {"case": -1}
    walk(record, "dave", "henry")
    assert status(record) == "approved"


def test_purchase_over_budget_rejected_by_the_cfo_is_rejected(demo):
    record = purchase("alice", "250000.00")
    walk(record, "bob")
    act(record, "dave", "reject", comment="Not this quarter")
    assert status(record) == "rejected" and waiting_for(record) == []


def test_the_budget_counts_requests_under_way(demo):
    first = purchase("alice", "20000.00", category="supplies")  # supplies: 30,000
    walk(first, "bob")
    assert waiting_for(first) == ["henry"]  # within budget
    second = purchase("frank", "20000.00", category="supplies")  # 20,000 + 20,000 > 30,000
    walk(second, "bob")
    assert waiting_for(second) == ["dave"]  # over budget now: the CFO first
    assert [e.details["alert"] for e in entries(second, "alert")] == ["over_budget"]


def test_a_department_without_a_budget_counts_as_over_budget(demo):
    record = purchase("erin", "500.00")  # HR has no budget line
    # erin heads HR: sent up to dave; at the over-budget CFO step dave has already approved.
    walk(record, "dave")
    assert [e.step_key for e in entries(record, "auto_approved")] == ["cfo_over_budget"]
    walk(record, "henry")
    assert status(record) == "approved"


# ---- contract payment: legal and finance countersign ---------------------------------------


def contract(username: str, amount: str = "120000.00") -> Record:
    owner = user(username)
    upload = Attachment(
        owner_id=owner.id,
        form_key="contract_payment",
        field_path="attachment",
        filename="contract.pdf",
        content_type="application/pdf",
        size=1000,
        sha256="0" * 64,
        storage_key=f"contract-{username}-{amount}",
    )
    db.session.add(upload)
    db.session.commit()
    data = {
        "contract_no": "HT-2026-001",
        "payee": "Shanghai Supplies Ltd",
        "instalment": 2,
        "amount": amount,
        "attachment": [upload.id],
    }
    return submission.create_record("contract_payment", data, owner, submit=True)


def test_contract_payment_needs_both_countersigns_then_the_cfo(demo):
    record = contract("alice")
    assert waiting_for(record) == ["carol", "ivan"]  # legal and finance at once
    act(record, "ivan")
    assert waiting_for(record) == ["carol"]  # the join waits for finance
    act(record, "carol")
    walk(record, "dave")
    assert status(record) == "approved"
    steps = [e.step_key for e in entries(record, "step_approved")]
    assert steps[:2] == ["legal_review", "finance_review"] and steps[-1] == "cfo"


def test_contract_payment_rejected_by_legal_is_rejected_and_finance_is_cancelled(demo, notes):
    record = contract("alice")
    carol_task = [t for t in open_tasks(record) if t.assignee_id == user("carol").id][0]
    act(record, "ivan", "reject", comment="The contract is not signed")
    assert status(record) == "rejected"
    assert waiting_for(record) == []
    db.session.refresh(carol_task)
    assert carol_task.status == "cancelled"
    assert ([user("alice").id], "rejected", None) in notes


def test_contract_payment_rejected_by_finance_is_rejected(demo):
    record = contract("frank")
    act(record, "carol", "reject", comment="Wrong instalment")
    assert status(record) == "rejected"


def test_contract_payment_rejected_by_the_cfo_returns_to_the_submitter(demo):
    record = contract("alice")
    act(record, "ivan")
    act(record, "carol")
    act(record, "dave", "reject", comment="Attach the delivery note")
    assert status(record) == "returned"  # on_reject: return_to_submitter


# ---- a handed-over decision settles its own step only ----------------------------------------


def test_a_transferred_decision_does_not_also_settle_the_finance_step(demo):
    """bob hands his head step to carol, the only finance reviewer: her one approval must not pass
    the finance review too; the step goes to the route's fallback (admin) instead."""
    record = claim("alice", "60000.00")
    act(record, "bob", "transfer", to_user_id=user("carol").id)
    act(record, "carol")
    assert entries(record, "auto_approved") == []
    assert waiting_for(record) == ["admin"]
    [note] = entries(record, "not_auto_approved")
    assert note.step_key == "finance_review"
    assert note.details == {
        "user": user("carol").id,
        "decided_at": "department_head",
        "by": "transfer",
        "reason": "hand-over",
    }
    walk(record, "admin", "dave", "grace")
    assert status(record) == "approved"


def test_a_delegated_opinion_does_not_count_as_an_approval_later(demo):
    record = claim("alice", "60000.00")
    act(record, "bob", "delegate", to_user_id=user("carol").id)
    act(record, "carol")  # her advice; the task comes back to bob
    act(record, "bob")
    # carol approved only as bob's delegate (advice): the finance review is still hers to decide.
    assert entries(record, "auto_approved") == [] and waiting_for(record) == ["carol"]
    assert [(e.details["by"], e.details["reason"]) for e in entries(record, "not_auto_approved")] == [
        ("delegate", "advice")
    ]
    walk(record, "carol", "dave", "grace")
    assert status(record) == "approved"


def test_a_stand_ins_approval_does_not_settle_a_later_step(demo):
    """carol stands in for bob while he is away; her approval of his step leaves her out of the
    finance review."""
    from formwork.db_types import utcnow
    from formwork.workflow.delegation import set_out_of_office

    now = utcnow()
    set_out_of_office(user("bob"), user("carol"), now - timedelta(days=1), now + timedelta(days=1))
    db.session.commit()
    record = claim("alice", "60000.00")
    assert waiting_for(record) == ["carol"]
    act(record, "carol")
    assert entries(record, "auto_approved") == [] and waiting_for(record) == ["admin"]
    assert [e.details["by"] for e in entries(record, "not_auto_approved")] == ["out_of_office"]


def test_an_added_signer_is_left_out_of_the_later_step(demo):
    record = claim("alice", "60000.00")
    act(record, "bob", "add_signer", to_user_id=user("carol").id, position="after")
    act(record, "bob")
    act(record, "carol")  # her vote settles the head step
    assert entries(record, "auto_approved") == [] and waiting_for(record) == ["admin"]
    assert [e.details["by"] for e in entries(record, "not_auto_approved")] == ["add_signer"]


def test_with_nobody_else_to_ask_the_handed_decision_is_refused(demo):
    from formwork.workflow.errors import StartRefused

    record = claim("alice", "60000.00")
    act(record, "bob", "transfer", to_user_id=user("carol").id)
    # admin (the fallback and only administrator) has left: the finance review could only be carol
    # again, so her approval is refused and nothing changes.
    user("admin").active = False
    db.session.commit()
    with pytest.raises(StartRefused):
        act(record, "carol")
    db.session.rollback()
    assert waiting_for(record) == ["carol"] and status(record) == "in_review"


def test_a_route_may_refuse_handing_a_task_to_a_later_approver(demo):
    from formwork.definitions.loader import read_source
    from formwork.workflow.errors import InvalidDecision

    content = read_source(
        (ROOT / "definitions" / "routes" / "expense_claim.yaml").read_text("utf-8"), "r.yaml"
    )
    store.publish({**content.content, "hand_over": "refuse"})
    record = claim("alice", "60000.00")
    with pytest.raises(InvalidDecision, match=r"approves a later step \(Finance review\)"):
        act(record, "bob", "transfer", to_user_id=user("carol").id)
    db.session.rollback()
    with pytest.raises(InvalidDecision, match=r"approves a later step \(CFO approval\)"):
        act(record, "bob", "add_signer", to_user_id=user("dave").id, position="after")
    db.session.rollback()
    # Advice is not a decision: asking carol's opinion is allowed, and so is handing it to erin.
    act(record, "bob", "delegate", to_user_id=user("carol").id)
    act(record, "carol")
    act(record, "bob", "transfer", to_user_id=user("erin").id)
    walk(record, "erin", "carol", "dave", "grace")
    assert status(record) == "approved"
