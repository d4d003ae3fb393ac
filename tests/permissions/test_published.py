"""Permission definitions against the published forms, routes and organisation; the policies in force."""

from __future__ import annotations

import copy

import pytest
from permissions_samples import DEFINITIONS, DEMO_POLICIES

from formwork.definitions import pipeline, store
from formwork.definitions.loader import read_source
from formwork.definitions.models import DefinitionVersion
from formwork.extensions import db
from formwork.permissions.model import Right
from formwork.permissions.published import check_permission, policies_for


@pytest.fixture
def published(demo_org, registry):
    store.publish_path(DEFINITIONS / "forms", registry=registry)
    store.publish_path(DEFINITIONS / "routes", registry=registry)
    return registry


def content_of(name):
    return read_source(DEFINITIONS / "permissions" / f"{name}.yaml").content


def store_version(content, version):
    content = store.json_ready(content)
    row = DefinitionVersion(
        kind="permission",
        key=content["key"],
        version=version,
        content=content,
        checksum=store.checksum(content),
        source=f"definitions/permissions/{content['key']}.yaml",
    )
    db.session.add(row)
    db.session.commit()
    return row


@pytest.mark.parametrize("name", DEMO_POLICIES)
def test_the_demo_definitions_pass_the_check_against_what_is_published(published, name):
    for other in DEMO_POLICIES:
        if other != name:
            store_version(content_of(other), 1)
    assert check_permission(content_of(name), published) == []


def test_without_the_definition_for_every_form_nobody_may_create(published):
    found = check_permission(content_of("expense_claim"), published)
    assert [(p.pointer, p.warning) for p in found] == [("/grants", True)]
    with pipeline.batch([content_of("all_forms"), content_of("expense_claim")]):
        assert check_permission(content_of("expense_claim"), published) == []


def test_the_check_reads_the_database_organisation_and_the_route(published):
    content = content_of("expense_claim")
    content["grants"][0]["role"] = "finance_reviewr"
    content["field_rules"][-1]["steps"] = ["cashire"]
    found = {p.pointer: p.message for p in check_permission(content, published)}
    assert 'did you mean "finance_reviewer"' in found["/grants/0/role"]
    assert 'did you mean "cashier"' in found["/field_rules/4/steps/0"]


def test_the_check_sees_a_form_published_in_the_same_set(published):
    form = read_source(DEFINITIONS / "forms" / "expense_claim.yaml").content
    changed = copy.deepcopy(form)
    changed["fields"] = [f for f in changed["fields"] if f["key"] != "payee_account"]
    permission = content_of("expense_claim")
    with pipeline.batch([changed, permission]):
        found = check_permission(permission, published)
    assert found and all('unknown field "payee_account"' in p.message for p in found)


def test_the_policies_in_force_follow_each_new_version(published):
    assert not policies_for("expense_claim")
    store_version(content_of("all_forms"), 1)
    store_version(content_of("expense_claim"), 1)
    policies = policies_for("expense_claim")
    assert [(p.key, p.version) for p in policies.policies] == [("all_forms", 1), ("expense_claim", 1)]
    assert policies.field_rules[0].right == Right.MASKED
    assert [p.key for p in policies_for("purchase_request").policies] == ["all_forms"]
    changed = content_of("expense_claim")
    changed["field_rules"][0]["right"] = "hidden"
    del changed["field_rules"][0]["mask"]
    store_version(changed, 2)
    policies = policies_for("expense_claim")
    assert [(p.key, p.version) for p in policies.policies] == [("all_forms", 1), ("expense_claim", 2)]
    assert policies.field_rules[0].right == Right.HIDDEN
    # the source file holds version 1's content, not version 2's: no line is named for version 2
    assert policies.field_rules[0].origin.line is None


def test_the_calls_of_the_read_and_write_paths(published, seeded, demo_org, forms):
    from permissions_samples import EXPECTED_VIEW, threshold_backend
    from sqlalchemy import select

    from formwork.permissions.access import record_rights, scope_condition
    from formwork.permissions.scopes import use_custom_filter_backend
    from formwork.records.models import Record

    record = seeded["ec_frank_review"]
    assert scope_condition(demo_org["bob"], "expense_claim") is None  # nothing published: today's rules
    assert record_rights(demo_org["bob"], record, forms["expense_claim"]) is None
    for name in DEMO_POLICIES:
        store_version(content_of(name), 1)
    use_custom_filter_backend(threshold_backend)
    try:
        for username, expected in EXPECTED_VIEW.items():
            seen = set()
            for form_key in ("expense_claim", "purchase_request"):
                condition = scope_condition(demo_org[username], form_key)
                seen |= set(db.session.scalars(select(Record.title).where(condition)))
            assert seen == expected, username
    finally:
        use_custom_filter_backend(None)
    bob = record_rights(demo_org["bob"], record, forms["expense_claim"])
    assert bob.visible and bob.redact(record.data)["payee_account"] == "6225********5678"
    alice = record_rights(demo_org["alice"], record, forms["expense_claim"])
    assert not alice.visible and alice.redact(record.data) == {}
    grace = record_rights(
        demo_org["grace"],
        record,
        forms["expense_claim"],
        approver_steps={"cashier"},
        current_steps={"cashier"},
    )
    assert grace.visible and grace.redact(record.data)["payee_account"] == "6225020200115678"
    assert grace.refused_writes(["payee_account", "reason"]) == ["payee_account", "reason"]
