"""The records API refuses values of the wrong JSON type per field (422), on create and on edit."""

from __future__ import annotations

import json

from sqlalchemy import func, select
from test_records_api import claim, post_json

from formwork.extensions import db
from formwork.records.models import Record


def test_a_number_for_a_text_field_is_a_422(client, published, bearer):
    auth = {**bearer("alice"), "Accept-Language": "en"}
    response = post_json(client, "/api/forms/expense_claim/records", {"data": claim(reason=12345)}, auth)
    assert response.status_code == 422
    body = response.get_json()
    assert body["error"] == "validation failed"
    assert {"field": "reason", "message": "expected text"} in body["errors"]
    assert db.session.scalar(select(func.count(Record.id))) == 0


def test_wrong_types_in_rows_and_on_patch(client, published, bearer):
    auth = {**bearer("alice"), "Accept-Language": "en"}
    rows = [{"date": "2024-05-01", "type": ["supplies"], "amount": "10.00", "invoice_no": 12345678}]
    response = post_json(client, "/api/forms/expense_claim/records", {"data": claim(lines=rows)}, auth)
    errors = {e["field"]: e["message"] for e in response.get_json()["errors"]}
    assert response.status_code == 422
    assert errors == {
        "lines[0].type": "expected one option, not a list",
        "lines[0].invoice_no": "expected text",
    }
    created = post_json(client, "/api/forms/expense_claim/records", {"data": claim()}, auth)
    assert created.status_code == 201
    record_id = created.get_json()["id"]
    patched = post_json(
        client, f"/api/records/{record_id}", {"data": {"payee_account": 6222020200112233}}, auth, "patch"
    )
    assert patched.status_code == 422
    assert patched.get_json()["errors"] == [{"field": "payee_account", "message": "expected text"}]
    assert db.session.get(Record, record_id).data["payee_account"] == "6222020200112233"


def test_money_as_number_or_text_still_works(client, published, bearer):
    auth = {**bearer("alice"), "Accept-Language": "en"}
    rows = [
        {"date": "2024-05-01", "type": "supplies", "amount": 10.5},
        {"date": "2024-05-01", "type": "supplies", "amount": "0.25"},
    ]
    response = client.post(
        "/api/forms/expense_claim/records",
        data=json.dumps({"data": claim(lines=rows)}),
        content_type="application/json",
        headers=auth,
    )
    assert response.status_code == 201 and response.get_json()["data"]["total"] == "10.75"
