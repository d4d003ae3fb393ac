"""Decisions racing on one process give exactly one transition (real threads, each with its own session)."""

from __future__ import annotations

import threading

from sqlalchemy import func, select
from workflow_helpers import simple_route, step, submit, task_of, user, waiting_for

from formwork.extensions import db
from formwork.org.models import User
from formwork.workflow import service
from formwork.workflow.errors import TaskClosed
from formwork.workflow.models import Task, TrailEntry

THREE = ({"user": "carol"}, {"user": "erin"}, {"user": "ivan"})


def race(app, calls: list[tuple[int, int]]) -> list[str]:
    """Run ``decide(task_id, user_id, "approve")`` for every pair at the same moment; outcomes in order."""
    barrier = threading.Barrier(len(calls))
    outcomes: list[str] = [""] * len(calls)

    def worker(index: int, task_id: int, user_id: int) -> None:
        with app.app_context():
            try:
                person = db.session.get(User, user_id)
                barrier.wait(timeout=10)
                service.decide(task_id, person, "approve")
                outcomes[index] = "ok"
            except TaskClosed:
                outcomes[index] = "closed"
            except Exception as exc:  # reported in the assertion below
                outcomes[index] = f"error: {exc!r}"
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker, args=(i, t, u)) for i, (t, u) in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    db.session.expire_all()
    return outcomes


def count(record, action: str) -> int:
    return db.session.scalar(
        select(func.count(TrailEntry.id)).where(
            TrailEntry.record_id == record.id, TrailEntry.action == action
        )
    )


def test_double_click_gives_one_transition(app, expense_route):
    record = submit("alice")
    task = task_of(record, "bob")
    bob = user("bob").id
    db.session.commit()
    outcomes = race(app, [(task.id, bob), (task.id, bob)])
    assert sorted(outcomes) == ["closed", "ok"], outcomes
    assert count(record, "approve") == 1
    assert waiting_for(record) == ["carol"]
    assert (
        db.session.scalar(
            select(func.count(Task.id)).where(Task.record_id == record.id, Task.step_key == "finance")
        )
        == 1
    )


def test_two_approvers_of_a_one_step_at_once(app, publish_route):
    publish_route(
        simple_route(
            step("sign", {"user": "carol"}, {"user": "erin"}),
            step("pay", {"user": "grace"}),
            no_approver="refuse",
        )
    )
    record = submit("alice")
    calls = [(task_of(record, name).id, user(name).id) for name in ("carol", "erin")]
    db.session.commit()
    outcomes = race(app, calls)
    assert sorted(outcomes) == ["closed", "ok"], outcomes
    assert count(record, "step_approved") == 1
    assert waiting_for(record) == ["grace"]


def test_k_of_n_approvals_arriving_together_complete_once(app, publish_route):
    publish_route(
        simple_route(
            step("vote", *THREE, mode="k_of_n", k=2), step("pay", {"user": "grace"}), no_approver="refuse"
        )
    )
    record = submit("alice")
    calls = [(task_of(record, name).id, user(name).id) for name in ("carol", "erin", "ivan")]
    db.session.commit()
    outcomes = race(app, calls)
    assert sorted(outcomes) == ["closed", "ok", "ok"], outcomes
    assert count(record, "step_approved") == 1
    assert waiting_for(record) == ["grace"]
    assert (
        db.session.scalar(
            select(func.count(Task.id)).where(Task.record_id == record.id, Task.step_key == "pay")
        )
        == 1
    )


# ---- over real sockets: the application in a threaded HTTP server, on PostgreSQL -----------------


def _post_in_parallel(
    base_url: str, path: str, headers: dict[str, str], body: bytes, count: int
) -> list[int]:
    """POST the same request from ``count`` threads at the same moment, each on its own connection."""
    import http.client
    from urllib.parse import urlsplit

    address = urlsplit(base_url)
    barrier = threading.Barrier(count)
    statuses: list[int] = [0] * count

    def send(index: int) -> None:
        connection = http.client.HTTPConnection(address.hostname, address.port, timeout=60)
        try:
            connection.connect()  # both sockets are open before either request is written
            barrier.wait(timeout=10)
            connection.request("POST", path, body=body, headers=headers)
            statuses[index] = connection.getresponse().status
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)
    return statuses


def test_two_http_approvals_of_one_task_at_once_on_postgres(app, expense_route):
    import json

    import pytest
    from werkzeug.serving import make_server

    from formwork.org.tokens import create_token
    from formwork.workflow.models import Process

    if db.engine.dialect.name != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite lets one writer in at a time, so two requests never truly race")
    record = submit("alice")
    task = task_of(record, "bob")
    db.session.commit()
    token = create_token(user("bob"), "race")
    process = db.session.scalar(select(Process).where(Process.record_id == record.id))
    version_before = process.lock_version
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        statuses = _post_in_parallel(
            f"http://127.0.0.1:{server.server_port}",
            f"/api/tasks/{task.id}/decision",
            {"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            json.dumps({"action": "approve"}).encode(),
            2,
        )
    finally:
        server.shutdown()
        thread.join(timeout=10)
    assert sorted(statuses) == [200, 409], statuses
    db.session.expire_all()
    assert count(record, "approve") == 1
    assert count(record, "step_approved") == 1
    assert waiting_for(record) == ["carol"]
    assert (
        db.session.scalar(
            select(func.count(Task.id)).where(Task.record_id == record.id, Task.step_key == "finance")
        )
        == 1
    )
    assert db.session.get(Process, process.id).lock_version == version_before + 1  # moved once
