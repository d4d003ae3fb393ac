"""The permission request (权限申请, PRODUCT.md scenario 5) end to end through the API, on the shipped
definitions: alice asks for a role with a reason and an end date, her head (bob) and the security owner
(admin, in the demo) approve, she holds the role at once — her very next request sees it — and when the
end date has passed the due work takes it back."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select
from workflow_helpers import ROOT, user

from formwork import business_time
from formwork.definitions import store
from formwork.extensions import db
from formwork.org import grants
from formwork.org.models import RoleAssignment, RoleGrantEvent
from formwork.records.models import Record
from formwork.workflow import route_actions
from formwork.workflow.models import TrailEntry


@pytest.fixture
def demo(org, notes):
    results = store.publish_path(ROOT / "definitions")
    assert {"permission_request"} <= {r.definition.key for r in results if r.definition.kind == "route"}
    return org


def ask(client, auth, **data):
    values = {
        "role": "analyst",
        "reason": "Maintain the month-end close forms",
        "valid_until": (business_time.today() + timedelta(days=30)).isoformat(),
        **data,
    }
    return client.post(
        "/api/forms/permission_request/records", json={"data": values, "submit": True}, headers=auth
    )


def task_for(client, auth, record_id: int) -> int:
    items = client.get("/api/tasks?form=permission_request", headers=auth).get_json()["items"]
    found = [item["id"] for item in items if item["record"]["id"] == record_id]
    assert found, f"no task on record {record_id} in {items}"
    return found[0]


def approve(client, auth, record_id: int):
    task_id = task_for(client, auth, record_id)
    return client.post(f"/api/tasks/{task_id}/decision", json={"action": "approve"}, headers=auth)


def grant_of(username: str, role: str) -> RoleAssignment | None:
    db.session.expire_all()
    return next((a for a in user(username).role_assignments if a.role.key == role), None)


def test_approved_end_to_end_granting_the_role_then_its_expiry_revokes_it(demo, client, bearer, runner):
    alice, bob, admin = bearer("alice"), bearer("bob"), bearer("admin")
    # Before: alice is no analyst, so the definitions are closed to her.
    assert client.get("/api/definitions", headers=alice).status_code == 403
    until = business_time.today() + timedelta(days=30)
    created = ask(client, alice, valid_until=until.isoformat())
    assert created.status_code == 201, created.get_json()
    record_id = created.get_json()["id"]
    assert created.get_json()["status"] == "in_review"

    # Her head approves: not yet granted.
    assert approve(client, bob, record_id).status_code == 200
    assert grant_of("alice", "analyst") is None
    assert client.get("/api/definitions", headers=alice).status_code == 403

    # The security owner approves: granted in that same decision.
    answer = approve(client, admin, record_id)
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["record"]["status"] == "approved"
    assignment = grant_of("alice", "analyst")
    assert assignment is not None
    assert business_time.as_utc(assignment.expires_at) == grants.end_of(until)
    assert assignment.granted_by_id == user("admin").id
    assert "Maintain the month-end close forms" in (assignment.reason or "")
    # Her very next request (the same token) sees it.
    assert client.get("/api/definitions", headers=alice).status_code == 200
    # The administrators see the grant; the request's trail says what was granted.
    seen = client.get(f"/api/admin/users/{user('alice').id}", headers=admin).get_json()
    assert "analyst" in [g["role"] for g in seen["grants"]]
    history = client.get(f"/api/records/{record_id}/history", headers=alice)
    assert history.status_code == 200
    [granted] = db.session.scalars(
        select(TrailEntry).where(
            TrailEntry.record_id == record_id, TrailEntry.action == route_actions.GRANTED
        )
    ).all()
    assert granted.details["until"] == until.isoformat() and granted.details["role"] == "analyst"

    # The last day is not over: the due work leaves the grant alone.
    result = runner.invoke(args=["due", "run"])
    assert "role grants ended: 0" in result.output, result.output
    assert client.get("/api/definitions", headers=alice).status_code == 200

    # Time passes the end date: `formwork due run` takes the role back, and it no longer counts.
    with time_machine.travel(grants.end_of(until) + timedelta(minutes=1), tick=False):
        assert client.get("/api/definitions", headers=alice).status_code == 403  # ended at once
        result = runner.invoke(args=["due", "run"])
        assert "role grants ended: 1" in result.output, result.output
    assert grant_of("alice", "analyst") is None
    assert client.get("/api/definitions", headers=alice).status_code == 403
    events = db.session.scalars(
        select(RoleGrantEvent.event)
        .where(RoleGrantEvent.user_id == user("alice").id)
        .order_by(RoleGrantEvent.id)
    ).all()
    assert events == ["granted", "expired"]


def test_expire_due_directly(demo, client, bearer):
    alice, bob, admin = bearer("alice"), bearer("bob"), bearer("admin")
    until = business_time.today() + timedelta(days=1)
    record_id = ask(client, alice, role="legal_reviewer", valid_until=until.isoformat()).get_json()["id"]
    approve(client, bob, record_id)
    approve(client, admin, record_id)
    assert grant_of("alice", "legal_reviewer") is not None
    assert grants.expire_due(grants.end_of(until) - timedelta(seconds=1)) == 0
    assert grants.expire_due(grants.end_of(until)) == 1
    db.session.commit()
    assert grant_of("alice", "legal_reviewer") is None


def test_a_rejection_grants_nothing(demo, client, bearer):
    alice, bob = bearer("alice"), bearer("bob")
    record_id = ask(client, alice).get_json()["id"]
    task_id = task_for(client, bob, record_id)
    answer = client.post(
        f"/api/tasks/{task_id}/decision", json={"action": "reject", "comment": "Not your job"}, headers=bob
    )
    assert answer.status_code == 200
    assert db.session.get(Record, record_id).status == "rejected"
    assert grant_of("alice", "analyst") is None


@pytest.mark.parametrize(
    "data, field",
    [
        ({"valid_until": None}, "valid_until"),
        ({"reason": ""}, "reason"),
        ({"role": "administrator"}, "role"),  # not a role one may ask for
        ({"valid_until": "today"}, "valid_until"),
        ({"valid_until": "2020-01-01"}, "valid_until"),  # past
        ({"valid_until": "+400"}, "valid_until"),  # more than a year ahead
    ],
)
def test_bad_requests_are_refused_per_field(demo, client, bearer, data, field):
    if data.get("valid_until") == "today":
        data = {"valid_until": business_time.today().isoformat()}
    elif data.get("valid_until") == "+400":
        data = {"valid_until": (business_time.today() + timedelta(days=400)).isoformat()}
    before = db.session.query(Record).count()
    response = ask(client, bearer("alice"), **data)
    assert response.status_code == 422, response.get_json()
    assert field in str(response.get_json())
    assert db.session.query(Record).count() == before


def test_a_head_asks_the_head_above_and_the_security_owner_cannot_ask_themselves(demo, client, bearer):
    bob = bearer("bob")
    record_id = ask(client, bob, role="cfo").get_json()["id"]
    assert task_for(client, bearer("dave"), record_id)
    refused = ask(client, bearer("admin"), role="cfo")
    assert refused.status_code == 422
    assert grant_of("admin", "cfo") is None
