"""The definitions API: roles, validate/publish with the 422 shape, versions, diff, schema."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from formwork.extensions import db

TRIP_V2_CHANGE = ("visible_when: category == 'travel'", "visible_when: category == 'other'")


@pytest.fixture
def admin(demo_org, bearer):
    return bearer("admin")


@pytest.fixture
def analyst(demo_org, bearer):
    """erin, an employee, given only the analyst role."""
    from formwork.org.models import Role, RoleAssignment

    role = db.session.scalar(select(Role).where(Role.key == "analyst"))
    db.session.add(RoleAssignment(user=demo_org["erin"], role=role))
    db.session.commit()
    return bearer("erin")


def _post(client, url, headers, source, name="trip.yaml"):
    return client.post(url, json={"source": source, "name": name}, headers=headers)


def test_anonymous_callers_get_401(client):
    for url in ("/api/definitions", "/api/definitions/schema/form", "/api/definitions/form/trip/versions"):
        response = client.get(url)
        assert response.status_code == 401 and "error" in response.get_json()
    response = client.post("/api/definitions/validate", json={"source": "kind: form"})
    # Not a CSRF refusal: an API write without credentials asks for them.
    assert response.status_code == 401 and response.get_json() == {"error": "authentication required"}
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_employees_get_403(client, demo_org, bearer):
    response = client.get("/api/definitions", headers=bearer("alice"))
    assert response.status_code == 403 and "error" in response.get_json()
    response = _post(client, "/api/definitions/publish", bearer("alice"), "kind: form")
    assert response.status_code == 403


def test_validate_valid_and_invalid(client, admin, trip_yaml):
    response = _post(client, "/api/definitions/validate", admin, trip_yaml)
    assert response.status_code == 200
    assert response.get_json() == {"valid": True, "kind": "form", "key": "trip"}

    broken = trip_yaml.replace("category == 'travel'", "categroy == 'travel'").replace(
        "type: money", "type: cash"
    )
    response = _post(client, "/api/definitions/validate", admin, broken)
    assert response.status_code == 422
    errors = response.get_json()["errors"]
    assert [(e["source"], e["line"], e["pointer"], e["field"]) for e in errors] == [
        ("trip.yaml", 14, "/fields/1/visible_when", "/fields/1/visible_when"),
        ("trip.yaml", 16, "/fields/2/type", "/fields/2/type"),
    ]
    assert all(e["message"] for e in errors)
    assert client.get("/api/definitions", headers=admin).get_json() == {"items": []}


def test_malformed_yaml_and_json_are_422_with_line(client, admin):
    response = _post(client, "/api/definitions/validate", admin, "kind: form\nkey: [\n")
    assert response.status_code == 422
    [error] = response.get_json()["errors"]
    assert error["line"] is not None and error["message"].startswith("malformed YAML")
    response = _post(client, "/api/definitions/validate", admin, '{"kind": "form",\n "key": }', name="x.json")
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["line"] == 2


def test_bad_request_bodies(client, admin):
    assert client.post("/api/definitions/validate", data="kind: form", headers=admin).status_code == 415
    response = client.post("/api/definitions/validate", json={"name": "x.yaml"}, headers=admin)
    assert response.status_code == 400 and "source" in response.get_json()["error"]
    response = client.post("/api/definitions/validate", json=["x"], headers=admin)
    assert response.status_code == 400


def test_publish_versions_and_diff(client, analyst, trip_yaml):
    response = _post(client, "/api/definitions/publish", analyst, trip_yaml)
    assert response.status_code == 201
    body = response.get_json()
    assert (body["created"], body["kind"], body["key"], body["version"]) == (True, "form", "trip", 1)

    response = _post(client, "/api/definitions/publish", analyst, trip_yaml)
    assert response.status_code == 200 and response.get_json()["created"] is False

    response = _post(client, "/api/definitions/publish", analyst, trip_yaml.replace(*TRIP_V2_CHANGE))
    assert response.status_code == 201 and response.get_json()["version"] == 2

    items = client.get("/api/definitions", headers=analyst).get_json()["items"]
    assert [(i["key"], i["version"], i["title"]["en"]) for i in items] == [("trip", 2, "Trip request")]

    versions = client.get("/api/definitions/form/trip/versions", headers=analyst).get_json()["items"]
    assert [v["version"] for v in versions] == [1, 2]

    one = client.get("/api/definitions/form/trip/versions/1", headers=analyst).get_json()
    assert one["content"]["fields"][1]["visible_when"] == "category == 'travel'"
    assert one["content"]["fields"][2]["min"] == "0.01"  # exact decimal text, never a float

    diff = client.get("/api/definitions/form/trip/diff?from=1&to=2", headers=analyst).get_json()
    assert diff["changed"] == [
        {"pointer": "/fields/1/visible_when", "from": "category == 'travel'", "to": "category == 'other'"}
    ]
    assert diff["added"] == [] and diff["removed"] == []


def test_publish_refuses_invalid_with_422(client, admin, trip_yaml):
    response = _post(
        client, "/api/definitions/publish", admin, trip_yaml.replace("type: money", "type: cash")
    )
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["pointer"] == "/fields/2/type"
    assert client.get("/api/definitions/form/trip/versions", headers=admin).status_code == 404


def test_publish_json_content_object(client, admin, form):
    response = client.post(
        "/api/definitions/publish", json={"content": form, "name": "trip.json"}, headers=admin
    )
    assert response.status_code == 201
    assert response.get_json()["source"] == "trip.json"


def test_not_found_answers(client, admin, trip_yaml):
    _post(client, "/api/definitions/publish", admin, trip_yaml)
    assert client.get("/api/definitions/form/trip/versions/9", headers=admin).status_code == 404
    assert client.get("/api/definitions/report/trip/versions", headers=admin).status_code == 404
    assert client.get("/api/definitions/form/nothing/versions", headers=admin).status_code == 404
    assert client.get("/api/definitions/form/trip/diff?from=1&to=5", headers=admin).status_code == 404
    assert client.get("/api/definitions/form/trip/diff?from=x", headers=admin).status_code == 400
    assert client.get("/api/definitions/schema/report", headers=admin).status_code == 404


def test_schema_endpoint(client, admin):
    response = client.get("/api/definitions/schema/form", headers=admin)
    assert response.status_code == 200
    schema = response.get_json()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["properties"]["kind"] == {
        "const": "form",
        "description": schema["properties"]["kind"]["description"],
    }


def test_browser_session_needs_the_csrf_token(client, demo_org, login, csrf_token, trip_yaml):
    login(client, "admin")
    body = {"source": trip_yaml, "name": "trip.yaml"}
    assert client.post("/api/definitions/validate", json=body).status_code == 400
    token = csrf_token(client, "/")
    response = client.post("/api/definitions/validate", json=body, headers={"X-CSRFToken": token})
    assert response.status_code == 200
