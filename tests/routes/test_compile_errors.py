"""Every way a route can be wrong is reported with its JSON pointer, file line and a reason."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from formwork.definitions import store
from formwork.definitions.problems import DefinitionError
from formwork.extensions import db
from formwork.forms import catalogue
from formwork.org.models import Role, RoleAssignment
from formwork.routes.compile import compile_route

from .conftest import BASE, find


def line_of(text: str, needle: str, nth: int = 1) -> int:
    """1-based line of the ``nth`` line containing ``needle``."""
    hits = [number for number, line in enumerate(text.splitlines(), 1) if needle in line]
    return hits[nth - 1]


def test_the_base_route_is_valid(problems_of):
    assert problems_of(BASE) == []


def test_unknown_form(problems_of):
    text = BASE.replace("form: expense_claim", "form: expense_claims")
    problem = find(problems_of(text), "/form")
    assert 'unknown form "expense_claims"' in problem.message
    assert problem.line == 3 and problem.source == "route.yaml"


def test_unknown_return_step(problems_of):
    text = BASE + "    on_reject: return_to_step\n    return_to: heed\n"
    problem = find(problems_of(text), "/steps/1/return_to")
    assert 'unknown step "heed"' in problem.message and "head" in problem.message
    assert problem.line == line_of(text, "return_to: heed")


def test_duplicate_step_keys(problems_of):
    text = BASE.replace("  - key: finance", "  - key: head")
    problem = find(problems_of(text), "/steps/1/key")
    assert '"head" is already used at /steps/0/key' in problem.message
    assert problem.line == line_of(text, "- key: head", 2)


def test_unknown_field_in_a_condition_names_the_position(problems_of):
    text = BASE + "    when: totl >= 50000\n"
    problem = find(problems_of(text), "/steps/1/when")
    assert "totl" in problem.message and "position 1" in problem.message
    assert problem.line == line_of(text, "when: totl")


@pytest.mark.parametrize(
    "condition, words",
    [
        ("total + 1", "boolean is needed"),  # not a condition at all
        ("category > 5", "position"),  # text compared with a number
        ("total >= 'a lot'", "position"),
    ],
)
def test_condition_of_the_wrong_type(problems_of, condition, words):
    text = BASE + f'    when: "{condition}"\n'
    problem = find(problems_of(text), "/steps/1/when")
    assert words in problem.message, problem.message
    assert problem.line == line_of(text, "when:")


def test_unknown_role_and_user_and_inactive_user(problems_of, demo_org):
    demo_org["frank"].active = False
    db.session.commit()
    text = (
        BASE.replace("role: finance_reviewer", "role: finance_reveiwer")
        + "    cc:\n      - user: zoe\n      - user: frank\n"
    )
    problems = problems_of(text)
    assert 'unknown role "finance_reveiwer"' in find(problems, "/steps/1/approvers/0/role").message
    assert 'unknown user "zoe"' in find(problems, "/steps/1/cc/0/user").message
    assert 'user "frank" is no longer active' in find(problems, "/steps/1/cc/1/user").message
    assert find(problems, "/steps/1/cc/0/user").line == line_of(text, "user: zoe")


def test_unknown_department(problems_of):
    text = BASE.replace("- department_head: 0", "- {department_head: 0, department: NOWHERE}")
    assert (
        'unknown department "NOWHERE"' in find(problems_of(text), "/steps/0/approvers/0/department").message
    )


def test_unknown_field_and_wrong_field_type_as_approver(problems_of):
    text = BASE.replace("- role: finance_reviewer", "- field: approver\n      - field: reason")
    problems = problems_of(text)
    assert (
        'field "approver" does not exist in form expense_claim'
        in find(problems, "/steps/1/approvers/0/field").message
    )
    assert "must be a user or department field" in find(problems, "/steps/1/approvers/1/field").message


def test_an_approver_names_exactly_one_kind(problems_of):
    text = BASE.replace("- role: finance_reviewer", "- {role: finance_reviewer, user: carol}")
    assert "exactly one of" in find(problems_of(text), "/steps/1/approvers/0").message
    text = BASE.replace("- role: finance_reviewer", "- {rol: finance_reviewer}")
    problem = find(problems_of(text), "/steps/1/approvers/0/rol")
    assert 'did you mean "role"' in problem.message and problem.line == line_of(text, "rol:")


def test_approver_expression_must_give_users(problems_of):
    text = BASE.replace("- role: finance_reviewer", "- expression: total")
    assert (
        "must give a user or a list of users"
        in find(problems_of(text), "/steps/1/approvers/0/expression").message
    )


@pytest.mark.parametrize("target, words", [("finance", "itself"), ("later", "not an earlier step")])
def test_return_forward_or_to_itself_is_a_cycle(problems_of, target, words):
    text = (
        BASE
        + f"""\
    on_reject: return_to_step
    return_to: {target}
  - key: later
    name: {{zh-CN: 后, en: Later}}
    approvers: [{{user: grace}}]
"""
    )
    problem = find(problems_of(text), "/steps/1/return_to")
    assert words in problem.message
    assert problem.line == line_of(text, f"return_to: {target}")


def test_return_backwards_is_fine(problems_of):
    text = BASE + "    on_reject: return_to_step\n    return_to: head\n"
    assert problems_of(text) == []


def test_return_sideways_into_a_parallel_branch_is_refused(problems_of):
    text = (
        BASE.split("steps:\n")[0]
        + """\
steps:
  - parallel:
      key: both
      branches:
        - steps:
            - {key: legal, name: {zh-CN: 法务, en: Legal}, approvers: [{role: legal_reviewer}]}
        - steps:
            - key: money
              name: {zh-CN: 财务, en: Finance}
              approvers: [{role: finance_reviewer}]
              on_reject: return_to_step
              return_to: legal
"""
    )
    assert (
        "not an earlier step"
        in find(problems_of(text), "/steps/0/parallel/branches/1/steps/0/return_to").message
    )


def test_parallel_branch_without_steps(problems_of):
    text = (
        BASE.split("steps:\n")[0]
        + """\
steps:
  - parallel:
      key: both
      branches:
        - steps:
            - {key: legal, name: {zh-CN: 法务, en: Legal}, approvers: [{role: legal_reviewer}]}
        - steps: []
"""
    )
    problem = find(problems_of(text), "/steps/0/parallel/branches/1/steps")
    assert "at least one step" in problem.message and problem.line == line_of(text, "steps: []")


@pytest.mark.parametrize(
    "deadline, pointer",
    [
        ("{hours: 0}", "/steps/1/deadline/hours"),
        ("{hours: -4}", "/steps/1/deadline/hours"),
        ("{hours: 0.0}", "/steps/1/deadline/hours"),
        ("{hours: 24, remind_every_hours: 0}", "/steps/1/deadline/remind_every_hours"),
    ],
)
def test_deadline_must_be_in_the_future(problems_of, deadline, pointer):
    text = BASE + f"    deadline: {deadline}\n"
    problem = find(problems_of(text), pointer)
    assert "more than 0 hours" in problem.message and problem.line == line_of(text, "deadline:")


def test_escalation_needs_someone_to_escalate_to(problems_of):
    text = BASE + "    deadline: {hours: 8, on_timeout: escalate}\n"
    assert "escalate_to" in find(problems_of(text), "/steps/1/deadline/on_timeout").message


def test_modes_need_their_numbers(problems_of):
    text = BASE + "    mode: k_of_n\n"
    assert "needs k" in find(problems_of(text), "/steps/1/mode").message
    text = BASE + "    mode: any\n    percent: 50\n"
    assert "only to mode percent" in find(problems_of(text), "/steps/1/percent").message


def test_role_without_holders_needs_a_no_approver_rule(problems_of):
    for assignment in db.session.scalars(
        select(RoleAssignment)
        .join(Role, Role.id == RoleAssignment.role_id)
        .where(Role.key == "security_owner")
    ):
        db.session.delete(assignment)  # the demo's admin is its security owner: nobody now
    db.session.commit()
    no_rule = BASE.replace("no_approver: refuse\n", "").replace(
        "role: finance_reviewer", "role: security_owner"
    )
    problem = find(problems_of(no_rule), "/steps/1/approvers")
    assert 'role "security_owner" may have no holder' in problem.message and "no_approver" in problem.message
    assert problem.line == line_of(no_rule, "approvers:", 2)
    # A rule on the step, or on the route, settles it.
    assert problems_of(no_rule + "    no_approver: skip\n") == []
    assert problems_of(BASE.replace("role: finance_reviewer", "role: security_owner")) == []


def test_manager_and_head_approvers_can_be_nobody(problems_of):
    text = BASE.replace("no_approver: refuse\n", "").replace("- role: finance_reviewer", "- manager: true")
    problems = problems_of(text)
    assert "no manager" in find(problems, "/steps/1/approvers").message
    # dave heads the top department: nobody is one level above him.
    text = BASE.replace("no_approver: refuse\n", "").replace("department_head: 0", "department_head: 1")
    assert "no head 1 level(s) up" in find(problems_of(text), "/steps/0/approvers").message
    # Every department of the demo has a head, and finance reviewers exist: nothing to say.
    assert problems_of(BASE.replace("no_approver: refuse\n", "")) == []


def test_fallback_rule_needs_a_fallback(problems_of):
    text = BASE.replace("no_approver: refuse", "no_approver: fallback")
    assert "needs a fallback list" in find(problems_of(text), "/no_approver").message
    assert (
        problems_of(text.replace("no_approver: fallback", "no_approver: fallback\nfallback: [{user: admin}]"))
        == []
    )


def test_field_approver_on_an_optional_field_needs_a_rule(app, demo_org, problems_of):
    store.publish(
        {
            "kind": "form",
            "key": "travel",
            "title": {"zh-CN": "出差", "en": "Travel"},
            "fields": [
                {
                    "key": "sponsor",
                    "type": "user",
                    "label": {"zh-CN": "发起人", "en": "Sponsor"},
                    "required": True,
                },
                {"key": "deputy", "type": "user", "label": {"zh-CN": "代理人", "en": "Deputy"}},
            ],
        }
    )
    text = BASE.replace("no_approver: refuse\n", "").replace("form: expense_claim", "form: travel")
    assert problems_of(text.replace("- role: finance_reviewer", "- field: sponsor")) == []
    problem = find(
        problems_of(text.replace("- role: finance_reviewer", "- field: deputy")), "/steps/1/approvers"
    )
    assert 'field "deputy" may be empty' in problem.message
    # Two approvers: the step is empty only if both can be.
    both = text.replace("- role: finance_reviewer", "- field: deputy\n      - field: sponsor")
    assert problems_of(both) == []


def test_budget_fact_needs_its_settings(problems_of):
    text = BASE + "    when: total > $budget.remaining\n"
    problem = find(problems_of(text), "/steps/1/when")
    assert "facts: {budget" in problem.message
    settings = text.replace("steps:", "facts:\n  budget: {category: category, amount: totl}\nsteps:")
    assert 'field "totl" does not exist' in find(problems_of(settings), "/facts/budget/amount").message
    unknown = BASE.replace("steps:", "facts:\n  weather: {city: shanghai}\nsteps:")
    assert 'unknown fact "weather"' in find(problems_of(unknown), "/facts/weather").message


def test_fact_of_the_wrong_type_in_a_condition(problems_of):
    text = BASE + "    when: \"$duplicate_invoices == 'none'\"\n"
    assert "position" in find(problems_of(text), "/steps/1/when").message


def test_a_form_has_one_route(forms):
    from formwork.definitions.loader import read_source

    store.publish(read_source(BASE, "claims.yaml").content)
    with pytest.raises(DefinitionError) as caught:
        store.publish(read_source(BASE.replace("key: claims", "key: claims_two"), "two.yaml").content)
    assert 'already follows route "claims"' in caught.value.problems[0].message


def test_every_problem_is_reported_at_once(problems_of):
    text = (
        BASE.replace("role: finance_reviewer", "role: nobody")
        + "    when: totl > 1\n    deadline: {hours: 0}\n"
    )
    pointers = {p.pointer for p in problems_of(text)}
    assert {"/steps/1/approvers/0/role", "/steps/1/when", "/steps/1/deadline/hours"} <= pointers


def test_compile_without_an_application_checks_what_it_can(app, forms):
    """Given a form and no organisation, references to people are not checked but the rest is."""
    from formwork.definitions.loader import read_source

    form = catalogue.compiled_form(forms["expense_claim"])
    content = read_source(BASE + "    when: totl > 1\n", "r.yaml").content
    with pytest.raises(DefinitionError) as caught:
        compile_route(content, None, form=form, org=None)
    assert [p.pointer for p in caught.value.problems] == ["/steps/1/when"]
    route = compile_route(read_source(BASE, "r.yaml").content, None, form=form, org=None)
    assert list(route.steps) == ["head", "finance"]


def test_the_documented_refusal_idiom_compiles(problems_of, forms):
    """docs/routes.md: over budget → a step that finds nobody on purpose, with no_approver: refuse."""
    text = (
        BASE.split("steps:\n")[0].replace("form: expense_claim", "form: purchase_request")
        + """\
facts:
  budget: {category: budget_category, amount: estimated_total, department: department}
steps:
  - branch:
      key: budget_check
      cases:
        - when: $budget.remaining is null or estimated_total > $budget.remaining
          steps:
            - key: over_budget
              name: {zh-CN: 超出预算, en: Over budget}
              approvers: [{expression: "null"}]
              no_approver: refuse
  - key: head
    name: {zh-CN: 部门负责人, en: Head}
    approvers: [{department_head: 0}]
"""
    )
    assert problems_of(text) == []


def test_approver_expressions_cannot_read_facts(problems_of):
    text = BASE.replace("- role: finance_reviewer", '- expression: "if($budget.remaining > 0, 1, 2)"')
    assert "budget" in find(problems_of(text), "/steps/1/approvers/0/expression").message
