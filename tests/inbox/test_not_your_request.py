"""A task id is no key: someone else's task on a request one cannot see is a 404 everywhere, and an
account that has left acts on nothing, even with its own task id."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from formwork.extensions import db
from formwork.workflow import service
from formwork.workflow.errors import NotYourTask
from formwork.workflow.models import OPEN, Task


def open_task(record_id: int) -> Task:
    return db.session.scalar(
        select(Task).where(Task.record_id == record_id, Task.status == OPEN, Task.kind == "approval")
    )


def test_a_task_id_of_another_persons_request_is_404_in_the_api(client, bearer, submit, demo_org):
    mine = submit("alice", reason="Alice's trip")
    assert (
        client.post(
            f"/api/tasks/{open_task(mine.id).id}/decision", json={"action": "approve"}, headers=bearer("bob")
        ).status_code
        == 200
    )
    carol_task = open_task(mine.id)  # carol holds a task on alice's claim
    assert carol_task.assignee_id == demo_org["carol"].id
    other = submit("frank", reason="Frank's hotel")  # bob's task on frank's claim: nothing of carol's
    foreign = open_task(other.id)
    carol = bearer("carol")
    for method, path, body in (
        ("get", f"/api/tasks/{foreign.id}", None),
        ("post", f"/api/tasks/{foreign.id}/decision", {"action": "approve"}),
        (
            "post",
            f"/api/tasks/{foreign.id}/decision",
            {"action": "reject"},
        ),  # a bad body reveals nothing either
        ("post", f"/api/tasks/{foreign.id}/decision", {"action": "recall"}),
        ("get", f"/api/records/{other.id}", None),
    ):
        response = getattr(client, method)(path, json=body, headers=carol)
        assert response.status_code == 404, (path, body, response.status_code)
        assert "Frank" not in response.get_data(as_text=True)
    db.session.expire_all()
    assert open_task(other.id).id == foreign.id and foreign.assignee_id == demo_org["bob"].id
    # Her own task still works.
    assert client.get(f"/api/tasks/{carol_task.id}", headers=carol).status_code == 200


def test_a_task_id_of_another_persons_request_is_404_in_the_browser(client, login, submit, demo_org):
    other = submit("frank", reason="Frank's hotel")
    foreign = open_task(other.id)
    login(client, "carol")
    assert client.get(f"/tasks/{foreign.id}").status_code == 404
    token = re.search(
        r'name="csrf-token" content="([^"]+)"', client.get("/inbox").get_data(as_text=True)
    ).group(1)
    for action in ("approve", "recall", "comment"):
        response = client.post(
            f"/tasks/{foreign.id}/decision", data={"action": action, "comment": "x", "csrf_token": token}
        )
        assert response.status_code == 404 and "Frank" not in response.get_data(as_text=True)
    assert client.get(f"/records/{other.id}").status_code == 404
    db.session.expire_all()
    assert open_task(other.id).status == OPEN


def test_an_account_that_has_left_acts_on_nothing(client, bearer, submit, demo_org):
    record = submit("alice")
    task = open_task(record.id)
    headers = bearer("bob")  # a token made while bob was still here
    bob = demo_org["bob"]
    bob.active = False
    db.session.commit()
    with pytest.raises(NotYourTask):
        service.decide(task.id, bob, "approve")
    with pytest.raises(NotYourTask):
        service.mark_read(task.id, bob)
    assert client.post(
        f"/api/tasks/{task.id}/decision", json={"action": "approve"}, headers=headers
    ).status_code in (401, 404)
    db.session.expire_all()
    assert open_task(record.id).id == task.id and open_task(record.id).status == OPEN
