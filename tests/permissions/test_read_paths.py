"""Every read path enforces the demo permission definitions: rows and fields exactly as they say.

Demo users × demo records × list, search, detail page, API detail, history, attachment, PDF;
records outside a person's scope do not exist (404) on every path; a department move counts
from the next request.
"""

from __future__ import annotations

import pytest
from permissions_samples import ALL, EXPECTED_VIEW, store_permission

from formwork.extensions import db
from formwork.org.models import Department, User
from formwork.records.models import Attachment

ACCOUNT = "6225020200115678"
MASKED = "6225********5678"
USERS = sorted(EXPECTED_VIEW)


def _expected_account(username, record):
    """The bank account as the demo says ``username`` reads it on a claim they see."""
    owner = db.session.get(User, record.owner_id).username
    return ACCOUNT if username in (owner, "carol", "admin") else MASKED


def _api_titles(client, headers, **params):
    response = client.get("/api/records", query_string={"per_page": 100, **params}, headers=headers)
    assert response.status_code == 200
    return {item["title"] for item in response.get_json()["items"]}


@pytest.mark.parametrize("username", USERS)
def test_api_list_search_detail_and_history_follow_the_definitions(enforced, client, bearer, username):
    headers = bearer(username)
    expected = EXPECTED_VIEW[username]
    assert _api_titles(client, headers) == expected
    assert client.get("/api/records", query_string={"per_page": 100}, headers=headers).get_json()[
        "total"
    ] == len(expected)
    for name, record in enforced.items():
        assert _api_titles(client, headers, q=name) == ({name} & expected), name
        detail = client.get(f"/api/records/{record.id}", headers=headers)
        history = client.get(f"/api/records/{record.id}/history", headers=headers)
        pdf = client.get(f"/api/records/{record.id}/pdf", headers=headers)
        if name not in expected:
            assert (detail.status_code, history.status_code, pdf.status_code) == (404, 404, 404), name
            continue
        assert (detail.status_code, history.status_code) == (200, 200), name
        data = detail.get_json()["data"]
        if record.form_key == "expense_claim":
            assert data["payee_account"] == _expected_account(username, record), name
        else:
            assert data == record.data, name


def test_a_hidden_or_masked_value_cannot_be_found_by_searching(enforced, client, bearer):
    # bob sees frank's claim with the account masked: searching for its digits finds nothing
    assert _api_titles(client, bearer("bob"), q="0200115678") == set()
    # the purchase request form hides and masks nothing: its searchable text is still searched
    assert _api_titles(client, bearer("henry"), q="25000") == {"pr_frank_big"}


@pytest.mark.parametrize("username", ["bob", "carol", "grace", "erin"])
def test_pages_list_and_detail_follow_the_definitions(enforced, client, login, username):
    login(client, username)
    listing = client.get("/requests?per_page=100").get_data(as_text=True)  # "my requests": own ones
    me = db.session.query(User).filter_by(username=username).one()
    for name, record in enforced.items():
        assert (name in listing) == (record.owner_id == me.id), name
        page = client.get(f"/records/{record.id}")
        if name not in EXPECTED_VIEW[username]:
            assert page.status_code == 404, name
            continue
        assert page.status_code == 200, name
        if record.form_key == "expense_claim":
            text = page.get_data(as_text=True)
            shown = _expected_account(username, record)
            assert shown in text, name
            if shown == MASKED:
                assert ACCOUNT not in text, name


def test_the_pdf_prints_the_redacted_values(enforced, app):
    from formwork.documents.values import readable_values
    from formwork.org.users import user_by_username

    record = enforced["ec_frank_review"]
    printed = {u: readable_values(record, user_by_username(u)) for u in ("bob", "carol")}
    values = {u: {f.key: f.text for f in p.fields} for u, p in printed.items()}
    assert values["bob"]["payee_account"] == MASKED
    assert values["carol"]["payee_account"] == ACCOUNT


def test_an_attachment_of_a_hidden_field_does_not_exist(enforced, client, bearer):
    hide = {
        "kind": "permission",
        "key": "hide_receipts",
        "form": "expense_claim",
        "title": {"en": "Receipts for finance only", "zh-CN": "收据仅财务可见"},
        "field_rules": [
            {"fields": ["lines.receipt"], "roles": ["everyone"], "right": "hidden"},
            {"fields": ["lines.receipt"], "roles": ["finance_reviewer"], "right": "read"},
        ],
    }
    store_permission(hide)
    record = enforced["ec_frank_review"]
    attachment = Attachment(
        owner_id=record.owner_id,
        record_id=record.id,
        form_key="expense_claim",
        field_path="lines[0].receipt",
        filename="receipt.pdf",
        content_type="application/pdf",
        size=1,
        sha256="0" * 64,
        storage_key="k" * 64,
    )
    db.session.add(attachment)
    db.session.commit()
    assert client.get(f"/api/attachments/{attachment.id}", headers=bearer("carol")).status_code == 200
    for username in ("bob", "dave", "alice"):  # bob and dave see the claim, not the receipt
        assert client.get(f"/api/attachments/{attachment.id}", headers=bearer(username)).status_code == 404
        assert (
            client.get(f"/api/attachments/{attachment.id}/content", headers=bearer(username)).status_code
            == 404
        )


def test_history_leaves_out_changes_to_hidden_fields(enforced, client, bearer):
    store_permission(
        {
            "kind": "permission",
            "key": "hide_reason",
            "form": "expense_claim",
            "title": {"en": "Reasons hidden", "zh-CN": "隐藏事由"},
            "field_rules": [{"fields": ["reason"], "roles": ["department_head"], "right": "hidden"}],
        }
    )
    record = enforced["ec_frank_review"]
    items = client.get(f"/api/records/{record.id}/history", headers=bearer("bob")).get_json()["items"]
    changed = [item for item in items if item["kind"] == "change"]
    assert changed and all("reason" not in str(item) for item in changed)
    detail = client.get(f"/api/records/{record.id}", headers=bearer("bob")).get_json()
    assert "reason" not in detail["data"]
    own = client.get(f"/api/records/{record.id}/history", headers=bearer("frank")).get_json()["items"]
    assert any("reason" in str(item) for item in own if item["kind"] == "change")


def test_guessed_ids_outside_the_scope_are_404_on_every_path(enforced, client, login, bearer):
    login(client, "alice")
    headers = bearer("alice")
    for name, record in enforced.items():
        if name in EXPECTED_VIEW["alice"]:
            continue
        for path in (f"/records/{record.id}", f"/records/{record.id}/pdf"):
            assert client.get(path).status_code == 404, (name, path)
        for path in (
            f"/api/records/{record.id}",
            f"/api/records/{record.id}/history",
            f"/api/records/{record.id}/pdf",
        ):
            assert client.get(path, headers=headers).status_code == 404, (name, path)


def test_a_department_move_changes_visibility_on_the_next_request(enforced, client, bearer):
    headers = bearer("erin")
    assert _api_titles(client, headers) == EXPECTED_VIEW["erin"]
    erin = db.session.query(User).filter_by(username="erin").one()
    erin.department_id = db.session.query(Department.id).filter_by(code="LEGAL").scalar()
    db.session.commit()
    # no longer of HR: only her own records (filed under HR, still hers)
    assert _api_titles(client, headers) == {"ec_erin", "pr_erin_big"}
    assert client.get(f"/api/records/{enforced['ec_ivan'].id}", headers=headers).status_code == 404


def test_without_permission_definitions_todays_rules_hold(demo_org, registry, seeded, client, bearer):
    # nothing published: a person sees their own records only, every field in full
    assert _api_titles(client, bearer("bob")) == {"ec_bob"}
    other = seeded["ec_frank_review"]
    assert client.get(f"/api/records/{other.id}", headers=bearer("bob")).status_code == 404
    assert _api_titles(client, bearer("admin")) == ALL


# ---- explain: the command and the administrators' API say what the read paths enforce ------------


def test_explain_command_names_the_rule_that_masks_and_the_grant_that_shows(enforced, runner):
    record = enforced["ec_alice_approved"]
    bob = runner.invoke(args=["permissions", "explain", "bob", str(record.id), "payee_account"])
    assert bob.exit_code == 0, bob.output
    assert "masked" in bob.output
    assert "permission expense_claim version 1" in bob.output  # where the rule was written
    carol = runner.invoke(args=["permissions", "explain", "carol", str(record.id), "payee_account", "--json"])
    assert carol.exit_code == 0, carol.output
    assert '"allowed": true' in carol.output
    erin = runner.invoke(args=["permissions", "explain", "erin", str(record.id)])
    assert erin.exit_code == 0 and "no: outside every scope" in erin.output  # HR sees no Sales claims
    assert runner.invoke(args=["permissions", "explain", "nobody", str(record.id)]).exit_code != 0
    assert runner.invoke(args=["permissions", "explain", "bob", "٣"]).exit_code != 0  # not an ASCII id


def test_explain_api_answers_administrators_only(enforced, client, bearer):
    record = enforced["ec_alice_approved"]
    query = {"user": "bob", "record": record.id, "field": "payee_account"}
    answer = client.get("/api/permissions/explain", query_string=query, headers=bearer("admin"))
    assert answer.status_code == 200
    body = answer.get_json()
    assert body["allowed"] is True and body["answer"].startswith("masked")
    assert any(r["origin"] and r["origin"]["definition"] == "expense_claim" for r in body["reasons"])
    for username in ("bob", "carol", "alice"):  # not administrators: the call does not exist for them
        refused = client.get("/api/permissions/explain", query_string=query, headers=bearer(username))
        assert refused.status_code == 404
    for bad in ({**query, "record": 2**40}, {**query, "user": "nobody"}):
        assert client.get(
            "/api/permissions/explain", query_string=bad, headers=bearer("admin")
        ).status_code in (
            400,
            404,
        )
