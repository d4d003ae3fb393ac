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
