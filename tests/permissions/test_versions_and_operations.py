"""Stored versions compiled with their source lines, and operations on the form as a whole."""

from __future__ import annotations

from permissions_samples import DEFINITIONS

from formwork.definitions.loader import read_source
from formwork.definitions.models import DefinitionVersion
from formwork.definitions.store import checksum, json_ready
from formwork.extensions import db
from formwork.permissions.scopes import allowed_on_form
from formwork.permissions.subject import OrgTree, Subject
from formwork.permissions.versions import compile_version


def stored(path, version=2):
    content = json_ready(read_source(path).content)
    row = DefinitionVersion(
        kind="permission",
        key=content["key"],
        version=version,
        content=content,
        checksum=checksum(content),
        source=path.name,
    )
    db.session.add(row)
    db.session.commit()
    return row


def test_a_version_names_lines_only_while_its_file_is_unchanged(app, tmp_path, forms):
    path = tmp_path / "expense_claim.yaml"
    path.write_text((DEFINITIONS / "permissions" / "expense_claim.yaml").read_text(encoding="utf-8"), "utf-8")
    row = stored(path)
    policy = compile_version(row, form=forms["expense_claim"], roots=(tmp_path,))
    cashier = policy.grants[1]
    assert (cashier.origin.version, cashier.origin.source) == (2, "expense_claim.yaml")
    assert "role: cashier" in path.read_text(encoding="utf-8").splitlines()[cashier.origin.line - 1]
    assert policy.definition_id == row.id
    # edited since: the line would be wrong, so none is named
    path.write_text(path.read_text(encoding="utf-8").replace("role: cashier", "role: cfo"), "utf-8")
    assert compile_version(row, form=forms["expense_claim"], roots=(tmp_path,)).grants[1].origin.line is None
    path.unlink()
    assert compile_version(row, form=forms["expense_claim"], roots=(tmp_path,)).grants[1].origin.line is None


def test_create_and_administer(seeded, demo_org, policy_sets):
    tree = OrgTree.load()
    claims = policy_sets["expense_claim"]
    alice = Subject.load(demo_org["alice"])
    admin = Subject.load(demo_org["admin"])
    assert [b.grant.role for b in allowed_on_form(alice, claims, "create", tree)] == ["everyone"]
    assert allowed_on_form(alice, claims, "administer", tree) == []
    assert {b.grant.role for b in allowed_on_form(admin, claims, "administer", tree)} == {
        "administrator",
        "analyst",
    }
