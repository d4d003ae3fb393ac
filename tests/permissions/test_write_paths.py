"""Every write path enforces the field rights: a change to a field the person may not write is refused.

On the demo forms, organisation and permissions, plus a definition that locks some of the
expense claim's fields for the claimant: the payee's bank read-only, the payee's name masked,
the trip destination, the invoice numbers and the total in words hidden. Forged writes through
the API and the form post are refused with 422 naming each path, nothing is saved and the
attempt is kept in the record's history (paths, never values); legitimate writes still work;
the form page and its live evaluation show what the rights say and nothing more.
"""

from __future__ import annotations

import logging
import re
from datetime import date

import pytest
from permissions_samples import store_permission
from sqlalchemy import func, select

from formwork.extensions import db
from formwork.records.models import Record, RecordEvent

TODAY = date.today().isoformat()
STORED = {
    "category": "travel",
    "reason": "Customer visit",
    "trip_destination": "Xanadu",
    "trip_start": TODAY,
    "trip_end": TODAY,
    "lines": [{"date": TODAY, "type": "hotel", "amount": "480.00", "invoice_no": "12345678901"}],
    "payee_name": "Alice Wonderland",
    "payee_bank": "Bank of Hearts",
    "payee_account": "6225020200115678",
}
LOCKS = {
    "kind": "permission",
    "key": "locks",
    "form": "expense_claim",
    "title": {"en": "Fields the claimant may not change", "zh-CN": "报销人不可修改的字段"},
    "field_rules": [
        {"fields": ["payee_bank"], "roles": ["everyone"], "right": "read"},
        {"fields": ["payee_name"], "roles": ["everyone"], "right": "masked", "mask": {"keep_last": 4}},
        {
            "fields": ["trip_destination", "lines.invoice_no", "total_in_words"],
            "roles": ["everyone"],
            "right": "hidden",
        },
    ],
}
# The refusal, in whichever language the person reads (the demo users' default is Chinese).
REFUSED = {"you may not change this field", "你无权修改此字段"}
SECRETS = ("Xanadu", "12345678901", "Alice Wonderland", "Wonderland")


@pytest.fixture
def claim(enforced, client, bearer):
    """Alice's draft claim with every field filled in, made before the locks were published."""
    response = client.post("/api/forms/expense_claim/records", json={"data": STORED}, headers=bearer("alice"))
    assert response.status_code == 201, response.get_json()
    record = db.session.get(Record, response.get_json()["id"])
    store_permission(LOCKS)
    return record


def _data(record_id):
    db.session.expire_all()
    return dict(db.session.get(Record, record_id).data)


def _refusals(record_id):
    return [
        e.changes
        for e in db.session.scalars(
            select(RecordEvent).where(
                RecordEvent.record_id == record_id, RecordEvent.action == "write_refused"
            )
        )
    ]


FORGED = [
    ({"payee_bank": "Forged Bank"}, ["payee_bank"]),  # read-only
    ({"payee_name": "Mallory"}, ["payee_name"]),  # masked
    ({"payee_name": "************land"}, ["payee_name"]),  # the masked text sent back is a change too
    ({"trip_destination": "Atlantis"}, ["trip_destination"]),  # hidden
    (
        {"lines": [{"date": TODAY, "type": "hotel", "amount": "480.00", "invoice_no": "99999999"}]},
        ["lines[0].invoice_no"],  # a hidden column, by its path
    ),
    (
        {"reason": "Allowed", "payee_bank": "Forged", "trip_destination": "X"},
        ["trip_destination", "payee_bank"],
    ),
]


@pytest.mark.parametrize("data,paths", FORGED)
def test_a_forged_api_write_is_refused_whole_and_kept_in_the_history(claim, client, bearer, data, paths):
    before = _data(claim.id)
    response = client.patch(f"/api/records/{claim.id}", json={"data": data}, headers=bearer("alice"))
    assert response.status_code == 422
    body = response.get_json()
    assert body["error"] == "validation failed"
    assert sorted(e["field"] for e in body["errors"]) == sorted(paths)
    assert all(e["message"] in REFUSED for e in body["errors"])
    assert _data(claim.id) == before  # nothing saved, not even the allowed change
    assert [sorted(r["fields"]) for r in _refusals(claim.id)] == [sorted(paths)]
    stored_events = str(_refusals(claim.id))
    for value in data.values():
        if isinstance(value, str):
            assert value not in stored_events  # the values sent are never kept


def test_the_refusal_shows_in_the_history_without_hidden_paths_for_others(claim, client, bearer):
    client.patch(
        f"/api/records/{claim.id}", json={"data": {"trip_destination": "X"}}, headers=bearer("alice")
    )
    items = client.get(f"/api/records/{claim.id}/history", headers=bearer("alice")).get_json()["items"]
    refused = [i for i in items if i.get("action") == "write_refused"]
    # the claimant may not see the trip destination under the locks: the path is left out for her
    assert len(refused) == 1 and refused[0]["changes"] == {"fields": []}


def test_legitimate_api_writes_still_work(claim, client, bearer):
    before = _data(claim.id)
    response = client.patch(
        f"/api/records/{claim.id}",
        json={
            "data": {
                "reason": "Customer visit, Shanghai",
                "payee_bank": "Bank of Hearts",  # the value it has: not a change
                "lines": [{"date": TODAY, "type": "hotel", "amount": "520.00"}],  # invoice not sent: kept
            }
        },
        headers=bearer("alice"),
    )
    assert response.status_code == 200, response.get_json()
    after = _data(claim.id)
    assert after["reason"] == "Customer visit, Shanghai"
    assert after["lines"][0]["amount"] == "520.00"
    assert after["lines"][0]["invoice_no"] == "12345678901"  # hidden and unsent: the stored value stays
    for key in ("payee_bank", "payee_name", "trip_destination", "payee_account"):
        assert after[key] == before[key]
    assert _refusals(claim.id) == []
    # the answer itself follows the read rights
    data = response.get_json()["data"]
    assert "trip_destination" not in data and data["payee_name"] == "************land"


def test_adding_a_row_with_a_hidden_column_is_refused_but_without_it_allowed(claim, client, bearer):
    row = {"date": TODAY, "type": "meals", "amount": "80.00"}
    stored_row = {"_row": 0}
    refused = client.patch(
        f"/api/records/{claim.id}",
        json={"data": {"lines": [stored_row, {**row, "invoice_no": "87654321"}]}},
        headers=bearer("alice"),
    )
    assert refused.status_code == 422
    assert [e["field"] for e in refused.get_json()["errors"]] == ["lines[1].invoice_no"]
    allowed = client.patch(
        f"/api/records/{claim.id}", json={"data": {"lines": [stored_row, row]}}, headers=bearer("alice")
    )
    assert allowed.status_code == 200, allowed.get_json()
    lines = _data(claim.id)["lines"]
    assert len(lines) == 2 and lines[0]["invoice_no"] == "12345678901" and "invoice_no" not in lines[1]


def test_a_returned_record_resubmitted_with_a_forged_field_stays_returned(claim, client, bearer):
    claim.status = "returned"
    db.session.commit()
    response = client.patch(
        f"/api/records/{claim.id}",
        json={"data": {"payee_bank": "Forged"}, "submit": True},
        headers=bearer("alice"),
    )
    assert response.status_code == 422
    db.session.expire_all()
    record = db.session.get(Record, claim.id)
    assert record.status == "returned" and record.data["payee_bank"] == "Bank of Hearts"
    assert _refusals(claim.id) == [{"fields": ["payee_bank"]}]


def test_a_new_record_with_a_forged_field_is_not_created_and_the_attempt_is_logged(
    claim, client, bearer, caplog
):
    count = db.session.scalar(select(func.count()).select_from(Record))
    data = {k: v for k, v in STORED.items() if k not in ("payee_name", "trip_destination")}
    with caplog.at_level(logging.WARNING, logger="formwork.records.service"):
        response = client.post(
            "/api/forms/expense_claim/records", json={"data": data}, headers=bearer("alice")
        )
    assert response.status_code == 422
    assert sorted(e["field"] for e in response.get_json()["errors"]) == ["lines[0].invoice_no", "payee_bank"]
    assert db.session.scalar(select(func.count()).select_from(Record)) == count
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert "payee_bank" in logged and "Bank of Hearts" not in logged
    # without the locked fields the claimant creates her claim as before
    allowed = {k: v for k, v in data.items() if k != "payee_bank"}
    allowed["lines"] = [{k: v for k, v in row.items() if k != "invoice_no"} for row in data["lines"]]
    created = client.post("/api/forms/expense_claim/records", json={"data": allowed}, headers=bearer("alice"))
    assert created.status_code == 201, created.get_json()


def test_the_demo_claimant_writes_the_bank_account_in_a_draft(claim, client, bearer):
    # the demo rule: the owner writes payee_account while the claim is a draft or returned
    response = client.patch(
        f"/api/records/{claim.id}",
        json={"data": {"payee_account": "6222020200112233"}},
        headers=bearer("alice"),
    )
    assert response.status_code == 200
    assert _data(claim.id)["payee_account"] == "6222020200112233"


# ---------------------------------------------------------------- the form page


def _token(html):
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match
    return match.group(1)


def _page_post(html, **extra):
    """What the rendered page posts: its inputs as shown (no input, nothing posted), then ``extra``."""
    lock = re.search(r'name="_lock_version" value="([0-9]+)"', html)
    data = {
        "csrf_token": _token(html),
        "_lock_version": lock.group(1) if lock else "",
        "_action": "draft",
        "category": "travel",
        "reason": "Customer visit",
        "trip_start": TODAY,
        "trip_end": TODAY,
        "_rows.lines": "0",
        "lines[0]._row": "0",
        "lines[0].date": TODAY,
        "lines[0].type": "hotel",
        "lines[0].amount": "480.00",
        "lines[0].receipt": "",
        "payee_account": "6225020200115678",
    }
    data.update(extra)
    return data


def test_the_edit_page_shows_what_the_rights_say_and_nothing_more(claim, client, login):
    login(client, "alice")
    html = client.get(f"/records/{claim.id}/edit").get_data(as_text=True)
    for secret in SECRETS:
        assert secret not in html, secret
    assert 'name="payee_bank"' not in html and "Bank of Hearts" in html  # read-only: shown as text
    assert 'name="payee_name"' not in html and "************land" in html  # masked: shown masked
    assert 'name="trip_destination"' not in html and 'name="lines[0].invoice_no"' not in html
    assert 'id="out-total_in_words"' not in html  # a hidden computed field
    assert 'name="reason"' in html and 'name="payee_account"' in html  # still writable


def test_the_new_page_renders_locked_fields_without_inputs(claim, client, login):
    login(client, "alice")
    html = client.get("/forms/expense_claim/new").get_data(as_text=True)
    assert 'name="reason"' in html
    assert 'name="payee_bank"' not in html and 'name="lines[0].invoice_no"' not in html
    assert 'name="trip_destination"' not in html and "Bank of Hearts" not in html  # no prefill of it


def test_live_evaluation_leaks_no_hidden_value(claim, client, login):
    login(client, "alice")
    html = client.get(f"/records/{claim.id}/edit").get_data(as_text=True)
    # "_state" empty: every conditional field counts as changed and is rendered again
    answer = client.post(
        f"/records/{claim.id}/evaluate",
        data=_page_post(html, _state="", trip_destination="Atlantis", payee_bank="Forged"),
        headers={"HX-Request": "true"},
    )
    assert answer.status_code == 200
    text = answer.get_data(as_text=True)
    for secret in (*SECRETS, "Atlantis", "Forged"):
        assert secret not in text, secret
    assert 'id="out-total_in_words"' not in text and 'id="out-total"' in text


def test_a_forged_form_post_is_refused_with_the_page_and_its_messages(claim, client, login):
    login(client, "alice")
    html = client.get(f"/records/{claim.id}/edit").get_data(as_text=True)
    before = _data(claim.id)
    response = client.post(
        f"/records/{claim.id}/edit",
        data=_page_post(html, reason="Typed and kept", payee_bank="Forged Bank", trip_destination="Atlantis"),
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert any(m in page for m in REFUSED) and 'id="form-errors"' in page
    assert 'href="#f-payee_bank"' in page and 'href="#f-trip_destination"' not in page  # nothing to link to
    assert 'value="Typed and kept"' in page  # what was typed in writable fields is kept
    assert "Forged Bank" not in page and "Atlantis" not in page  # the stored values are shown, not the forged
    assert "Bank of Hearts" in page
    assert _data(claim.id) == before
    assert sorted(_refusals(claim.id)[0]["fields"]) == ["payee_bank", "trip_destination"]


def test_a_legitimate_form_post_saves_and_keeps_the_locked_values(claim, client, login):
    login(client, "alice")
    html = client.get(f"/records/{claim.id}/edit").get_data(as_text=True)
    before = _data(claim.id)
    response = client.post(f"/records/{claim.id}/edit", data=_page_post(html, reason="Edited on the page"))
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    after = _data(claim.id)
    assert after["reason"] == "Edited on the page"
    for key in ("payee_bank", "payee_name", "trip_destination"):
        assert after[key] == before[key]
    assert after["lines"][0]["invoice_no"] == "12345678901"
    assert _refusals(claim.id) == []


def test_a_forged_new_record_form_post_is_refused_and_nothing_created(claim, client, login):
    login(client, "alice")
    html = client.get("/forms/expense_claim/new").get_data(as_text=True)
    count = db.session.scalar(select(func.count()).select_from(Record))
    data = _page_post(html, payee_bank="Forged Bank", _client_token="t-1")
    data.pop("_lock_version")
    data.pop("lines[0]._row")
    response = client.post("/forms/expense_claim/new", data=data)
    assert response.status_code == 422
    assert any(m in response.get_data(as_text=True) for m in REFUSED)
    assert db.session.scalar(select(func.count()).select_from(Record)) == count


def test_read_only_line_items_have_no_row_buttons(claim, client, login, bearer):
    store_permission(
        {**LOCKS, "field_rules": [{"fields": ["lines"], "roles": ["everyone"], "right": "read"}]}, 2
    )
    login(client, "alice")
    html = client.get(f"/records/{claim.id}/edit").get_data(as_text=True)
    assert 'value="add:lines"' not in html and 'value="remove:lines:0"' not in html
    assert 'name="lines[0].amount"' not in html and "480.00" in html
    removed = client.patch(f"/api/records/{claim.id}", json={"data": {"lines": []}}, headers=bearer("alice"))
    assert removed.status_code == 422
    assert [e["field"] for e in removed.get_json()["errors"]] == ["lines"]
