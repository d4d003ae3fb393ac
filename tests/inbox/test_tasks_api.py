"""The task API with bearer tokens: list, read, decide, 409/404/422, decided, requests, withdraw, history."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from formwork.db_types import utcnow
from formwork.extensions import db
from formwork.workflow.models import OPEN, Task


def open_task_id(record_id: int) -> int:
    return db.session.scalar(
        select(Task.id)
        .where(Task.record_id == record_id, Task.status == OPEN, Task.kind == "approval")
        .order_by(Task.id)
    )


def test_list_is_paginated_with_counts_and_waited_time(client, bearer, submit):
    older = submit("alice", reason="Old trip")
    submit("frank", reason="New trip")
    submit("erin", reason="Not bob's")
    db.session.execute(
        update(Task)
        .where(Task.record_id == older.id)
        .values(created_at=utcnow() - timedelta(hours=5), due_at=utcnow() - timedelta(hours=1))
    )
    db.session.commit()
    bob = bearer("bob")
    body = client.get("/api/tasks", headers=bob).get_json()
    assert set(body) >= {"items", "page", "per_page", "total"}
    assert body["total"] == 2 and body["counts"] == {"open": 2, "overdue": 1}
    first = body["items"][0]
    assert first["record"]["title"] == "Old trip" and first["overdue"] is True
    assert first["waited_seconds"] >= 5 * 3600 and first["waited"] == "5 hours"
    assert first["step"] == {"key": "department_head", "name": "Department head approval", "round": 1}
    assert [
        i["record"]["title"] for i in client.get("/api/tasks?sort=newest", headers=bob).get_json()["items"]
    ] == ["New trip", "Old trip"]
    assert [
        i["record"]["title"] for i in client.get("/api/tasks?q=old", headers=bob).get_json()["items"]
    ] == ["Old trip"]
    assert client.get("/api/tasks?overdue=true", headers=bob).get_json()["total"] == 1
    paged = client.get("/api/tasks?per_page=1&page=2", headers=bob).get_json()
    assert paged["total"] == 2 and [i["record"]["title"] for i in paged["items"]] == ["New trip"]
    assert client.get("/api/tasks?sort=sideways", headers=bob).status_code == 400
    assert client.get("/api/tasks").status_code == 401


def test_decision_via_api_then_409_on_the_second(client, bearer, submit, demo_org):
    record = submit("alice")
    task_id = open_task_id(record.id)
    bob = bearer("bob")
    detail = client.get(f"/api/tasks/{task_id}", headers=bob).get_json()
    assert detail["record"]["data"]["reason"] == "Customer workshop" and detail["return_steps"] == []
    response = client.post(
        f"/api/tasks/{task_id}/decision", json={"action": "approve", "comment": "OK"}, headers=bob
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["task"]["status"] == "approved" and body["record"]["status"] == "in_review"
    assert body["process"]["current"][0]["key"] == "finance_review"
    assert body["process"]["current"][0]["holders"] == [demo_org["carol"].display_name]
    again = client.post(f"/api/tasks/{task_id}/decision", json={"action": "approve"}, headers=bob)
    assert again.status_code == 409 and again.get_json() == {"error": "already decided"}
    decided = client.get("/api/tasks/decided", headers=bob).get_json()
    assert decided["total"] == 1 and decided["items"][0]["decision"] == "approve"


def test_404_for_someone_elses_task(client, bearer, submit):
    record = submit("alice")
    task_id = open_task_id(record.id)
    for who in ("frank", "carol"):
        assert client.get(f"/api/tasks/{task_id}", headers=bearer(who)).status_code == 404
        response = client.post(
            f"/api/tasks/{task_id}/decision", json={"action": "approve"}, headers=bearer(who)
        )
        assert response.status_code == 404 and response.get_json() == {"error": "task not found"}
    assert (
        client.post(
            "/api/tasks/999999/decision", json={"action": "approve"}, headers=bearer("bob")
        ).status_code
        == 404
    )


def test_422s_explain_what_is_wrong(client, bearer, submit, demo_org):
    from formwork.org.models import User

    record = submit("alice")
    task_id = open_task_id(record.id)
    bob = bearer("bob")

    def post(body):
        response = client.post(f"/api/tasks/{task_id}/decision", json=body, headers=bob)
        assert response.status_code == 422, (body, response.status_code, response.get_json())
        return response.get_json()["error"]

    assert post({"action": "sign"}).startswith("action: must be one of: approve, reject")
    assert "comment" in post({"action": "reject"})
    assert "Choose a person" in post({"action": "transfer"})
    assert 'no user "nobody"' in post({"action": "transfer", "to_user": "nobody"})
    db.session.execute(update(User).where(User.username == "frank").values(active=False))
    db.session.commit()
    assert "no longer active" in post({"action": "transfer", "to_user": "frank"})
    assert "before, after" in post({"action": "add_signer", "to_user": "carol", "position": "sideways"})
    assert "earlier step" in post({"action": "return", "comment": "back", "step": "cashier"})
    extra = client.post(f"/api/tasks/{task_id}/decision", json={"action": "approve", "extra": 1}, headers=bob)
    assert extra.status_code == 422 and extra.get_json()["field"] == "extra"
    # Nothing happened: the task is still open with bob.
    assert open_task_id(record.id) == task_id


def test_transfer_by_user_name_and_return_to_an_earlier_step(client, bearer, submit, demo_org):
    record = submit("alice")
    bob_task = open_task_id(record.id)
    assert (
        client.post(
            f"/api/tasks/{bob_task}/decision", json={"action": "approve"}, headers=bearer("bob")
        ).status_code
        == 200
    )
    carol_task = open_task_id(record.id)
    steps = client.get(f"/api/tasks/{carol_task}", headers=bearer("carol")).get_json()["return_steps"]
    assert steps == [{"key": "department_head", "name": "Department head approval"}]
    response = client.post(
        f"/api/tasks/{carol_task}/decision",
        json={"action": "return", "step": "department_head", "comment": "Check the dates"},
        headers=bearer("carol"),
    )
    assert response.status_code == 200
    again = open_task_id(record.id)
    assert db.session.get(Task, again).assignee_id == demo_org["bob"].id
    response = client.post(
        f"/api/tasks/{again}/decision", json={"action": "transfer", "to_user": "dave"}, headers=bearer("bob")
    )
    assert response.status_code == 200 and response.get_json()["task"]["status"] == "transferred"
    dave_tasks = client.get("/api/tasks", headers=bearer("dave")).get_json()["items"]
    assert [t["record"]["id"] for t in dave_tasks] == [record.id]


def test_withdraw_and_history_with_trail(client, bearer, submit):
    record = submit("alice")
    alice = bearer("alice")
    assert client.post(f"/api/records/{record.id}/withdraw", headers=bearer("frank")).status_code == 404
    route = client.get(f"/api/records/{record.id}/route", headers=alice).get_json()
    assert [(n["key"], n["state"]) for n in route["nodes"]][:2] == [
        ("department_head", "active"),
        ("finance_review", "pending"),
    ]
    response = client.post(f"/api/records/{record.id}/withdraw", headers=alice)
    assert response.status_code == 200 and response.get_json()["record"]["status"] == "withdrawn"
    assert client.post(f"/api/records/{record.id}/withdraw", headers=alice).status_code == 409
    history = client.get(f"/api/records/{record.id}/history", headers=alice).get_json()["items"]
    kinds = [(item["kind"], item["action"]) for item in history]
    assert (
        ("change", "created") in kinds
        and ("approval", "submitted") in kinds
        and ("approval", "withdraw") in kinds
    )
    assert (
        kinds.index(("change", "created"))
        < kinds.index(("approval", "submitted"))
        < kinds.index(("approval", "withdraw"))
    )
    # Once bob has approved, alice can no longer withdraw.
    other = submit("alice", reason="Second")
    client.post(
        f"/api/tasks/{open_task_id(other.id)}/decision", json={"action": "approve"}, headers=bearer("bob")
    )
    refused = client.post(f"/api/records/{other.id}/withdraw", headers=alice)
    assert refused.status_code == 409 and "already acted" in refused.get_json()["error"]


def test_requests_show_where_each_stands(client, bearer, submit, demo_org):
    record = submit("alice", reason="Where is it")
    body = client.get("/api/requests", headers=bearer("alice")).get_json()
    assert body["total"] == 1
    item = body["items"][0]
    assert item["record"]["id"] == record.id and item["status"] == "in_review"
    assert item["current"] == [
        {
            "step": {"key": "department_head", "name": "Department head approval"},
            "holders": [{"id": demo_org["bob"].id, "display_name": demo_org["bob"].display_name}],
        }
    ]
    assert client.get("/api/requests", headers=bearer("bob")).get_json()["total"] == 0


def test_delegate_answers_with_an_opinion_and_the_task_comes_back(client, bearer, login, submit, demo_org):
    record = submit("alice")
    task_id = open_task_id(record.id)
    response = client.post(
        f"/api/tasks/{task_id}/decision",
        json={"action": "delegate", "to_user": "erin"},
        headers=bearer("bob"),
    )
    assert response.status_code == 200 and response.get_json()["task"]["status"] == "waiting"
    assert client.get("/api/tasks", headers=bearer("bob")).get_json()["total"] == 0
    erin_task = client.get("/api/tasks", headers=bearer("erin")).get_json()["items"][0]
    detail = client.get(f"/api/tasks/{erin_task['id']}", headers=bearer("erin")).get_json()
    assert detail["actions"] == ["approve", "reject", "comment"]
    login(client, "erin")
    html = client.get(f"/tasks/{erin_task['id']}").get_data(as_text=True)
    assert "asked for your opinion" in html and 'value="transfer"' not in html
    refused = client.post(
        f"/api/tasks/{erin_task['id']}/decision",
        json={"action": "transfer", "to_user": "dave"},
        headers=bearer("erin"),
    )
    assert refused.status_code == 422
    assert (
        client.post(
            f"/api/tasks/{erin_task['id']}/decision",
            json={"action": "approve", "comment": "Looks right"},
            headers=bearer("erin"),
        ).status_code
        == 200
    )
    back = client.get("/api/tasks", headers=bearer("bob")).get_json()["items"]
    assert [t["id"] for t in back] == [task_id]


def test_copies_for_information_are_not_in_the_inbox(client, bearer, login, submit, demo_org):
    record = submit("alice")
    for username in ("bob", "carol"):
        client.post(
            f"/api/tasks/{open_task_id(record.id)}/decision",
            json={"action": "approve"},
            headers=bearer(username),
        )
    copy = db.session.scalar(select(Task).where(Task.record_id == record.id, Task.kind == "cc"))
    assert copy is not None and copy.assignee_id == demo_org["carol"].id  # the cashier step copies finance
    assert client.get("/api/tasks", headers=bearer("carol")).get_json()["total"] == 0
    assert client.get(f"/api/tasks/{copy.id}", headers=bearer("carol")).get_json()["actions"] == ["comment"]
    login(client, "carol")
    html = client.get(f"/tasks/{copy.id}").get_data(as_text=True)
    assert "A copy for your information" in html and 'value="approve"' not in html
    assert 'href="/tasks/' not in client.get(f"/records/{record.id}").get_data(as_text=True)
