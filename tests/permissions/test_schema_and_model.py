"""The permission schema: what it accepts, what it refuses and where it says the mistake is."""

from __future__ import annotations

import pytest
from permissions_samples import DEFINITIONS, DEMO_POLICIES

from formwork.definitions.loader import read_source
from formwork.definitions.problems import DefinitionError
from formwork.permissions.model import (
    DEFAULT_MASK,
    Mask,
    PolicySet,
    Right,
    check_shape,
    compile_policy,
    schema,
)

BASE = {"kind": "permission", "key": "p", "form": "expense_claim", "title": {"zh-CN": "权限", "en": "P"}}


def problems(content):
    return [(p.pointer, p.message) for p in check_shape(content)]


@pytest.mark.parametrize("name", DEMO_POLICIES)
def test_the_demo_definitions_are_valid(name):
    assert check_shape(read_source(DEFINITIONS / "permissions" / f"{name}.yaml").content) == []


def test_the_schema_is_served_from_the_definitions_package():
    assert schema()["$id"] == "urn:formwork:definitions:permission"


def test_a_grant_or_a_field_rule_is_needed():
    assert problems(BASE) == [("", "a permission definition needs grants, field_rules or both")]
    assert problems({**BASE, "grants": []}) == []


@pytest.mark.parametrize(
    ("change", "pointer", "words"),
    [
        ({"form": "Expense"}, "/form", "form key"),
        (
            {"grants": [{"role": "cfo", "operations": ["approve", "delete"], "scope": "all"}]},
            "/grants/0/operations/1",
            "choose one of",
        ),
        (
            {"grants": [{"role": "cfo", "operations": ["view"], "scope": "mine"}]},
            "/grants/0/scope",
            "own, own_department",
        ),
        (
            {"grants": [{"role": "cfo", "operations": ["view"], "scope": {"departments": []}}]},
            "/grants/0/scope",
            "own, own_department",
        ),
        (
            {"grants": [{"role": "cfo", "operations": ["view"], "scope": "all", "status": ["paid"]}]},
            "/grants/0/status/0",
            "choose one of",
        ),
        (
            {"grants": [{"role": "cfo", "operations": ["view"], "scop": "all"}]},
            "/grants/0/scop",
            'did you mean "scope"',
        ),
        ({"grants": [{"operations": ["view"]}]}, "/grants/0", 'required property "role"'),
        (
            {"field_rules": [{"fields": ["payee_account"], "roles": ["cfo"], "right": "visible"}]},
            "/field_rules/0/right",
            "choose one of",
        ),
        (
            {"field_rules": [{"fields": ["lines[0].amount"], "roles": ["cfo"], "right": "read"}]},
            "/field_rules/0/fields/0",
            "lines.amount",
        ),
        (
            {
                "field_rules": [
                    {"fields": ["x"], "roles": ["cfo"], "right": "masked", "mask": {"keep_last": -1}}
                ]
            },
            "/field_rules/0/mask/keep_last",
            "at least 0",
        ),
        (
            {"field_rules": [{"fields": ["x"], "roles": ["cfo"], "right": "masked", "mask": {"char": "**"}}]},
            "/field_rules/0/mask/char",
            "at most 1",
        ),
    ],
)
def test_mistakes_are_refused_at_their_pointer(change, pointer, words):
    found = problems({**BASE, **change})
    assert any(p == pointer and words in m for p, m in found), found


def test_compiling_refuses_what_the_schema_cannot_see():
    content = {
        **BASE,
        "grants": [
            {"role": "cfo", "operations": ["view"]},
            {"role": "owner", "operations": ["view"], "scope": "own"},
            {"role": "analyst", "operations": ["administer"], "scope": "all"},
            {"role": "cfo", "operations": ["view"], "scope": "all", "filter": "total + 1"},
        ],
        "field_rules": [{"fields": ["x"], "roles": ["cfo"], "right": "read", "mask": {"keep_last": 2}}],
    }
    with pytest.raises(DefinitionError) as caught:
        compile_policy(content)
    found = {p.pointer: p.message for p in caught.value.problems}
    assert "need a scope" in found["/grants/0"]
    assert "can only be used in field_rules" in found["/grants/1/role"]
    assert "no operation on records" in found["/grants/2/scope"]
    assert "unknown field 'total'" in found["/grants/3/filter"]  # form "*"-less: no fields given
    assert "only to right: masked" in found["/field_rules/0/mask"]


def test_a_filter_is_type_checked_against_the_form(forms):
    content = {**BASE, "grants": [{"role": "cfo", "operations": ["view"], "scope": "all", "filter": "total"}]}
    with pytest.raises(DefinitionError) as caught:
        compile_policy(content, form=forms["expense_claim"])
    assert "true or false, not money" in caught.value.problems[0].message
    ok = {
        **BASE,
        "grants": [
            {
                "role": "cfo",
                "operations": ["view"],
                "scope": "all",
                "filter": "$record.department in $user.department.descendants"
                " or $record.status == 'approved'",
            }
        ],
    }
    policy = compile_policy(ok, form=forms["expense_claim"])
    assert policy.grants[0].filter.analysis.context_references >= {"$user.department_descendants"}


def test_the_compiled_policy_knows_where_each_grant_was_written(forms):
    document = read_source(
        DEFINITIONS / "permissions" / "expense_claim.yaml", "permissions/expense_claim.yaml"
    )
    policy = compile_policy(
        document.content, version=3, form=forms["expense_claim"], lines=document.lines, source=document.source
    )
    cashier = policy.grants[1]
    assert cashier.role == "cashier" and cashier.statuses == frozenset({"approved"})
    assert cashier.origin.pointer == "/grants/1" and cashier.origin.version == 3
    text = (DEFINITIONS / "permissions" / "expense_claim.yaml").read_text().splitlines()
    assert "role: cashier" in text[cashier.origin.line - 1]
    masked = policy.field_rules[0]
    assert masked.right == Right.MASKED and masked.mask == Mask(keep_first=4, keep_last=4)


def test_masks_default_to_keeping_the_last_four():
    content = {
        **BASE,
        "field_rules": [
            {"fields": ["a"], "roles": ["cfo"], "right": "masked"},
            {"fields": ["a"], "roles": ["cfo"], "right": "masked", "mask": {"keep_first": 2}},
            {"fields": ["a"], "roles": ["cfo"], "right": "masked", "mask": {"fixed": "***"}},
        ],
    }
    rules = compile_policy(content).field_rules
    assert rules[0].mask == DEFAULT_MASK == Mask(0, 4)
    assert rules[1].mask == Mask(2, 0)
    assert rules[2].mask == Mask(0, 0, "***")


def test_policies_for_every_form_come_first(demo_policies):
    policies = PolicySet.of("expense_claim", reversed(demo_policies))
    assert [p.key for p in policies.policies] == ["all_forms", "expense_claim"]
    assert not PolicySet.of("contract_payment", [p for p in demo_policies if p.form != "*"])
