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
    assert response.get_json() == {"valid": True, "kind": "form", "key": "trip", "warnings": []}

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
    assert response.status_code == 422 and "source" in response.get_json()["error"]
    both = client.post("/api/definitions/validate", json={"source": "k: v", "content": {}}, headers=admin)
    assert both.status_code == 422
    named = client.post("/api/definitions/validate", json={"source": 3, "name": "x" * 201}, headers=admin)
    assert {(e["field"], e["message"]) for e in named.get_json()["errors"]} >= {
        ("source", "must be text"),
        ("name", "must be at most 200 characters"),
    }
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


def test_an_out_of_range_number_in_posted_content_is_a_problem_not_a_crash(client, admin):
    for url in ("/api/definitions/validate", "/api/definitions/publish"):
        response = client.post(url, json={"content": {"kind": "form", "limits": [-3.05e239]}}, headers=admin)
        assert response.status_code == 422
        assert response.get_json()["errors"][0]["field"] == "/limits/0"


def test_the_api_name_never_chooses_the_print_folder(app, client, admin, trip_yaml, tmp_path):
    """A form published through the API reads its print template from FORMWORK_PRINT_DIR only."""
    from formwork.definitions.print_sources import FILES_KEY

    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "forms").mkdir(parents=True)
    (elsewhere / "print").mkdir()
    (elsewhere / "print" / "voucher.html").write_text("<p>FROM THE CALLER'S FOLDER</p>", encoding="utf-8")
    print_dir = tmp_path / "print"
    print_dir.mkdir()
    app.config["FORMWORK_PRINT_DIR"] = str(print_dir)
    source = trip_yaml.rstrip() + "\nprint_template: voucher.html\n"
    name = str(elsewhere / "forms" / "trip.yaml")

    response = _post(client, "/api/definitions/publish", admin, source, name=name)
    assert response.status_code == 422, response.get_json()
    assert "voucher.html" in str(response.get_json())

    (print_dir / "voucher.html").write_text("<p>FROM FORMWORK_PRINT_DIR</p>", encoding="utf-8")
    response = _post(client, "/api/definitions/publish", admin, source, name=name)
    assert response.status_code == 201, response.get_json()
    version = client.get(
        f"/api/definitions/form/trip/versions/{response.get_json()['version']}", headers=admin
    ).get_json()
    assert version["content"][FILES_KEY] == {"voucher.html": "<p>FROM FORMWORK_PRINT_DIR</p>"}
