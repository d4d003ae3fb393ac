"""Reading the trail: administrators only, a department administrator within their departments,
record values masked as their field rights say; the page, the API and the exports."""

from __future__ import annotations

import csv
import io

import pytest
from audit_helpers import claim_data, entries
from openpyxl import load_workbook

from formwork import business_time
from formwork.audit import actions
from formwork.extensions import transaction
from formwork.org import users
from formwork.org.users import department_by_code, user_by_username
from formwork.workflow import submission

EN = {"Accept-Language": "en"}
ACCOUNT = "6222021234567890123"
NEW_ACCOUNT = "6222029999999990000"


@pytest.fixture
def trail(expense):
    """A department administrator of Sales (sam), and claims of Sales (alice) and Finance (carol)
    with a change of the payee account on alice's."""
    with transaction():
        sam = users.create_user("sam", display_name="Sam", department_code="HQ", password="sam-password")
        users.grant_role(sam, "administrator", department_by_code("SALES"))
    alice, carol = user_by_username("alice"), user_by_username("carol")
    draft = submission.create_record("expense_claim", claim_data(), alice, submit=False)
    submission.update_record(draft, claim_data(payee_account=NEW_ACCOUNT), alice, submit=False)
    other = submission.create_record("expense_claim", claim_data(), carol, submit=False)
    return {"sam": sam, "alice_record": draft, "carol_record": other}


def _api(client, bearer, username, **params):
    return client.get("/api/audit", query_string=params, headers={**EN, **bearer(username)})


def test_only_administrators_read_the_trail(trail, client, bearer, login):
    assert _api(client, bearer, "alice").status_code == 404
    assert client.get("/api/audit/export", headers=bearer("alice")).status_code == 404
    login(client, "alice")
    assert client.get("/admin/audit").status_code == 404
    assert client.get("/admin/audit/export").status_code == 404
    assert "/admin/audit" not in client.get("/", headers=EN).get_data(as_text=True)


def test_a_full_administrator_reads_everything_unmasked(trail, client, bearer):
    answer = _api(client, bearer, "admin", per_page=200)
    assert answer.status_code == 200
    items = answer.get_json()["items"]
    assert [item["id"] for item in items] == sorted((e.id for e in entries()), reverse=True)
    change = next(item for item in items if item["action"] == actions.RECORD_CHANGE)
    assert change["details"]["changes"] == [
        {"path": "payee_account", "before": ACCOUNT, "after": NEW_ACCOUNT}
    ]
    assert any(item["action"] == actions.DEFINITION_PUBLISH for item in items)


def test_a_department_administrator_reads_their_departments_masked_by_field_rights(trail, client, bearer):
    items = _api(client, bearer, "sam", per_page=200).get_json()["items"]
    sales = {d.id for d in [department_by_code("SALES")]}
    assert items and all(item["department_id"] in sales for item in items)
    records = {item["object_id"] for item in items if item["object_type"] == "record"}
    assert str(trail["alice_record"].id) in records
    assert str(trail["carol_record"].id) not in records  # Finance is not theirs
    assert not any(item["action"] == actions.DEFINITION_PUBLISH for item in items)  # no department
    (change,) = [item for item in items if item["action"] == actions.RECORD_CHANGE]
    (item,) = change["details"]["changes"]
    assert item["before"] != ACCOUNT and item["after"] != NEW_ACCOUNT
    assert item["before"].startswith("6222") and item["before"].endswith("0123") and "*" in item["before"]
    created = next(i for i in items if i["action"] == actions.RECORD_CREATE)
    by_path = {c["path"]: c for c in created["details"]["changes"]}
    assert by_path["reason"]["after"] == "Customer workshop"  # readable fields stay readable
    assert by_path["payee_account"]["after"] != ACCOUNT


def test_search_filters_and_pages(trail, client, bearer):
    alice_entries = _api(client, bearer, "admin", actor="ALICE").get_json()["items"]
    assert alice_entries and {i["actor"] for i in alice_entries} == {"alice"}
    records = _api(client, bearer, "admin", action="record.", per_page=200).get_json()["items"]
    assert {i["action"] for i in records} == {actions.RECORD_CREATE, actions.RECORD_CHANGE}
    one = _api(client, bearer, "admin", object_type="record", object_id=str(trail["carol_record"].id))
    assert [i["action"] for i in one.get_json()["items"]] == [actions.RECORD_CREATE]
    today = business_time.today().isoformat()
    assert _api(client, bearer, "admin", **{"from": today, "to": today}).get_json()["items"]
    assert _api(client, bearer, "admin", **{"to": "2000-01-01"}).get_json()["items"] == []
    first = _api(client, bearer, "admin", per_page=3).get_json()
    second = _api(client, bearer, "admin", per_page=3, before=first["next_before"]).get_json()
    ids = [i["id"] for i in first["items"] + second["items"]]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 6


@pytest.mark.parametrize(
    "params, status",
    [
        ({"from": "2026-13-01"}, 422),
        ({"from": "２０２６-01-01"}, 422),
        ({"from": "2026-05-02", "to": "2026-05-01"}, 422),
        ({"actor": "a\x00b"}, 400),
        ({"actor": "x" * 500}, 400),
        ({"before": str(2**31)}, 400),
        ({"before": "abc"}, 400),
    ],
)
def test_bad_searches_are_refused_clearly(trail, client, bearer, params, status):
    answer = _api(client, bearer, "admin", **params)
    assert answer.status_code == status, answer.get_data(as_text=True)
    assert answer.get_json()["error"]


def test_the_page_lists_searches_and_refuses_bad_input(trail, client, login):
    login(client, "admin")
    home = client.get("/", headers=EN).get_data(as_text=True)
    assert 'href="/admin/audit"' in home
    page = client.get("/admin/audit", headers=EN)
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Audit trail" in text and "Record changed" in text and NEW_ACCOUNT in text
    filtered = client.get("/admin/audit", query_string={"action": actions.RECORD_CHANGE}, headers=EN)
    assert "Record created" not in filtered.get_data(as_text=True).split("<tbody>")[1]
    bad = client.get("/admin/audit", query_string={"from": "not-a-date"}, headers=EN)
    assert bad.status_code == 422 and "must be a date" in bad.get_data(as_text=True)
    chinese = client.get("/admin/audit", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "审计" in chinese


def test_the_page_shows_a_department_administrator_masked_values(trail, client, login):
    login(client, "sam", "sam-password")
    text = client.get("/admin/audit", headers=EN).get_data(as_text=True)
    assert "Record changed" in text
    assert NEW_ACCOUNT not in text and ACCOUNT not in text


def test_exports_as_csv_and_xlsx_are_scoped_masked_and_audited(trail, client, bearer, login):
    answer = client.get("/api/audit/export", query_string={"format": "csv"}, headers={**EN, **bearer("sam")})
    body = answer.get_data()
    assert answer.status_code == 200 and body.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert table[0][:3] == ["ID", f"Time ({business_time.offset_label()})", "Person"]
    assert len(table) > 2 and NEW_ACCOUNT not in body.decode("utf-8-sig")
    (exported,) = entries(actions.AUDIT_EXPORT)
    assert exported.actor_label == "sam"
    login(client, "admin")
    book = client.get("/admin/audit/export", query_string={"format": "xlsx", "action": "record."}, headers=EN)
    assert book.status_code == 200
    sheet = load_workbook(io.BytesIO(book.get_data())).active
    rows = list(sheet.iter_rows(values_only=True))
    assert {row[4] for row in rows[1:]} == {"Record created", "Record changed"}
    assert any(NEW_ACCOUNT in (row[8] or "") for row in rows[1:])
    assert client.get("/admin/audit/export", query_string={"format": "pdf"}).status_code == 422
