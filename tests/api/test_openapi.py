"""The OpenAPI document is built from the declarations that check requests, so it cannot drift:
it is valid OpenAPI 3.1, covers every /api route, and real answers of the main calls fit it."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from openapi_schema_validator import OAS31Validator
from openapi_spec_validator import validate as validate_openapi
from test_records_api import claim, post_json

from formwork.api.openapi import UndeclaredRoute, document

DEFINITIONS = Path(__file__).resolve().parents[2] / "definitions"
_RULE = re.compile(r"<(?:[a-z]+:)?([a-z_]+)>")


@pytest.fixture
def spec(client):
    response = client.get("/api/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    return response.get_json()


def test_the_document_is_valid_openapi_31(spec):
    assert spec["openapi"] == "3.1.0"
    validate_openapi(spec)
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def test_every_api_rule_is_documented_and_nothing_else(app, spec):
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/"):
            path = _RULE.sub(r"{\1}", rule.rule)
            routes |= {(method.lower(), path) for method in rule.methods - {"HEAD", "OPTIONS"}}
    documented = {(method, path) for path, item in spec["paths"].items() for method in item}
    assert documented == routes


def test_a_route_without_a_declaration_fails_the_document(app):
    def undeclared_for_test():  # pragma: no cover - never called
        return ""

    app.add_url_rule("/api/undeclared-for-test", "api.undeclared_for_test", undeclared_for_test)
    with app.test_request_context(), pytest.raises(UndeclaredRoute, match="undeclared-for-test"):
        document()


def test_what_had_drifted_is_now_declared_and_enforced(client, spec, published, bearer):
    patch = spec["paths"]["/api/records/{record_id}"]["patch"]["requestBody"]["content"]["application/json"]
    assert "lock_version" in patch["schema"]["properties"]
    assert "client_token" not in patch["schema"]["properties"]
    create = spec["paths"]["/api/forms/{key}/records"]["post"]
    header = next(p for p in create["parameters"] if p["name"] == "Idempotency-Key")
    assert (header["in"], header["schema"]["maxLength"], header["schema"]["minLength"]) == ("header", 64, 1)
    upload = spec["paths"]["/api/attachments"]["post"]["requestBody"]["content"]
    assert set(upload) == {"multipart/form-data"}
    assert set(upload["multipart/form-data"]["schema"]["required"]) == {"file", "form", "field"}
    unread = next(
        p for p in spec["paths"]["/api/notifications"]["get"]["parameters"] if p["name"] == "unread"
    )
    assert unread["schema"] == {"type": "boolean"}
    # ... and what is declared is what is checked.
    auth = bearer("alice")
    assert client.get("/api/notifications?unread=true", headers=auth).status_code == 200
    refused = client.get("/api/notifications?unread=maybe", headers=auth)
    assert refused.status_code == 400
    assert refused.get_json()["errors"] == [{"field": "unread", "message": "must be true or false"}]
    twice = client.get("/api/records?page=1&page=2", headers=auth)
    assert twice.status_code == 400 and twice.get_json()["field"] == "page"
    missing = client.post(
        "/api/attachments", headers=auth, content_type="multipart/form-data", data={"form": "expense_claim"}
    )
    assert missing.status_code == 400
    assert {e["field"] for e in missing.get_json()["errors"]} == {"file", "field"}


# ---- real answers fit the document ---------------------------------------------------------------


class Conformance:
    """Checks answers against the document: a documented status, its content type and its schema."""

    def __init__(self, spec):
        self.spec = spec
        self.checked: set[tuple[str, str, int]] = set()

    def __call__(self, response, method: str, template: str, status: int):
        assert response.status_code == status, (
            method,
            template,
            response.status_code,
            response.get_data()[:300],
        )
        documented = self.spec["paths"][template][method]["responses"]
        assert str(status) in documented, f"{method.upper()} {template} answered an undocumented {status}"
        content = documented[str(status)]["content"]
        media_types = set(content)
        if response.mimetype not in media_types:
            assert "*/*" in media_types, (
                f"{method.upper()} {template}: {response.mimetype} not in {media_types}"
            )
        if response.mimetype == "application/json":
            schema = {**content["application/json"]["schema"], "components": self.spec["components"]}
            validator = OAS31Validator(schema, format_checker=OAS31Validator.FORMAT_CHECKER)
            errors = list(validator.iter_errors(response.get_json()))
            assert not errors, f"{method.upper()} {template} {status}: " + "; ".join(
                f"{list(e.absolute_path)}: {e.message[:200]}" for e in errors[:5]
            )
        self.checked.add((method, template, status))
        return response.get_json(silent=True)


@pytest.fixture
def world(app, demo_org):
    """Every demo definition published: forms and their routes."""
    from formwork.definitions import store

    store.publish_path(DEFINITIONS / "forms")
    store.publish_path(DEFINITIONS / "routes")
    return demo_org


def test_real_answers_of_the_main_calls_fit_the_document(client, spec, world, bearer):
    fits = Conformance(spec)
    alice, bob, admin = bearer("alice"), bearer("bob"), bearer("admin")
    create = "/api/forms/{key}/records"

    fits(client.get("/api/forms", headers=alice), "get", "/api/forms", 200)
    fits(client.get("/api/forms/expense_claim", headers=alice), "get", "/api/forms/{key}", 200)
    fits(client.get("/api/forms/nope", headers=alice), "get", "/api/forms/{key}", 404)
    fits(client.get("/api/forms"), "get", "/api/forms", 401)

    # Records: a draft, the same request again, an edit, a stale edit, a submission.
    key = {**alice, "Idempotency-Key": "conformance-1"}
    draft = fits(
        post_json(client, "/api/forms/expense_claim/records", {"data": claim()}, key), "post", create, 201
    )
    fits(post_json(client, "/api/forms/expense_claim/records", {"data": claim()}, key), "post", create, 200)
    bad = {"data": claim(lines=[{"date": "2024-01-01", "type": "meals", "amount": "-1"}]), "submit": True}
    fits(post_json(client, "/api/forms/expense_claim/records", bad, alice), "post", create, 422)
    fits(post_json(client, "/api/forms/expense_claim/records", {"submit": 1}, alice), "post", create, 422)
    fits(
        client.post(
            "/api/forms/expense_claim/records", data="{", headers=alice, content_type="application/json"
        ),
        "post",
        create,
        400,
    )
    fits(client.post("/api/forms/expense_claim/records", data="x", headers=alice), "post", create, 415)
    one = "/api/records/{record_id}"
    url = f"/api/records/{draft['id']}"
    edited = fits(
        post_json(
            client, url, {"data": {"reason": "Paper"}, "lock_version": draft["lock_version"]}, alice, "patch"
        ),
        "patch",
        one,
        200,
    )
    fits(
        post_json(
            client, url, {"data": {"reason": "x"}, "lock_version": draft["lock_version"]}, alice, "patch"
        ),
        "patch",
        one,
        409,
    )
    fits(post_json(client, url, {"client_token": "t"}, alice, "patch"), "patch", one, 422)
    fits(post_json(client, url, {"data": {}}, admin, "patch"), "patch", one, 403)
    submitted = fits(
        post_json(
            client, url, {"data": {}, "submit": True, "lock_version": edited["lock_version"]}, alice, "patch"
        ),
        "patch",
        one,
        200,
    )
    assert submitted["status"] == "in_review"
    fits(client.get(url, headers=alice), "get", one, 200)
    fits(client.get(url, headers=bearer("frank")), "get", one, 404)
    fits(client.get("/api/records?status=in_review&per_page=5", headers=alice), "get", "/api/records", 200)
    fits(client.get("/api/records?per_page=1000", headers=alice), "get", "/api/records", 400)
    fits(client.get(f"{url}/history", headers=alice), "get", "/api/records/{record_id}/history", 200)
    fits(client.get(f"{url}/route", headers=alice), "get", "/api/records/{record_id}/route", 200)
    fits(client.get("/api/requests", headers=alice), "get", "/api/requests", 200)
    fits(client.get("/api/requests?status=nope", headers=alice), "get", "/api/requests", 400)

    # Attachments.
    files = "/api/attachments"
    pdf = (io.BytesIO(b"%PDF-1.4\n%%EOF\n"), "receipt.pdf")
    stored = fits(
        client.post(
            files,
            headers=alice,
            content_type="multipart/form-data",
            data={"file": pdf, "form": "expense_claim", "field": "lines[*].receipt"},
        ),
        "post",
        files,
        201,
    )
    fits(client.post(files, headers=alice, json={"form": "x"}), "post", files, 415)
    fits(client.get(f"{files}/{stored['id']}", headers=alice), "get", "/api/attachments/{attachment_id}", 200)
    fits(
        client.get(f"{files}/{stored['id']}/content", headers=alice),
        "get",
        "/api/attachments/{attachment_id}/content",
        200,
    )
    fits(
        client.get(f"{files}/{stored['id']}", headers=bearer("frank")),
        "get",
        "/api/attachments/{attachment_id}",
        404,
    )

    # Bob's task: the list, the task, a bad decision, the decision, the same decision again.
    tasks = fits(client.get("/api/tasks?overdue=false&sort=newest", headers=bob), "get", "/api/tasks", 200)
    task_id = tasks["items"][0]["id"]
    task = f"/api/tasks/{task_id}"
    fits(client.get(task, headers=bob), "get", "/api/tasks/{task_id}", 200)
    fits(client.get(task, headers=alice), "get", "/api/tasks/{task_id}", 404)
    decide = "/api/tasks/{task_id}/decision"
    fits(client.post(f"{task}/decision", json={"action": "sign"}, headers=bob), "post", decide, 422)
    fits(client.post(f"{task}/decision", json={"action": "reject"}, headers=bob), "post", decide, 422)
    fits(
        client.post(f"{task}/decision", json={"action": "approve", "comment": "OK"}, headers=bob),
        "post",
        decide,
        200,
    )
    fits(client.post(f"{task}/decision", json={"action": "approve"}, headers=bob), "post", decide, 409)
    fits(client.get("/api/tasks/decided", headers=bob), "get", "/api/tasks/decided", 200)
    fits(client.get(f"{url}/history", headers=alice), "get", "/api/records/{record_id}/history", 200)

    # Withdrawing another request, notifications, out of office.
    other = fits(
        post_json(client, "/api/forms/expense_claim/records", {"data": claim(), "submit": True}, alice),
        "post",
        create,
        201,
    )
    withdraw = "/api/records/{record_id}/withdraw"
    fits(client.post(f"/api/records/{other['id']}/withdraw", headers=bearer("frank")), "post", withdraw, 404)
    fits(client.post(f"/api/records/{other['id']}/withdraw", headers=alice), "post", withdraw, 200)
    fits(client.post(f"/api/records/{other['id']}/withdraw", headers=alice), "post", withdraw, 409)
    notes = fits(client.get("/api/notifications?unread=1", headers=alice), "get", "/api/notifications", 200)
    if notes["items"]:
        note = f"/api/notifications/{notes['items'][0]['id']}/read"
        fits(client.post(note, headers=alice), "post", "/api/notifications/{notification_id}/read", 200)
    fits(
        client.post("/api/notifications/999999/read", headers=alice),
        "post",
        "/api/notifications/{notification_id}/read",
        404,
    )
    fits(
        client.post("/api/notifications/read-all", headers=alice), "post", "/api/notifications/read-all", 200
    )
    away = "/api/me/out-of-office"
    period = {"delegate": "frank", "starts_at": "2099-01-01", "ends_at": "2099-01-05"}
    saved = fits(client.post(away, json=period, headers=alice), "post", away, 201)
    fits(client.post(away, json={**period, "delegate": "alice"}, headers=alice), "post", away, 422)
    fits(client.post(away, json={"delegate": "frank"}, headers=alice), "post", away, 422)
    fits(client.get(away, headers=alice), "get", away, 200)
    fits(
        client.delete(f"{away}/{saved['id']}", headers=alice),
        "delete",
        "/api/me/out-of-office/{delegation_id}",
        200,
    )
    fits(client.delete(away, headers=alice), "delete", away, 200)

    # Definitions (administrators and analysts).
    defs = "/api/definitions"
    fits(client.get(defs, headers=alice), "get", defs, 403)
    fits(client.get(f"{defs}?kind=route", headers=admin), "get", defs, 200)
    fits(client.get(f"{defs}?kind=report", headers=admin), "get", defs, 400)
    fits(client.get(f"{defs}/schema/form", headers=admin), "get", "/api/definitions/schema/{kind}", 200)
    fits(
        client.get(f"{defs}/form/expense_claim/versions", headers=admin),
        "get",
        "/api/definitions/{kind}/{key}/versions",
        200,
    )
    fits(
        client.get(f"{defs}/form/expense_claim/versions/1", headers=admin),
        "get",
        "/api/definitions/{kind}/{key}/versions/{number}",
        200,
    )
    diff = "/api/definitions/{kind}/{key}/diff"
    fits(client.get(f"{defs}/form/expense_claim/diff?from=1&to=1", headers=admin), "get", diff, 200)
    fits(client.get(f"{defs}/form/expense_claim/diff?from=1", headers=admin), "get", diff, 400)
    source = (DEFINITIONS / "forms" / "expense_claim.yaml").read_text("utf-8")
    body = {"source": source, "name": "expense_claim.yaml"}
    fits(client.post(f"{defs}/validate", json=body, headers=admin), "post", "/api/definitions/validate", 200)
    fits(
        client.post(f"{defs}/validate", json={"source": "kind: form\nkey: ["}, headers=admin),
        "post",
        "/api/definitions/validate",
        422,
    )
    fits(client.post(f"{defs}/publish", json=body, headers=admin), "post", "/api/definitions/publish", 200)
    fits(client.get("/api/openapi.json"), "get", "/api/openapi.json", 200)

    assert len({(method, path) for method, path, _ in fits.checked}) >= 28
