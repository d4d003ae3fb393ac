"""A published form that cannot be compiled here (its plugin is off) degrades instead of taking pages down.

The demo forms are published with the plugins loaded; then the same database is opened
by an application in safe mode, where ``cn_amount`` (a plugin function) does not exist.
"""

from __future__ import annotations

import json
import logging

import pytest

from formwork import create_app
from formwork.definitions import store
from formwork.extensions import db
from formwork.forms import catalogue
from formwork.workflow import submission


@pytest.fixture
def records(app, published, demo_org):
    """One draft of the expense claim (needs cn_amount) and one of the purchase request (does not)."""
    alice = demo_org["alice"]
    claim = submission.create_record("expense_claim", {"reason": "Taxi to the airport"}, alice, submit=False)
    purchase = submission.create_record("purchase_request", {}, alice, submit=False)
    return {"claim": claim.id, "purchase": purchase.id}


@pytest.fixture
def safe(app, records):
    """A second application on the same database, in safe mode (no plugins), a client signed in as alice."""
    safe_app = create_app(
        {
            **{
                k: app.config[k]
                for k in ("SECRET_KEY", "SQLALCHEMY_DATABASE_URI", "FORMWORK_UPLOAD_DIR", "TESTING")
            },
            "FORMWORK_SAFE_MODE": True,
            "WTF_CSRF_ENABLED": True,
        }
    )
    with safe_app.app_context():
        client = safe_app.test_client()
        client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
        yield safe_app, client
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def safe_client(safe, login):
    _app, client = safe
    return login(client, "alice")


def test_pages_and_lists_keep_working(safe_client, records):
    for path in ("/", "/forms", "/requests", "/inbox", "/api/forms"):
        assert safe_client.get(path).status_code == 200, path
    forms = safe_client.get("/forms").get_data(as_text=True)
    assert "needs plugin function cn_amount, which is not loaded" in forms
    assert "/forms/purchase_request/new" in forms and "/forms/expense_claim/new" not in forms
    home = safe_client.get("/").get_data(as_text=True)
    assert "Unavailable" in home and "/forms/purchase_request/new" in home
    # Records of the unavailable form still list, with their title and their form's title.
    listing = safe_client.get("/requests").get_data(as_text=True)
    assert "Taxi to the airport" in listing and f'/records/{records["claim"]}"' in listing
    assert "Expense claim" in listing


def test_api_lists_the_form_as_unavailable(safe_client):
    items = {item["key"]: item for item in safe_client.get("/api/forms").get_json()["items"]}
    assert items["expense_claim"]["available"] is False
    assert "cn_amount" in items["expense_claim"]["unavailable_reason"]
    assert (
        items["purchase_request"]["available"] is True
        and "unavailable_reason" not in items["purchase_request"]
    )
    assert items["expense_claim"]["title"] == "Expense claim"


def test_opening_the_unavailable_form_is_a_clear_error(safe_client, records, csrf_token):
    page = safe_client.get("/forms/expense_claim/new")
    assert page.status_code == 503
    html = page.get_data(as_text=True)
    assert "Form unavailable" in html and "cn_amount" in html and "Traceback" not in html
    assert safe_client.get(f"/records/{records['claim']}").status_code == 503
    assert safe_client.get(f"/records/{records['claim']}/edit").status_code == 503

    token = csrf_token(safe_client, "/forms")
    headers = {"X-CSRFToken": token}
    created = safe_client.post(
        "/api/forms/expense_claim/records",
        data=json.dumps({"data": {"reason": "x"}}),
        content_type="application/json",
        headers=headers,
    )
    assert created.status_code == 503 and "cn_amount" in created.get_json()["error"]
    patched = safe_client.patch(
        f"/api/records/{records['claim']}",
        data=json.dumps({"data": {"reason": "y"}}),
        content_type="application/json",
        headers=headers,
    )
    assert patched.status_code == 503 and "cn_amount" in patched.get_json()["error"]
    # Reading the stored record needs no compiled form.
    assert safe_client.get(f"/api/records/{records['claim']}").get_json()["title"] == "Taxi to the airport"


def test_other_forms_are_unaffected(safe_client, records, csrf_token):
    assert safe_client.get("/forms/purchase_request/new").status_code == 200
    assert safe_client.get(f"/records/{records['purchase']}").status_code == 200
    token = csrf_token(safe_client, "/forms")
    created = safe_client.post(
        "/api/forms/purchase_request/records",
        data=json.dumps({"data": {}}),
        content_type="application/json",
        headers={"X-CSRFToken": token},
    )
    assert created.status_code == 201, created.get_json()


# ---- the degraded path itself ------------------------------------------------------------------


def test_compiled_form_reports_what_is_missing_and_logs_once(app, published, caplog):
    from formwork.wiring import build_registry

    version = published["expense_claim"]
    app.extensions["formwork.plugins"] = build_registry([], safe_mode=True)
    app.extensions.pop("formwork.definitions.compiled", None)
    caplog.set_level(logging.ERROR, logger="formwork.definitions.store")
    with app.test_request_context(headers={"Accept-Language": "en"}):
        for _ in range(3):
            with pytest.raises(catalogue.FormUnavailable) as caught:
                catalogue.compiled_form(version)
        assert caught.value.missing_functions == ["cn_amount"]
        assert caught.value.reason() == "needs plugin function cn_amount, which is not loaded"
        assert caught.value.key == "expense_claim" and caught.value.version == 1
        form, problem = catalogue.form_or_unavailable(version)
        assert form is None and problem is not None
        assert catalogue.form_title(version, "en") == "Expense claim"
        assert catalogue.form_title(version, "zh-CN") == "费用报销"
        # Still a DefinitionError for callers that already handle those.
        assert isinstance(caught.value, store.DefinitionError)
    logged = [r for r in caplog.records if "expense_claim" in r.getMessage()]
    assert len(logged) == 1 and "cn_amount" in logged[0].getMessage()


def test_unknown_field_type_is_named(app, demo_org):
    from formwork.forms.field_types import TextType
    from formwork.plugins import current_registry
    from formwork.wiring import build_registry

    class Iban(TextType):
        name = "iban"

    current_registry().add_field_type(Iban())
    version, _ = store.publish(
        {
            "kind": "form",
            "key": "bank",
            "title": {"en": "Bank", "zh-CN": "银行"},
            "fields": [{"key": "account", "type": "iban", "label": {"en": "A", "zh-CN": "账"}}],
        }
    )
    app.extensions["formwork.plugins"] = build_registry([], safe_mode=True)
    app.extensions.pop("formwork.definitions.compiled", None)
    with app.test_request_context(headers={"Accept-Language": "en"}):
        _form, problem = catalogue.form_or_unavailable(version)
        assert problem is not None and problem.missing_field_types == ["iban"]
        assert "needs plugin field type iban" in problem.reason()
        assert catalogue.form_title(version) in ("Bank", "银行")
