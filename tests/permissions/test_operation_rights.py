"""Operation rights on request paths: ``create`` (the form as a whole) and ``print`` (a record).

A new version of the demo's definition for every form takes ``create`` from everyone and gives
it to department heads, and ``print`` only to department heads and administrators; the pages
and the API then offer, allow and refuse exactly that, and nothing is created on a refusal.
"""

from __future__ import annotations

import copy

from permissions_samples import DEFINITIONS, store_permission
from sqlalchemy import func, select

from formwork.definitions.loader import read_source
from formwork.extensions import db
from formwork.records.models import Record


def _restricted() -> dict:
    content = copy.deepcopy(read_source(DEFINITIONS / "permissions" / "all_forms.yaml").content)
    for grant in content["grants"]:
        if grant["role"] == "everyone":
            grant["operations"] = ["view", "edit"]  # no create, no print
        if grant["role"] == "department_head":
            grant["operations"] = ["view", "print"]
    content["grants"].append({"role": "department_head", "operations": ["create"]})
    return content


def _records() -> int:
    return db.session.scalar(select(func.count()).select_from(Record))


def test_create_is_offered_allowed_and_refused_as_the_definitions_say(enforced, client, login, bearer):
    store_permission(_restricted(), version=2)
    before = _records()
    alice = bearer("alice")
    assert client.get("/api/forms", headers=alice).get_json()["items"] == []
    refused = client.post("/api/forms/expense_claim/records", json={"data": {}}, headers=alice)
    assert refused.status_code == 403
    assert "create" in refused.get_json()["error"]
    assert _records() == before

    bob_forms = client.get("/api/forms", headers=bearer("bob")).get_json()["items"]
    assert {"expense_claim", "purchase_request"} <= {item["key"] for item in bob_forms}

    login(client, "alice")
    page = client.get("/forms", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "/forms/expense_claim/new" not in page
    assert client.get("/forms/expense_claim/new").status_code == 403
    token = client.get("/").get_data(as_text=True).split('name="csrf-token" content="')[1].split('"')[0]
    for path in ("/forms/expense_claim/new", "/forms/expense_claim/evaluate", "/forms/expense_claim/upload"):
        answer = client.post(path, data={"csrf_token": token}, headers={"X-CSRFToken": token})
        assert answer.status_code == 403, path
    assert _records() == before


def test_with_the_demo_definitions_everyone_may_create(enforced, client, bearer):
    keys = {item["key"] for item in client.get("/api/forms", headers=bearer("alice")).get_json()["items"]}
    assert {"expense_claim", "purchase_request"} <= keys


def test_print_needs_the_print_right_on_the_record(enforced, client, login, bearer):
    store_permission(_restricted(), version=2)
    own = enforced["ec_alice_approved"]
    alice = bearer("alice")
    assert client.get(f"/api/records/{own.id}", headers=alice).status_code == 200  # still seen
    refused = client.get(f"/api/records/{own.id}/pdf", headers=alice)
    assert refused.status_code == 403
    assert "print" in refused.get_json()["error"]
    login(client, "alice")
    page = client.get(f"/records/{own.id}/pdf", headers={"Accept-Language": "en"})
    assert page.status_code == 403
    assert "not print it" in page.get_data(as_text=True)
    # bob heads Sales: his department's requests he may print; an administrator prints everything
    printed = client.get(f"/api/records/{own.id}/pdf", headers=bearer("bob"))
    assert printed.status_code == 200 and printed.data.startswith(b"%PDF")
    assert client.get(f"/api/records/{own.id}/pdf", headers=bearer("admin")).status_code == 200
    # outside the scope it stays a 404, never a 403
    assert client.get(f"/api/records/{enforced['ec_erin'].id}/pdf", headers=alice).status_code == 404


def _administered_by_finance() -> dict:
    """Definitions for every form administered by administrators only; expense claims' also by
    finance reviewers (a grant in the expense claim's own definition)."""
    content = copy.deepcopy(read_source(DEFINITIONS / "permissions" / "all_forms.yaml").content)
    content["grants"] = [g for g in content["grants"] if g["role"] != "analyst"]
    return content


def _route_of(form: str) -> dict:
    route = copy.deepcopy(read_source(DEFINITIONS / "routes" / f"{form}.yaml").content)
    route["title"] = {"en": "Changed", "zh-CN": "已修改"}
    return route


def test_administer_decides_who_checks_and_publishes_definitions(enforced, client, bearer):
    store_permission(_administered_by_finance(), version=2)
    claims = copy.deepcopy(read_source(DEFINITIONS / "permissions" / "expense_claim.yaml").content)
    claims["grants"].append({"role": "finance_reviewer", "operations": ["administer"]})
    store_permission(claims, version=2)

    carol, alice, admin = bearer("carol"), bearer("alice"), bearer("admin")
    assert client.get("/api/definitions", headers=alice).status_code == 403
    assert client.get("/api/definitions", headers=carol).status_code == 200
    mine = client.post(
        "/api/definitions/validate", json={"content": _route_of("expense_claim")}, headers=carol
    )
    assert mine.status_code == 200, mine.get_json()
    other = client.post(
        "/api/definitions/publish", json={"content": _route_of("purchase_request")}, headers=carol
    )
    assert other.status_code == 403
    everyone = copy.deepcopy(_administered_by_finance())
    refused = client.post("/api/definitions/publish", json={"content": everyone}, headers=carol)
    assert refused.status_code == 403  # a definition for every form needs a grant for every form
    published = client.post(
        "/api/definitions/publish", json={"content": _route_of("purchase_request")}, headers=admin
    )
    assert published.status_code == 201, published.get_json()


def test_administrators_administer_whatever_the_definitions_say(enforced, client, bearer):
    locked = _administered_by_finance()
    for grant in locked["grants"]:
        grant["operations"] = [op for op in grant["operations"] if op != "administer"]
    store_permission(locked, version=2)
    admin = bearer("admin")
    assert client.get("/api/definitions", headers=admin).status_code == 200
    answer = client.post(
        "/api/definitions/publish", json={"content": _route_of("expense_claim")}, headers=admin
    )
    assert answer.status_code == 201, answer.get_json()
