"""Posted line-item rows: read with a set, never past the form's row limit, and small bodies for form
posts."""

from __future__ import annotations

import io
import time
from urllib.parse import urlencode

import pytest
from sqlalchemy import func, select
from test_renderer import HX, expense_post, form_token
from werkzeug.datastructures import MultiDict

from formwork.extensions import db
from formwork.records.models import Record

ROWS = 50_000


@pytest.fixture(autouse=True)
def english(client):
    """Messages are asserted in English."""
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"


def _many_rows(token: str, **extra: str) -> bytes:
    data = expense_post(token, _action="draft", **extra)
    data["_rows.lines"] = [str(i) for i in range(ROWS)]
    return urlencode(data, doseq=True).encode()


def test_fifty_thousand_row_ids_are_refused_quickly_with_a_field_error(alice):
    token = form_token(alice.get("/forms/expense_claim/new").get_data(as_text=True))
    body = _many_rows(token)
    started = time.perf_counter()
    response = alice.post(
        "/forms/expense_claim/new", data=body, content_type="application/x-www-form-urlencoded"
    )
    elapsed = time.perf_counter() - started
    assert elapsed < 2, f"took {elapsed:.2f} s"  # a generous guard; quadratic reading took minutes
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "At most 50 rows; the page sent more" in html and 'href="#f-lines"' in html
    assert db.session.scalar(select(func.count(Record.id))) == 0


def test_evaluate_refuses_too_many_rows_quickly(alice):
    token = form_token(alice.get("/forms/expense_claim/new").get_data(as_text=True))
    started = time.perf_counter()
    response = alice.post(
        "/forms/expense_claim/evaluate",
        data=_many_rows(token),
        content_type="application/x-www-form-urlencoded",
        headers=HX,
    )
    assert time.perf_counter() - started < 2
    assert response.status_code == 400 and "At most 50 rows" in response.get_data(as_text=True)


def test_rows_at_the_limit_still_save(alice):
    token = form_token(alice.get("/forms/expense_claim/new").get_data(as_text=True))
    data = expense_post(token, _action="draft")
    data["_rows.lines"] = [str(i) for i in range(50)] + ["3", "3"]  # duplicates count once
    response = alice.post("/forms/expense_claim/new", data=data)
    assert response.status_code == 303
    record = db.session.scalar(select(Record))
    assert len(record.data["lines"]) == 50


def test_read_post_unit(app, published):
    from formwork.forms import catalogue
    from formwork.forms.posted import read_post

    form = catalogue.compiled_form(published["expense_claim"])
    posted = MultiDict([("_rows.lines", v) for v in ["2", "2", "x", "0", "9999999", "1"]])
    errors: dict[str, list[str]] = {}
    raw, row_ids = read_post(form, posted, errors)
    assert row_ids["lines"] == [2, 0, 1] and len(raw["lines"]) == 3 and errors == {}
    posted = MultiDict([("_rows.lines", str(i)) for i in range(60)])
    raw, row_ids = read_post(form, posted, errors)
    assert row_ids["lines"] == list(range(50)) and list(errors) == ["lines"]


def test_urlencoded_bodies_have_a_smaller_limit_than_uploads(app, alice):
    token = form_token(alice.get("/forms/expense_claim/new").get_data(as_text=True))
    app.config["FORMWORK_MAX_BODY_BYTES"] = 20_000
    big = expense_post(token, _action="draft", reason="x" * 30_000)
    response = alice.post(
        "/forms/expense_claim/new",
        data=urlencode(big).encode(),
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 413
    assert db.session.scalar(select(func.count(Record.id))) == 0
    # JSON bodies share the smaller limit.
    api = alice.post(
        "/api/forms/expense_claim/records",
        data=b'{"data": {"reason": "' + b"x" * 30_000 + b'"}}',
        content_type="application/json",
        headers={"X-CSRFToken": token},
    )
    assert api.status_code == 413 and "error" in api.get_json()
    # A multipart post of the same size (the page with a file) is still accepted.
    multipart = expense_post(token, _action="draft", reason="Printer paper")
    multipart["_upload.lines[0].receipt"] = (io.BytesIO(b"%PDF-1.4\n" + b"0" * 25_000), "r.pdf")
    response = alice.post("/forms/expense_claim/new", data=multipart, content_type="multipart/form-data")
    assert response.status_code == 303
