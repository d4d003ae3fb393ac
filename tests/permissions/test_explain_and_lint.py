"""Explain answers (grant, scope, rule, version, line) and lint problems (with pointers and lines)."""

from __future__ import annotations

import time

import pytest
from permissions_samples import DEFINITIONS
from sqlalchemy import select

from formwork.definitions.loader import read_source
from formwork.extensions import db
from formwork.permissions.explain import explain_field, explain_record
from formwork.permissions.lint import lint
from formwork.permissions.subject import OrgTree, RecordFacts, Subject
from formwork.records.models import Record
from formwork.routes.compile import compile_route

ROLES = {"administrator", "analyst", "cfo", "finance_reviewer", "cashier", "legal_reviewer", "employee"}
DEPARTMENTS = {"HQ", "SALES", "FIN", "HR", "PUR", "LEGAL"}


def facts(title, forms):
    record = db.session.scalars(select(Record).where(Record.title == title)).one()
    return RecordFacts.of(record, forms[record.form_key])


def line_of(name: str, text: str) -> int:
    lines = (DEFINITIONS / "permissions" / name).read_text().splitlines()
    return next(i for i, line in enumerate(lines, start=1) if text in line)


def test_explain_names_the_grant_version_and_line_that_shows_a_record(seeded, demo_org, policy_sets, forms):
    subject = Subject.load(demo_org["grace"])
    answer = explain_record(
        subject, policy_sets["expense_claim"], facts("ec_alice_approved", forms), OrgTree.load()
    )
    assert answer.allowed and answer.answer == "yes"
    decisive = [r for r in answer.reasons if r.decisive]
    assert len(decisive) == 1
    assert "cashier" in decisive[0].message and "only approved" in decisive[0].message
    origin = decisive[0].origin
    assert (origin.key, origin.version, origin.pointer) == ("expense_claim", 1, "/grants/1")
    assert origin.line == line_of("expense_claim.yaml", "role: cashier")
    assert "permissions/expense_claim.yaml" in answer.text()


def test_explain_says_why_not(seeded, demo_org, policy_sets, forms):
    subject = Subject.load(demo_org["grace"])
    answer = explain_record(
        subject, policy_sets["expense_claim"], facts("ec_frank_review", forms), OrgTree.load()
    )
    assert not answer.allowed
    text = answer.text()
    assert "only records that are approved; this one is in_review" in text
    assert "the scope is own records" in text
    assert "does not hold finance_reviewer" in text
    erin = Subject.load(demo_org["erin"])
    hr = explain_record(erin, policy_sets["expense_claim"], facts("ec_alice_approved", forms), OrgTree.load())
    assert not hr.allowed
    assert "never records of SALES (and below); this one is of SALES" in hr.text()


def test_explain_a_custom_scope(seeded, demo_org, policy_sets, forms):
    henry = Subject.load(demo_org["henry"])
    tree = OrgTree.load()
    small = explain_record(henry, policy_sets["purchase_request"], facts("pr_alice_small", forms), tree)
    assert not small.allowed
    assert "the filter 'estimated_total >= 10000' is not true" in small.text()
    big = explain_record(henry, policy_sets["purchase_request"], facts("pr_frank_big", forms), tree)
    assert big.allowed
    bob = Subject.load(demo_org["bob"])
    not_head = explain_record(bob, policy_sets["purchase_request"], facts("pr_frank_big", forms), tree)
    assert "department_head of PUR" in not_head.text()


def test_explain_a_field(seeded, demo_org, policy_sets, forms):
    tree = OrgTree.load()
    record = facts("ec_frank_review", forms)
    form = forms["expense_claim"]
    bob = Subject.load(demo_org["bob"])
    masked = explain_field(bob, policy_sets["expense_claim"], record, tree, form, "payee_account")
    assert masked.answer == "masked (keep first 4 and last 4)"
    rule = next(
        r for r in masked.reasons if r.decisive and r.origin and r.origin.pointer.startswith("/field_rules")
    )
    assert rule.origin.pointer == "/field_rules/0"
    assert rule.origin.line == line_of("expense_claim.yaml", "- fields: [payee_account]")
    carol = Subject.load(demo_org["carol"])
    full = explain_field(carol, policy_sets["expense_claim"], record, tree, form, "payee_account")
    assert full.answer == "read"
    assert any(r.decisive and "as finance_reviewer: read" in r.message for r in full.reasons)
    frank = Subject.load(demo_org["frank"])
    reason = explain_field(frank, policy_sets["expense_claim"], record, tree, form, "reason")
    assert reason.answer == "read"
    assert "no field rule applies (default)" in reason.text()
    alice = Subject.load(demo_org["alice"])
    hidden = explain_field(alice, policy_sets["expense_claim"], record, tree, form, "payee_account")
    assert not hidden.allowed and hidden.answer.startswith("hidden")
    assert (
        explain_field(alice, policy_sets["expense_claim"], record, tree, form, "nope").answer
        == "no such field"
    )
    assert hidden.as_dict()["reasons"]


def test_explain_answers_quickly(seeded, demo_org, policy_sets, forms):
    tree = OrgTree.load()
    record = facts("ec_frank_review", forms)
    carol = Subject.load(demo_org["carol"])
    started = time.perf_counter()
    for _ in range(20):
        explain_field(
            carol, policy_sets["expense_claim"], record, tree, forms["expense_claim"], "payee_account"
        )
    assert (time.perf_counter() - started) / 20 < 0.05


# --- lint ---------------------------------------------------------------------------------------


@pytest.fixture
def route(forms, registry):
    content = read_source(DEFINITIONS / "routes" / "expense_claim.yaml").content
    return compile_route(content, registry, form=forms["expense_claim"], org=None)


def run_lint(text, forms, route=None, companions=(), form_key="expense_claim"):
    document = read_source(text, "bad.yaml")
    return lint(
        document.content,
        form=forms.get(form_key),
        route=route,
        roles=ROLES,
        departments=DEPARTMENTS,
        companions=companions,
        lines=document.lines,
        source=document.source,
    )


def test_the_demo_definitions_lint_clean(forms, route, registry, demo_policies):
    for name in ("all_forms", "expense_claim", "purchase_request"):
        document = read_source(DEFINITIONS / "permissions" / f"{name}.yaml")
        content = document.content
        others = [p for p in demo_policies if p.key != name]
        found = lint(
            content,
            form=forms.get(content["form"]),
            route=route if content["form"] == "expense_claim" else None,
            roles=ROLES,
            departments=DEPARTMENTS,
            companions=others,
            lines=document.lines,
        )
        assert found == [], (name, [str(p) for p in found])


HEADER = """kind: permission
key: bad
form: expense_claim
title: {zh-CN: 错, en: Bad}
"""


def test_unknown_roles_departments_fields_and_steps(forms, route):
    found = run_lint(
        HEADER
        + """grants:
  - role: finance_reviewr
    operations: [view]
    scope: {departments: [SALE]}
field_rules:
  - fields: [payee_acount, lines.amount]
    roles: [cashier]
    steps: [finance_reveiw]
    right: read
  - fields: [lines]
    roles: [cashier]
    right: masked
  - fields: [total]
    roles: [cashier]
    right: write
  - fields: [category]
    roles: [cashier]
    right: masked
""",
        forms,
        route,
    )
    messages = {(p.pointer, p.line): p.message for p in found}
    assert (
        messages[("/grants/0/role", 6)] == 'unknown role "finance_reviewr" (did you mean "finance_reviewer"?)'
    )
    assert messages[("/grants/0/scope/departments/0", 8)].startswith('unknown department "SALE"')
    assert messages[("/field_rules/0/fields/0", 10)].startswith('unknown field "payee_acount"')
    assert 'did you mean "payee_account"' in messages[("/field_rules/0/fields/0", 10)]
    assert messages[("/field_rules/0/steps/0", 12)].startswith('unknown step "finance_reveiw"')
    assert "cannot be masked" in messages[("/field_rules/1/right", 16)]
    assert "computed and can never be written" in messages[("/field_rules/2/right", 19)]
    assert messages[("/field_rules/3/right", 22)].startswith("a choice field cannot be masked")
    assert all(p.source == "bad.yaml" for p in found)


def test_a_filter_that_does_not_type_check(forms):
    found = run_lint(
        HEADER
        + """grants:
  - role: cfo
    operations: [view]
    scope: all
    filter: total >= 'big'
""",
        forms,
    )
    assert [(p.pointer, p.line) for p in found] == [("/grants/0/filter", 9)]
    assert "cannot compare money with text" in found[0].message


def test_a_filter_the_database_cannot_run_is_refused_at_publish(forms):
    # upper() has no SQL translation: the scope would have to be applied row by row in Python.
    found = run_lint(
        HEADER
        + """grants:
  - role: cfo
    operations: [view]
    scope: all
    filter: upper(reason) == 'TAXI'
""",
        forms,
    )
    assert [(p.pointer, p.line) for p in found] == [("/grants/0/filter", 9)]
    assert "runs in the database" in found[0].message
    assert "upper()" in found[0].message
    assert "upper(reason) == 'TAXI'" in found[0].message


def test_a_filter_the_database_can_run_passes(forms):
    found = run_lint(
        HEADER
        + """grants:
  - role: cfo
    operations: [view]
    scope: all
    filter: total >= 10000 and $record.department in $user.department.descendants
""",
        forms,
    )
    assert [p for p in found if not p.warning] == []


def test_a_required_field_nobody_who_fills_the_form_may_write(forms, route, demo_policies):
    everyone = [p for p in demo_policies if p.key == "all_forms"]
    found = run_lint(
        HEADER
        + """field_rules:
  - fields: [reason]
    roles: [everyone]
    right: read
""",
        forms,
        route,
        companions=everyone,
    )
    assert [(p.pointer, p.line) for p in found] == [("/field_rules/0", 6)]
    assert "reason is required, but nobody who fills the form in may write it" in found[0].message
    # the owner's own rule opens it again
    assert (
        run_lint(
            HEADER
            + """field_rules:
  - fields: [reason]
    roles: [everyone]
    right: read
  - fields: [reason]
    roles: [owner]
    status: [draft]
    right: write
""",
            forms,
            route,
            companions=everyone,
        )
        == []
    )


def test_nobody_may_create_is_a_warning(forms, route):
    found = run_lint(
        HEADER + "grants:\n  - role: cfo\n    operations: [view]\n    scope: all\n", forms, route
    )
    assert [(p.pointer, p.warning) for p in found] == [("/grants", True)]


def test_a_step_whose_approvers_cannot_see_the_record(forms, route, demo_policies):
    found = run_lint(
        HEADER
        + """field_rules:
  - fields: ["*"]
    roles: [approver]
    steps: [cfo]
    right: hidden
""",
        forms,
        route,
        companions=[p for p in demo_policies if p.key == "all_forms"],
    )
    assert [(p.pointer, p.line) for p in found] == [("/field_rules/0", 6)]
    assert "approvers of step cfo would see none of the record's fields" in found[0].message


def test_form_and_organisation_references(forms):
    document = read_source(
        HEADER.replace("form: expense_claim", "form: no_such_form") + "grants: []\n", "x.yaml"
    )
    found = lint(document.content, form=None, roles=ROLES, departments=DEPARTMENTS, lines=document.lines)
    assert [(p.pointer, p.line) for p in found] == [("/form", 3)]
    every = read_source(
        HEADER.replace("form: expense_claim", 'form: "*"')
        + "field_rules:\n  - {fields: [reason], roles: [cfo], right: read}\n",
        "x.yaml",
    )
    found = lint(every.content, form=None, roles=ROLES, departments=DEPARTMENTS)
    assert [p.pointer for p in found] == ["/field_rules/0/fields/0"]
    unchecked = lint(every.content, form=None)
    assert any(p.warning and "could not be checked" in p.message for p in unchecked)


def test_steps_need_a_route(forms):
    found = run_lint(
        HEADER + "field_rules:\n  - {fields: [reason], roles: [approver], steps: [cfo], right: read}\n", forms
    )
    assert any("has no route" in p.message for p in found)
