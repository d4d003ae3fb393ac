"""The browser uses the form version a page was rendered with: new records, drafts, evaluation, uploads.

A new record always gets the current version: a page of an older version is shown again
in the new version with everything typed kept, and nothing is saved. A draft keeps the
version it was created with, however many versions are published after it.
"""

from __future__ import annotations

import copy
import io
import json
import re

import pytest
from sqlalchemy import func, select
from test_renderer import HX, expense_post, form_token

from formwork.definitions import store
from formwork.extensions import db
from formwork.records.models import Record

PDF = b"%PDF-1.4\n%%EOF\n"


@pytest.fixture(autouse=True)
def english(client):
    """Messages are asserted in English."""
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"


def _definition_id(html: str) -> int:
    match = re.search(r'name="_definition" value="(\d+)"', html)
    assert match, "no _definition input on the page"
    return int(match.group(1))


@pytest.fixture
def version_two(published):
    """Version 2 of the expense claim: a travel-only project code, and receipts only as PNG."""
    content = copy.deepcopy(published["expense_claim"].content)
    content["fields"].insert(
        2,
        {
            "key": "project_code",
            "type": "text",
            "label": {"zh-CN": "项目", "en": "Project"},
            "visible_when": "category == 'travel'",
        },
    )
    lines = next(f for f in content["fields"] if f["key"] == "lines")
    receipt = next(f for f in lines["fields"] if f["key"] == "receipt")
    receipt["accept"] = [".png"]

    def publish():
        version, created = store.publish(content)
        assert created and version.version == 2
        return version

    return publish


def count() -> int:
    return db.session.scalar(select(func.count(Record.id)))


def test_pages_carry_their_version(alice, published):
    html = alice.get("/forms/expense_claim/new").get_data(as_text=True)
    assert _definition_id(html) == published["expense_claim"].id
    assert f"/forms/expense_claim/upload?definition={published['expense_claim'].id}&amp;field=" in html


def test_new_record_from_a_page_of_an_older_version_shows_the_new_version(alice, published, version_two):
    page = alice.get("/forms/expense_claim/new").get_data(as_text=True)
    v2 = version_two()
    data = expense_post(
        form_token(page),
        _action="submit",
        _definition=str(published["expense_claim"].id),
        reason="Trip to Shanghai",
    )
    response = alice.post("/forms/expense_claim/new", data=data)
    assert response.status_code == 409 and count() == 0
    html = response.get_data(as_text=True)
    assert "This form was changed (version 2 was published)" in html
    assert 'value="Trip to Shanghai"' in html and 'value="1234.50"' in html  # nothing typed is lost
    assert _definition_id(html) == v2.id and "fld-project_code" in html
    # Saved again from the new page: a record of version 2.
    data["_definition"] = str(v2.id)
    assert alice.post("/forms/expense_claim/new", data=data).status_code == 303
    assert db.session.scalar(select(Record.form_version)) == 2


def test_htmx_post_of_an_older_page_is_swapped_in_place(alice, published, version_two):
    page = alice.get("/forms/expense_claim/new").get_data(as_text=True)
    version_two()
    data = expense_post(form_token(page), _action="draft", _definition=str(published["expense_claim"].id))
    response = alice.post("/forms/expense_claim/new", data=data, headers=HX)
    assert response.status_code == 200 and count() == 0
    assert 'id="form-notice"' in response.get_data(as_text=True)


def test_a_definition_of_another_form_is_refused(alice, published):
    page = alice.get("/forms/expense_claim/new").get_data(as_text=True)
    other = str(published["purchase_request"].id)
    for url in ("/forms/expense_claim/new", "/forms/expense_claim/evaluate"):
        response = alice.post(url, data=expense_post(form_token(page), _action="draft", _definition=other))
        assert response.status_code == 400, url
        assert "This page was made for another form" in response.get_data(as_text=True)
    response = alice.post("/forms/expense_claim/new", data=expense_post(form_token(page), _definition="x1"))
    assert response.status_code == 400 and count() == 0


def test_evaluate_uses_the_version_the_page_shows(alice, published, version_two):
    page = alice.get("/forms/expense_claim/new").get_data(as_text=True)
    v2 = version_two()
    data = expense_post(form_token(page), category="travel", _state="trip_destination=---")
    data["_definition"] = str(published["expense_claim"].id)
    old = alice.post("/forms/expense_claim/evaluate", data=data, headers=HX).get_data(as_text=True)
    assert "fld-trip_destination" in old and "fld-project_code" not in old
    data["_definition"] = str(v2.id)
    new = alice.post("/forms/expense_claim/evaluate", data=data, headers=HX).get_data(as_text=True)
    assert "fld-project_code" in new


def test_a_draft_keeps_its_version(alice, published, version_two):
    page = alice.get("/forms/expense_claim/new").get_data(as_text=True)
    alice.post("/forms/expense_claim/new", data=expense_post(form_token(page), _action="draft"))
    record = db.session.scalar(select(Record))
    v2 = version_two()
    edit = alice.get(f"/records/{record.id}/edit").get_data(as_text=True)
    assert _definition_id(edit) == published["expense_claim"].id and "fld-project_code" not in edit
    data = expense_post(
        form_token(edit),
        _action="draft",
        reason="Still version one",
        _definition=str(published["expense_claim"].id),
        **{"lines[0]._row": "0"},
    )
    assert alice.post(f"/records/{record.id}/edit", data=data).status_code == 303
    db.session.refresh(record)
    assert record.form_version == 1 and record.data["reason"] == "Still version one"
    # A page of another version of the form is not this record's editor: shown again, not saved.
    data.update(_definition=str(v2.id), reason="Changed on a wrong page")
    response = alice.post(f"/records/{record.id}/edit", data=data)
    assert response.status_code == 409 and "this record uses version 1" in response.get_data(as_text=True)
    db.session.refresh(record)
    assert record.data["reason"] == "Still version one"


def _upload(client, url, token, name="taxi.pdf", content=PDF):
    return client.post(
        url,
        data={"_upload.lines[0].receipt": (io.BytesIO(content), name), "lines[0].receipt": ""},
        content_type="multipart/form-data",
        headers={**HX, "X-CSRFToken": token},
    )


def test_uploads_use_the_limits_of_the_version_shown(alice, published, version_two):
    page = alice.get("/forms/expense_claim/new").get_data(as_text=True)
    token = form_token(page)
    v1 = published["expense_claim"]
    version_two()  # receipts: PNG only
    field = "field=lines%5B0%5D.receipt"
    kept = _upload(alice, f"/forms/expense_claim/upload?definition={v1.id}&{field}", token)
    assert kept.status_code == 200 and "taxi.pdf" in kept.get_data(as_text=True)
    # The file list answered for the next upload still names the version.
    assert f"upload?definition={v1.id}" in kept.get_data(as_text=True)
    refused = _upload(alice, f"/forms/expense_claim/upload?{field}", token)
    assert "not accepted" in refused.get_data(as_text=True)
    wrong = _upload(
        alice, f"/forms/expense_claim/upload?definition={published['purchase_request'].id}&{field}", token
    )
    assert wrong.status_code == 400


def test_a_file_checked_against_an_old_version_is_rechecked_by_the_version_saved(
    alice, published, version_two
):
    page = alice.get("/forms/expense_claim/new").get_data(as_text=True)
    token = form_token(page)
    v1 = published["expense_claim"]
    html = _upload(
        alice, f"/forms/expense_claim/upload?definition={v1.id}&field=lines%5B0%5D.receipt", token
    ).get_data(as_text=True)
    attachment_id = re.search(r'value="(\d+)" checked', html).group(1)
    v2 = version_two()
    data = expense_post(
        token, _action="draft", _definition=str(v2.id), **{"lines[0].receipt": ["", attachment_id]}
    )
    response = alice.post("/forms/expense_claim/new", data=data)
    assert response.status_code == 422 and "is not accepted by this field" in response.get_data(as_text=True)
    assert count() == 0


def test_api_uploads_take_a_version_or_a_record(client, published, version_two, bearer):
    auth = bearer("alice")
    v2 = version_two()

    def upload(**parts):
        return client.post(
            "/api/attachments",
            headers=auth,
            content_type="multipart/form-data",
            data={
                "file": (io.BytesIO(PDF), "r.pdf"),
                "form": "expense_claim",
                "field": "lines[0].receipt",
                **parts,
            },
        )

    assert upload().status_code == 415  # version 2 accepts PNG only
    assert upload(version="1").status_code == 201
    assert upload(version="9").status_code == 404
    created = client.post(
        "/api/forms/expense_claim/records",
        headers=auth,
        content_type="application/json",
        data=json.dumps({"data": {"reason": "Old draft"}}),
    )
    assert created.status_code == 201 and created.get_json()["form_version"] == v2.version
    record = db.session.get(Record, created.get_json()["id"])
    record.definition_id, record.form_version = published["expense_claim"].id, 1  # a draft of version 1
    db.session.commit()
    assert upload(record=str(record.id)).status_code == 201
    assert upload(record="999999").status_code == 404
