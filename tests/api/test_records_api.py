"""The forms and records API: create, drafts, patch, list, history, errors, idempotency, exact money."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from formwork.extensions import db
from formwork.records.models import Record


def claim(**changes) -> dict:
    data = {
        "category": "office",
        "reason": "Printer paper",
        "lines": [{"date": date.today().isoformat(), "type": "supplies", "amount": "1234.50"}],
        "payee_name": "Alice",
        "payee_bank": "ICBC",
        "payee_account": "6222020200112233",
    }
    data.update(changes)
    return data


def post_json(client, url, body, headers, method="post"):
    return getattr(client, method)(
        url, data=json.dumps(body), content_type="application/json", headers=headers
    )


def count() -> int:
    return db.session.scalar(select(func.count(Record.id)))


def test_forms_list_and_definition(client, published, bearer):
    auth = bearer("alice")
    items = client.get("/api/forms", headers=auth).get_json()["items"]
    assert {"expense_claim", "purchase_request"} <= {item["key"] for item in items}
    form = client.get("/api/forms/expense_claim", headers=auth).get_json()
    assert form["version"] == 1 and form["definition"]["key"] == "expense_claim"
    assert client.get("/api/forms/nope", headers=auth).status_code == 404
    assert client.get("/api/forms").status_code == 401


def test_create_submit_and_read_back_exact(client, published, bearer):
    auth = bearer("alice")
    # Money as a JSON number with many digits: parsed as Decimal, never float.
    body = {
        "data": claim(
            lines=[
                {"date": date.today().isoformat(), "type": "supplies", "amount": 987654.39},
                {"date": date.today().isoformat(), "type": "meals", "amount": "0.10"},
                {"date": date.today().isoformat(), "type": "meals", "amount": "0.20"},
            ],
            category="other",
        ),
        "submit": True,
    }
    response = post_json(client, "/api/forms/expense_claim/records", body, auth)
    assert response.status_code == 201, response.get_json()
    record = response.get_json()
    assert record["status"] == "submitted"
    assert record["data"]["lines"][0]["amount"] == "987654.39"
    assert record["data"]["total"] == "987654.69"
    fetched = client.get(f"/api/records/{record['id']}", headers=auth).get_json()
    assert Decimal(fetched["data"]["total"]) == Decimal("987654.39") + Decimal("0.10") + Decimal("0.20")


def test_draft_then_patch_then_submit(client, published, bearer):
    auth = bearer("alice")
    created = post_json(
        client, "/api/forms/expense_claim/records", {"data": {"reason": "Half done"}, "submit": False}, auth
    )
    assert created.status_code == 201 and created.get_json()["status"] == "draft"
    record_id = created.get_json()["id"]
    # A partial patch keeps what it does not mention.
    patched = post_json(client, f"/api/records/{record_id}", {"data": {"category": "office"}}, auth, "patch")
    assert patched.status_code == 200 and patched.get_json()["data"]["reason"] == "Half done"
    missing = post_json(client, f"/api/records/{record_id}", {"submit": True}, auth, "patch")
    assert missing.status_code == 422
    assert {"payee_name", "lines[0].amount"} <= {
        e["field"] for e in missing.get_json()["errors"]
    } or "payee_name" in {e["field"] for e in missing.get_json()["errors"]}
    done = post_json(client, f"/api/records/{record_id}", {"data": claim(), "submit": True}, auth, "patch")
    assert done.status_code == 200 and done.get_json()["status"] == "submitted"
    again = post_json(client, f"/api/records/{record_id}", {"data": {"reason": "late"}}, auth, "patch")
    assert again.status_code == 409
    history = client.get(f"/api/records/{record_id}/history", headers=auth).get_json()["items"]
    assert [event["action"] for event in history] == ["created", "updated", "updated", "submitted"]


def test_validation_errors_have_row_paths(client, published, bearer):
    auth = bearer("alice")
    lines = [{"date": date.today().isoformat(), "type": "meals", "amount": "1"} for _ in range(3)]
    lines[2]["amount"] = "-5"
    response = post_json(
        client, "/api/forms/expense_claim/records", {"data": claim(lines=lines), "submit": True}, auth
    )
    assert response.status_code == 422
    body = response.get_json()
    assert body["errors"] and all(set(error) == {"field", "message"} for error in body["errors"])
    assert "lines[2].amount" in {error["field"] for error in body["errors"]}
    too_many = claim(lines=[{"date": date.today().isoformat(), "type": "meals", "amount": "1"}] * 51)
    response = post_json(client, "/api/forms/expense_claim/records", {"data": too_many, "submit": True}, auth)
    assert response.status_code == 422 and response.get_json()["errors"][0]["field"] == "lines"
    assert count() == 0


def test_forged_and_computed_fields_refused(client, published, bearer):
    auth = bearer("alice")
    forged = post_json(client, "/api/forms/expense_claim/records", {"data": claim(is_approved=True)}, auth)
    assert forged.status_code == 422 and forged.get_json()["errors"][0]["field"] == "is_approved"
    computed = post_json(client, "/api/forms/expense_claim/records", {"data": claim(total="1.00")}, auth)
    assert computed.status_code == 422 and computed.get_json()["errors"][0]["field"] == "total"
    assert count() == 0


def test_other_users_record_is_404(client, published, bearer):
    record = post_json(
        client, "/api/forms/expense_claim/records", {"data": claim()}, bearer("alice")
    ).get_json()
    frank = bearer("frank")
    assert client.get(f"/api/records/{record['id']}", headers=frank).status_code == 404
    assert client.get(f"/api/records/{record['id']}/history", headers=frank).status_code == 404
    assert (
        post_json(
            client, f"/api/records/{record['id']}", {"data": {"reason": "x"}}, frank, "patch"
        ).status_code
        == 404
    )
    assert client.get("/api/records", headers=frank).get_json()["total"] == 0


def test_idempotent_create(client, published, bearer):
    auth = bearer("alice")
    body = {"data": claim(), "submit": True, "client_token": "abc-123"}
    first = post_json(client, "/api/forms/expense_claim/records", body, auth)
    second = post_json(client, "/api/forms/expense_claim/records", body, auth)
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.get_json()["id"] == second.get_json()["id"]
    header = {**auth, "Idempotency-Key": "key-9"}
    third = post_json(client, "/api/forms/expense_claim/records", {"data": claim()}, header)
    fourth = post_json(client, "/api/forms/expense_claim/records", {"data": claim()}, header)
    assert (third.status_code, fourth.status_code) == (201, 200)
    assert count() == 2


def test_a_client_token_is_bound_to_its_request(client, published, bearer):
    auth = bearer("alice")
    header = {**auth, "Idempotency-Key": "key-10"}
    first = post_json(client, "/api/forms/expense_claim/records", {"data": claim()}, header)
    assert first.status_code == 201
    # The same key with another body, another form or as a submission: refused, nothing made.
    other_body = post_json(client, "/api/forms/expense_claim/records", {"data": claim(reason="Taxi")}, header)
    submitted = post_json(
        client, "/api/forms/expense_claim/records", {"data": claim(), "submit": True}, header
    )
    other_form = post_json(client, "/api/forms/purchase_request/records", {"data": {}}, header)
    for answer in (other_body, submitted, other_form):
        assert answer.status_code == 422, answer.get_json()
        assert "已用于另一个请求" in answer.get_json()["error"]
    # The token in the body and in the header are one and the same key.
    in_body = post_json(
        client,
        "/api/forms/expense_claim/records",
        {"data": claim(reason="Taxi"), "client_token": "key-10"},
        auth,
    )
    assert in_body.status_code == 422
    replay = post_json(client, "/api/forms/expense_claim/records", {"data": claim()}, header)
    assert replay.status_code == 200 and replay.get_json()["id"] == first.get_json()["id"]
    assert count() == 1


def test_twenty_racing_copies_of_one_request_make_one_record_and_one_201(app, published, bearer):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite serialises writers")
    import threading

    header = {**bearer("alice"), "Idempotency-Key": "race-20"}
    body = json.dumps({"data": claim(), "submit": True})
    barrier = threading.Barrier(20)
    answers: list = []

    def post() -> None:
        try:
            with app.test_client() as own:
                barrier.wait(timeout=30)
                answer = own.post(
                    "/api/forms/expense_claim/records",
                    data=body,
                    content_type="application/json",
                    headers=header,
                )
                answers.append((answer.status_code, (answer.get_json() or {}).get("id")))
        except BaseException as error:  # reported below
            answers.append((error, None))

    threads = [threading.Thread(target=post) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    codes = sorted(code for code, _ in answers)
    assert codes == [200] * 19 + [201], answers
    assert len({record_id for _, record_id in answers}) == 1
    assert count() == 1


def test_list_paging_search_and_filters(client, published, bearer):
    auth = bearer("alice")
    for index in range(5):
        post_json(
            client,
            "/api/forms/expense_claim/records",
            {"data": claim(reason=f"Trip {index}"), "submit": index % 2 == 0},
            auth,
        )
    page = client.get("/api/records?per_page=2&page=2", headers=auth).get_json()
    assert (page["page"], page["per_page"], page["total"]) == (2, 2, 5)
    assert [item["title"] for item in page["items"]] == ["Trip 2", "Trip 1"]  # newest first
    assert client.get("/api/records?q=trip 3", headers=auth).get_json()["total"] == 1
    assert client.get("/api/records?status=draft", headers=auth).get_json()["total"] == 2
    assert client.get("/api/records?form=purchase_request", headers=auth).get_json()["total"] == 0
    assert client.get("/api/records?q=100%25", headers=auth).get_json()["total"] == 0
    assert client.get("/api/records?per_page=1000", headers=auth).status_code == 400
    assert client.get("/api/records?status=bogus", headers=auth).status_code == 400


def test_bad_bodies(client, published, bearer, app):
    auth = bearer("alice")
    url = "/api/forms/expense_claim/records"
    malformed = client.post(url, data='{"data": {', content_type="application/json", headers=auth)
    assert malformed.status_code == 400 and "malformed JSON" in malformed.get_json()["error"]
    assert client.post(url, data="[]", content_type="application/json", headers=auth).status_code == 400
    assert client.post(url, data="", content_type="application/json", headers=auth).status_code == 400
    assert client.post(url, data="NaN", content_type="application/json", headers=auth).status_code == 400
    wrong_type = client.post(
        url, data="data=1", content_type="application/x-www-form-urlencoded", headers=auth
    )
    assert wrong_type.status_code == 415 and "application/json" in wrong_type.get_json()["error"]
    # Body fields that do not fit the declaration: 422, each fault named.
    for sent, field, message in (
        ({"data": [], "submit": True}, "data", "must be a JSON object"),
        ({"data": {}, "submit": "yes"}, "submit", "must be true or false"),
        ({"data": {}, "extra": 1}, "extra", "is not a known field"),
        ({"data": {}, "client_token": ""}, "client_token", "must not be empty"),
        ({"data": {}, "client_token": "x" * 65}, "client_token", "must be at most 64 characters"),
    ):
        refused = post_json(client, url, sent, auth)
        assert refused.status_code == 422, sent
        assert {"field": field, "message": message} in refused.get_json()["errors"], refused.get_json()
    assert post_json(client, url, {"data": {}}, {**auth, "Idempotency-Key": "x" * 65}).status_code == 400
    app.config["MAX_CONTENT_LENGTH"] = 2000
    big = post_json(client, url, {"data": claim(reason="x" * 5000)}, auth)
    assert big.status_code == 413 and "error" in big.get_json()
    assert count() == 0


def test_session_needs_csrf_bearer_does_not(client, published, login, csrf_token, bearer):
    login(client, "alice")
    url = "/api/forms/expense_claim/records"
    refused = client.post(url, data=json.dumps({"data": claim()}), content_type="application/json")
    assert refused.status_code == 400 and "CSRF" in refused.get_json()["error"]
    assert count() == 0
    token = csrf_token(client, "/")
    accepted = post_json(client, url, {"data": claim()}, {"X-CSRFToken": token})
    assert accepted.status_code == 201
    fresh = client.application.test_client()
    assert post_json(fresh, url, {"data": claim()}, bearer("alice")).status_code == 201


def test_patch_with_a_stale_lock_version_is_a_conflict(client, published, bearer):
    auth = bearer("alice")
    created = post_json(
        client, "/api/forms/expense_claim/records", {"data": {"reason": "v1"}, "submit": False}, auth
    )
    record_id, seen = created.get_json()["id"], created.get_json()["lock_version"]
    first = post_json(
        client, f"/api/records/{record_id}", {"data": {"reason": "v2"}, "lock_version": seen}, auth, "patch"
    )
    assert first.status_code == 200 and first.get_json()["lock_version"] > seen
    stale = post_json(
        client,
        f"/api/records/{record_id}",
        {"data": {"reason": "v3"}, "lock_version": seen},
        {**auth, "Accept-Language": "en"},
        "patch",
    )
    assert stale.status_code == 409 and "changed by someone else" in stale.get_json()["error"]
    assert client.get(f"/api/records/{record_id}", headers=auth).get_json()["data"]["reason"] == "v2"
    bad = post_json(client, f"/api/records/{record_id}", {"data": {}, "lock_version": "x"}, auth, "patch")
    assert bad.status_code == 422 and bad.get_json()["field"] == "lock_version"
    # client_token is for creating only: a PATCH that sends it is refused, not silently ignored.
    token = post_json(client, f"/api/records/{record_id}", {"data": {}, "client_token": "t"}, auth, "patch")
    assert token.status_code == 422 and token.get_json()["errors"] == [
        {"field": "client_token", "message": "is not a known field"}
    ]


def test_a_department_field_takes_only_the_departments_its_submitter_may_choose(
    app, client, published, bearer, demo_org, login
):
    """The purchase request's department picks the budget line: Finance staff cannot charge Sales."""
    sales, finance = demo_org["bob"].department_id, demo_org["carol"].department_id
    request = {
        "subject": "Laptop",
        "budget_category": "equipment",
        "items": [{"description": "Laptop", "quantity": 1, "unit_price": "800"}],
        "needed_by": date.today().isoformat(),
        "justification": "Needed",
    }
    carol = {**bearer("carol"), "Accept-Language": "en"}
    refused = post_json(
        client, "/api/forms/purchase_request/records", {"data": {**request, "department": sales}}, carol
    )
    assert refused.status_code == 422
    assert refused.get_json()["errors"] == [
        {"field": "department", "message": "choose your own department or one under it"}
    ]
    own = post_json(
        client, "/api/forms/purchase_request/records", {"data": {**request, "department": finance}}, carol
    )
    assert own.status_code == 201
    # The CFO's role may charge any department.
    cfo = post_json(
        client,
        "/api/forms/purchase_request/records",
        {"data": {**request, "department": sales}},
        bearer("dave"),
    )
    assert cfo.status_code == 201
    # The form page offers carol only her own department.
    page = login(app.test_client(), "carol").get("/forms/purchase_request/new").get_data(as_text=True)
    assert f'value="{finance}"' in page and f'value="{sales}"' not in page
