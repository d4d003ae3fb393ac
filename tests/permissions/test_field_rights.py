"""Field rights by role × step × state, the combination rule, and what they do to a record's data."""

from __future__ import annotations

import pytest
from permissions_samples import load_policy

from formwork.forms.model import compile_form
from formwork.permissions.field_rights import Standing, resolve, standing
from formwork.permissions.model import Grant, Origin, PolicySet, Right, Scope
from formwork.permissions.scopes import Basis
from formwork.permissions.subject import Holding, OrgTree, RecordFacts, Subject

FORM = {
    "kind": "form",
    "key": "payment",
    "title": {"zh-CN": "付款", "en": "Payment"},
    "fields": [
        {"key": "reason", "type": "text", "label": {"zh-CN": "事由", "en": "Reason"}, "required": True},
        {"key": "account", "type": "text", "label": {"zh-CN": "账号", "en": "Account"}},
        {"key": "accounting_code", "type": "text", "label": {"zh-CN": "科目", "en": "Code"}},
        {"key": "internal_note", "type": "long_text", "label": {"zh-CN": "备注", "en": "Note"}},
        {
            "key": "lines",
            "type": "lines",
            "label": {"zh-CN": "明细", "en": "Lines"},
            "fields": [
                {"key": "amount", "type": "money", "label": {"zh-CN": "金额", "en": "Amount"}},
                {"key": "invoice_no", "type": "text", "label": {"zh-CN": "发票", "en": "Invoice"}},
            ],
        },
        {
            "key": "total",
            "type": "computed",
            "label": {"zh-CN": "合计", "en": "Total"},
            "result_type": "money",
            "expression": "sum(lines.amount)",
        },
    ],
}

POLICY = """
kind: permission
key: payment
form: payment
title: {zh-CN: 付款权限, en: Payment permissions}
grants:
  - role: finance_reviewer
    operations: [view, approve]
    scope: all
  - role: auditor
    operations: [view, edit]
    scope: all
  - role: department_head
    operations: [view]
    scope: department_tree
field_rules:
  - fields: [account]
    roles: [everyone]
    right: masked
    mask: {keep_last: 4}
  - fields: [account]
    roles: [owner]
    right: read
  - fields: [account]
    roles: [owner]
    status: [draft, returned]
    right: write
  - fields: [account]
    roles: [finance_reviewer]
    right: read
  - fields: [internal_note]
    roles: [everyone]
    right: hidden
  - fields: [internal_note]
    roles: [finance_reviewer]
    right: read
  - fields: [accounting_code]
    roles: [owner]
    right: read
  # The finance review step closes everything to its approvers but opens the accounting code.
  - fields: ["*"]
    roles: [approver]
    steps: [finance_review]
    right: read
  - fields: [accounting_code]
    roles: [approver]
    steps: [finance_review]
    right: write
  - fields: [lines]
    roles: [department_head]
    right: hidden
  - fields: [lines.invoice_no]
    roles: [everyone]
    right: masked
    mask: {fixed: "****"}
  - fields: [reason]
    roles: [auditor]
    right: write
  - fields: [total]
    roles: [auditor]
    right: write
"""


@pytest.fixture
def form(registry):
    return compile_form(FORM, registry)


@pytest.fixture
def policies(form):
    return PolicySet.of("payment", [load_policy("payment", {"payment": form}, text=POLICY)])


def basis(policies, role, holding_department=None):
    grant = next(g for g in policies.grants if g.role == role)
    return Basis(grant, Holding(role, holding_department))


def rights(policies, form, **place):
    result = resolve(policies, Standing(**place), form)
    return {path: (r.right.word, r.mask.describe() if r.mask else None) for path, r in result.rights.items()}


def test_the_owner_writes_a_draft_and_reads_it_once_submitted(policies, form):
    draft = rights(policies, form, status="draft", owner=True, bases=(basis(policies, "finance_reviewer"),))
    assert draft["reason"] == ("write", None)
    assert draft["account"] == ("write", None)
    assert draft["accounting_code"] == ("read", None)  # a rule for owner closes it
    assert draft["total"] == ("read", None)  # computed: never written
    assert draft["lines.amount"] == ("write", None)
    submitted = rights(
        policies, form, status="submitted", owner=True, bases=(basis(policies, "finance_reviewer"),)
    )
    assert {path for path, (right, _) in submitted.items() if right == "write"} == set()


def test_a_step_opens_one_field_to_its_approvers_and_closes_the_others(policies, form):
    at_review = rights(
        policies,
        form,
        status="in_review",
        approver_steps=frozenset({"finance_review"}),
        current_steps=frozenset({"finance_review"}),
    )
    assert at_review["accounting_code"] == ("write", None)
    assert at_review["account"] == ("read", None)  # "*" read for the step's approvers beats everyone's mask
    assert at_review["internal_note"] == ("read", None)
    # another step: only what everyone gets
    elsewhere = rights(
        policies,
        form,
        status="in_review",
        approver_steps=frozenset({"cashier"}),
        current_steps=frozenset({"cashier"}),
    )
    assert elsewhere["accounting_code"] == ("read", None)
    assert elsewhere["account"] == ("masked", "keep last 4")
    assert elsewhere["internal_note"] == ("hidden", None)
    # a reviewer who sees the record while it is at the step, without a task there, does not write
    onlooker = rights(
        policies,
        form,
        status="in_review",
        current_steps=frozenset({"finance_review"}),
        bases=(basis(policies, "finance_reviewer"),),
    )
    assert onlooker["accounting_code"] == ("read", None)


@pytest.mark.parametrize(
    ("status", "owner_right"),
    [("draft", "write"), ("returned", "write"), ("submitted", "read"), ("approved", "read")],
)
def test_state_decides_the_owners_account_right(policies, form, status, owner_right):
    assert rights(policies, form, status=status, participant=True, owner=True)["account"][0] == owner_right


def test_the_highest_right_among_the_roles_that_see_the_row(policies, form):
    head = basis(policies, "department_head")
    reviewer = basis(policies, "finance_reviewer")
    both = rights(policies, form, status="submitted", bases=(head, reviewer))
    assert both["account"] == ("read", None)  # reviewer's read beats the head's mask
    assert both["lines.amount"] == ("read", None)  # reviewer sees the lines the head may not
    only_head = rights(policies, form, status="submitted", bases=(head,))
    assert only_head["account"] == ("masked", "keep last 4")
    assert only_head["lines"] == ("hidden", None)
    assert only_head["lines.amount"] == ("hidden", None)  # hidden lines hide every column
    assert only_head["internal_note"] == ("hidden", None)


def test_a_role_that_does_not_see_the_row_contributes_no_column(seeded, demo_org, form, policies):
    """carol is a finance reviewer only for Finance: on a Sales record her head role alone counts."""
    sales_record = RecordFacts(
        id=1,
        form_key="payment",
        owner_id=demo_org["alice"].id,
        department_id=demo_org["alice"].department_id,
        status="submitted",
    )
    tree = OrgTree.load()
    fin = demo_org["carol"].department_id
    carol = Subject(
        demo_org["carol"].id,
        "carol",
        fin,
        (
            Holding("everyone"),
            Holding("finance_reviewer", fin, limited=True),
            Holding("department_head", fin),
        ),
    )
    # bob is the head of Sales; give carol the head role of Sales too, to see the row at all
    carol = Subject(
        carol.user_id,
        "carol",
        fin,
        carol.holdings + (Holding("department_head", sales_record.department_id),),
    )
    place = standing(carol, policies, sales_record, tree)
    assert [b.grant.role for b in place.bases] == ["department_head"]
    result = resolve(policies, place, form)
    assert (
        result.right("account") == Right.MASKED
    )  # not read through finance_reviewer, who cannot see the row
    assert result.right("internal_note") == Right.HIDDEN
    fin_record = RecordFacts(
        id=2, form_key="payment", owner_id=demo_org["grace"].id, department_id=fin, status="submitted"
    )
    assert resolve(policies, standing(carol, policies, fin_record, tree), form).right("account") == Right.READ


def test_write_needs_a_role_that_may_edit(policies, form):
    # auditors have edit: their write on reason holds; a computed field is still only read
    auditor = rights(policies, form, status="approved", bases=(basis(policies, "auditor"),))
    assert auditor["reason"] == ("write", None)
    assert auditor["total"] == ("read", None)
    # the same rule through a role without edit gives read
    no_edit = Grant("auditor", frozenset({"view"}), Scope("all"), Origin("x", 1, "/grants/0"))
    place = Standing(status="approved", bases=(Basis(no_edit, Holding("auditor")),))
    result = resolve(policies, place, form)
    assert result.right("reason") == Right.READ
    assert "no role that may edit" in result.get("reason").limited_by


def test_nothing_is_visible_without_a_reason_to_see_the_record(policies, form):
    result = resolve(policies, Standing(status="approved", owner=True), form)
    assert not result.visible
    assert set(r.right for r in result.rights.values()) == {Right.HIDDEN}


def test_redact_and_refused_writes(policies, form):
    head = basis(policies, "department_head")
    result = resolve(policies, Standing(status="submitted", bases=(head,)), form)
    data = {
        "reason": "Trip",
        "account": "6225020200115678",
        "internal_note": "secret",
        "lines": [{"amount": "10.00", "invoice_no": "12345678"}],
        "total": "10.00",
        "unknown_key": "never shown",
    }
    assert result.redact(data) == {"reason": "Trip", "account": "************5678", "total": "10.00"}
    reviewer = resolve(
        policies, Standing(status="submitted", bases=(basis(policies, "finance_reviewer"),)), form
    )
    assert reviewer.redact(data)["lines"] == [{"amount": "10.00", "invoice_no": "****"}]
    assert reviewer.redact(data)["internal_note"] == "secret"
    owner = resolve(policies, Standing(status="draft", owner=True, participant=True), form)
    assert owner.refused_writes(["reason", "lines[0].amount", "accounting_code", "total"]) == [
        "accounting_code",
        "total",
    ]


def test_the_demo_bank_account(seeded, demo_org, policy_sets, forms):
    """Finance reviewers see the full account; the cashier while paying; everyone else masked."""
    from sqlalchemy import select

    from formwork.extensions import db
    from formwork.records.models import Record

    tree = OrgTree.load()
    record = db.session.scalars(select(Record).where(Record.title == "ec_frank_review")).one()
    facts = RecordFacts.of(record, forms["expense_claim"])
    policies = policy_sets["expense_claim"]

    def account(username, **place):
        subject = Subject.load(demo_org[username])
        result = resolve(policies, standing(subject, policies, facts, tree, **place), forms["expense_claim"])
        return result.redact(record.data).get("payee_account")

    assert account("carol") == "6225020200115678"
    assert account("bob") == "6225********5678"
    assert account("dave") == "6225********5678"
    assert account("frank") == "6225020200115678"  # the claimant reads it
    assert account("grace", approver_steps={"cashier"}, current_steps={"cashier"}) == "6225020200115678"
    assert account("ivan", participant=True) == "6225********5678"
    assert account("alice") is None  # not visible: nothing at all


def test_a_field_that_cannot_be_masked_is_hidden_where_a_rule_masks_everything(registry):
    form = compile_form(
        {
            **FORM,
            "fields": [
                *FORM["fields"],
                {"key": "payee", "type": "user", "label": {"zh-CN": "收款人", "en": "Payee"}},
                {"key": "urgent", "type": "boolean", "label": {"zh-CN": "加急", "en": "Urgent"}},
            ],
        },
        registry,
    )
    text = POLICY.replace(
        "field_rules:", 'field_rules:\n  - {fields: ["*"], roles: [auditor], right: masked}', 1
    )
    policies = PolicySet.of("payment", [load_policy("payment", {"payment": form}, text=text)])
    auditor = rights(policies, form, status="approved", bases=(basis(policies, "auditor"),))
    assert auditor["payee"] == ("hidden", None)
    assert auditor["urgent"] == ("hidden", None)
    # a rule naming the role comes before any rule for everyone: the hidden note is masked for auditors
    assert auditor["internal_note"] == ("masked", "keep last 4")
    assert auditor["lines"] == ("masked", "keep last 4")
    assert auditor["lines.amount"] == ("masked", "keep last 4")
    assert auditor["account"] == ("masked", "keep last 4")
