"""Inputs that used to end in a server error, each now a clear 4xx that names what is wrong.

Run on SQLite and on PostgreSQL (``./dev test --postgres URL tests/web/test_input_defects.py``):
several of these were PostgreSQL's errors (ids beyond INTEGER, NUL in text).
"""

from __future__ import annotations

import io
import threading
from datetime import date
from http.client import HTTPConnection

import pytest
from werkzeug.serving import make_server

from formwork.extensions import db
from formwork.records.models import Record

TODAY = date.today().isoformat()


def _claim(**changes) -> dict:
    data = {
        "category": "office",
        "reason": "Printer paper",
        "lines": [{"date": TODAY, "type": "supplies", "amount": "12.50"}],
        "payee_name": "Alice",
        "payee_bank": "ICBC",
        "payee_account": "6222020200112233",
    }
    data.update(changes)
    return data


def _create(client, headers, data):
    return client.post("/api/forms/expense_claim/records", json={"data": data}, headers=headers)


@pytest.fixture
def alice_token(published, bearer):
    return {**bearer("alice"), "Accept-Language": "en"}


@pytest.fixture
def record_id(client, alice_token):
    response = _create(client, alice_token, _claim())
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def _count() -> int:
    return db.session.query(Record).count()


# ---- ids in URLs -------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["2147483648", "9223372036854775808", "9" * 40, "٣", "３", "0"])
def test_ids_beyond_the_column_or_in_other_digits_are_404(client, login, alice_token, record_id, value):
    for url in (f"/api/records/{value}", f"/api/tasks/{value}", f"/api/attachments/{value}"):
        response = client.get(url, headers=alice_token)
        assert response.status_code == 404, url
        assert "error" in response.get_json()
    login(client, "alice")
    for url in (f"/records/{value}", f"/tasks/{value}", f"/records/{value}/edit", f"/attachments/{value}"):
        assert client.get(url).status_code == 404, url


def test_an_arabic_indic_digit_does_not_open_the_record_of_that_number(client, alice_token, published):
    for _ in range(3):
        _create(client, alice_token, _claim())
    assert client.get("/api/records/3", headers=alice_token).status_code == 200
    assert client.get("/api/records/٣", headers=alice_token).status_code == 404


# ---- page numbers and other whole numbers in query strings ---------------------------------------


@pytest.mark.parametrize("value", ["²", "٣", "１２", "99999999999999999999", "2147483648000", "-1", "1e3"])
def test_browser_lists_show_the_first_page_for_an_odd_page_number(client, login, published, value):
    login(client, "alice")
    for url in ("/records", "/inbox", "/inbox/decided", "/requests", "/notifications"):
        response = client.get(url, query_string={"page": value})
        assert response.status_code == 200, url


@pytest.mark.parametrize("value", ["²", "٣", "１２", "99999999999999999999", "1000001", "0", " 1"])
def test_api_lists_refuse_an_odd_page_number_with_400(client, alice_token, value):
    for url in ("/api/records", "/api/tasks", "/api/tasks/decided", "/api/requests", "/api/notifications"):
        response = client.get(url, query_string={"page": value}, headers=alice_token)
        assert response.status_code == 400, (url, value)
        assert '"page" must be a whole number from 1 to 1000000' == response.get_json()["error"]
        response = client.get(url, query_string={"per_page": value}, headers=alice_token)
        assert response.status_code == 400, (url, value)


def test_the_highest_page_is_an_empty_page(client, alice_token):
    response = client.get(
        "/api/records", query_string={"page": "1000000", "per_page": "100"}, headers=alice_token
    )
    assert response.status_code == 200 and response.get_json()["items"] == []


def test_definition_diff_version_numbers(client, demo_org, bearer, published):
    admin = bearer("admin")
    for query in ({"from": "1", "to": "2147483648"}, {"from": "١", "to": "1"}, {"from": "1"}):
        response = client.get("/api/definitions/form/expense_claim/diff", query_string=query, headers=admin)
        assert response.status_code == 400, query
    ok = client.get("/api/definitions/form/expense_claim/diff?from=1&to=1", headers=admin)
    assert ok.status_code == 200


# ---- NUL ---------------------------------------------------------------------------------------


def test_nul_in_a_query_parameter_is_400_naming_it(client, login, alice_token):
    response = client.get("/api/records", query_string={"q": "a\x00b"}, headers=alice_token)
    assert response.status_code == 400
    assert response.get_json()["error"] == (
        'The request was refused: the query parameter "q" contains the NUL character, which is not allowed.'
    )
    login(client, "alice")
    page = client.get("/records", query_string={"q": "a\x00b"}, headers={"Accept-Language": "en"})
    assert page.status_code == 400 and "the query parameter &#34;q&#34; contains the NUL" in page.get_data(
        as_text=True
    )


def test_nul_in_a_form_field_header_or_address_is_400(client, csrf_token, demo_org, alice_token):
    token = csrf_token(client)
    response = client.post(
        "/login",
        data={"username": "al\x00ice", "password": "x", "csrf_token": token},
        headers={"Accept-Language": "en"},
    )
    assert response.status_code == 400 and "username" in response.get_data(as_text=True)
    response = client.get("/api/records", headers={**alice_token, "X-Anything": "a\x00b"})
    assert response.status_code == 400 and "X-Anything" in response.get_json()["error"]
    response = client.get("/api/forms/expense%00claim", headers=alice_token)
    assert response.status_code == 400 and "the address" in response.get_json()["error"]


def test_nul_in_a_json_body_is_400_with_its_pointer_and_nothing_is_written(client, alice_token):
    before = _count()
    response = _create(client, alice_token, _claim(reason="Printer\x00paper"))
    assert response.status_code == 400
    assert response.get_json()["field"] == "/data/reason"
    response = client.post(
        "/api/forms/expense_claim/records",
        json={"data": _claim()},
        headers={**alice_token, "Idempotency-Key": "k\x00"},
    )
    assert response.status_code == 400 and "Idempotency-Key" in response.get_json()["error"]
    response = client.post(
        "/api/forms/expense_claim/records", json={"data": {"rea\x00son": "x"}}, headers=alice_token
    )
    assert response.status_code == 400 and response.get_json()["field"] == "/data/rea\x00son"
    assert _count() == before


def test_nul_in_an_uploaded_file_name_is_400(client, alice_token):
    response = client.post(
        "/api/attachments",
        data={
            "form": "expense_claim",
            "field": "lines.receipt",
            "file": (io.BytesIO(b"%PDF-1.4"), "a\x00.pdf"),
        },
        headers=alice_token,
        content_type="multipart/form-data",
    )
    assert response.status_code == 400 and 'the file name in "file"' in response.get_json()["error"]


# ---- Unicode digits in numbers -------------------------------------------------------------------


@pytest.mark.parametrize("amount", ["١٢", "１２", "12²", "²"])
def test_only_ascii_digits_make_a_number(client, alice_token, amount):
    response = _create(
        client, alice_token, _claim(lines=[{"date": TODAY, "type": "supplies", "amount": amount}])
    )
    assert response.status_code == 422
    assert {"field": "lines[0].amount", "message": "must be a number"} in response.get_json()["errors"]


def test_only_ascii_digits_make_a_date(client, alice_token):
    response = _create(
        client, alice_token, _claim(lines=[{"date": "٢٠٢٤-٠١-٠١", "type": "supplies", "amount": "1"}])
    )
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["field"] == "lines[0].date"


def test_browser_form_with_unicode_digits_is_a_per_field_422(client, login, published, csrf_token):
    login(client, "alice")
    token = csrf_token(client, "/forms/expense_claim/new")
    data = {
        "csrf_token": token,
        "category": "office",
        "reason": "Paper",
        "_rows.lines": "0",
        "lines[0].date": TODAY,
        "lines[0].type": "supplies",
        "lines[0].amount": "١٢",
        "_action": "submit",
    }
    response = client.post("/forms/expense_claim/new", data=data, headers={"Accept-Language": "en"})
    assert response.status_code == 422
    assert "must be a number" in response.get_data(as_text=True)
    assert _count() == 0


def test_unicode_digits_never_name_a_user(client, demo_org, alice_token):
    response = client.post(
        "/api/me/out-of-office",
        json={"delegate": "٣", "starts_at": TODAY, "ends_at": TODAY},
        headers=alice_token,
    )
    assert response.status_code == 422 and response.get_json()["field"] == "delegate"
    response = client.post(
        "/api/me/out-of-office",
        json={"delegate": "2147483648", "starts_at": TODAY, "ends_at": TODAY},
        headers=alice_token,
    )
    assert response.status_code == 422


# ---- single-line text ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "reason", ["Paper\r\nBcc: x@example.com", "Paper\nmore", "Paper\u2028more", "Pa\x1bper"]
)
def test_single_line_text_refuses_line_breaks_and_control_characters(client, alice_token, reason):
    response = _create(client, alice_token, _claim(reason=reason))
    assert response.status_code == 422
    [error] = [e for e in response.get_json()["errors"] if e["field"] == "reason"]
    assert error["message"] in ("must be a single line", "contains a character that is not allowed")
    assert _count() == 0


def test_long_text_keeps_its_line_breaks(client, alice_token):
    guests = "ACME Ltd.\r\nMr Wang\nMs Li\u2028(driver)"
    response = _create(client, alice_token, _claim(category="entertainment", guests=guests, guest_count=3))
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["data"]["guests"] == guests


def test_titles_and_subjects_are_one_line():
    from formwork.input_limits import one_line
    from formwork.notifications.messages import render

    assert one_line(" a\r\n b\u2028c\td ") == "a b c d"
    subject, _body = render("task_assigned", {"form": "Claim", "title": "x\r\nBcc: y", "number": 7}, "en")
    assert "\n" not in subject and "\r" not in subject


# ---- API writes without credentials --------------------------------------------------------------


def test_api_write_without_credentials_is_401_not_csrf(client, published):
    for method, url in (
        ("POST", "/api/forms/expense_claim/records"),
        ("PATCH", "/api/records/1"),
        ("POST", "/api/tasks/1/decision"),
        ("DELETE", "/api/me/out-of-office"),
    ):
        response = client.open(url, method=method, json={"data": {}})
        assert response.status_code == 401, url
        assert response.get_json() == {"error": "authentication required"}
        assert response.headers["WWW-Authenticate"] == 'Bearer realm="formwork"'


def test_signed_in_browser_writes_to_the_api_still_need_csrf(client, login, published):
    login(client, "alice")
    response = client.post("/api/forms/expense_claim/records", json={"data": _claim()})
    assert response.status_code == 400 and "CSRF" in response.get_json()["error"]
    assert _count() == 0


def test_browser_forms_keep_csrf(client, published):
    response = client.post("/forms/expense_claim/new", data={"reason": "x"})
    assert response.status_code == 400


# ---- bodies without Content-Length ---------------------------------------------------------------


def _chunked_environ(body: bytes) -> dict:
    return {"wsgi.input": io.BytesIO(body), "wsgi.input_terminated": True}


def test_a_streamed_body_over_the_limit_is_413_not_cut(app, client, alice_token):
    app.config["FORMWORK_MAX_BODY_BYTES"] = 1000
    padding = "x" * 2000
    body = b'{"data": {"reason": "Paper", "note": "' + padding.encode() + b'"}}'
    response = client.post(
        "/api/forms/expense_claim/records",
        headers={**alice_token, "Content-Type": "application/json"},
        environ_overrides=_chunked_environ(body),
    )
    assert response.status_code == 413
    assert _count() == 0


def test_a_streamed_body_within_the_limit_is_read_whole(app, client, alice_token):
    import json

    body = json.dumps({"data": _claim()}).encode()
    response = client.post(
        "/api/forms/expense_claim/records",
        headers={**alice_token, "Content-Type": "application/json"},
        environ_overrides=_chunked_environ(body),
    )
    assert response.status_code == 201, response.get_json()


def _chunked_post(port: int, path: str, headers: dict, body: bytes) -> tuple[int, bytes]:
    connection = HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.putrequest("POST", path)
        for name, value in headers.items():
            connection.putheader(name, value)
        connection.putheader("Transfer-Encoding", "chunked")
        connection.endheaders()
        for start in range(0, len(body), 4096):
            chunk = body[start : start + 4096]
            connection.send(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
        connection.send(b"0\r\n\r\n")
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def test_the_development_server_refuses_a_chunked_body_over_the_limit(app, alice_token):
    """Through a real server: Werkzeug's serves chunked bodies with ``wsgi.input_terminated``."""
    app.config["FORMWORK_MAX_BODY_BYTES"] = 5000
    server = make_server("127.0.0.1", 0, app, threaded=False)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        headers = {**alice_token, "Content-Type": "application/json"}
        note = "x" * 20_000
        status, body = _chunked_post(
            server.port,
            "/api/forms/expense_claim/records",
            headers,
            b'{"data": {"reason": "' + note.encode() + b'"}}',
        )
        assert status == 413, body
    finally:
        server.shutdown()
        thread.join(5)
