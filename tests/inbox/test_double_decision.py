"""Two decisions on one task at the same moment (a double click, or two tabs) give one transition."""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from formwork.extensions import db
from formwork.workflow.models import OPEN, Task, TrailEntry


def test_parallel_double_post_gives_one_decision_and_one_409(app, bearer, submit):
    record = submit("alice")
    task_id = db.session.scalar(select(Task.id).where(Task.record_id == record.id, Task.status == OPEN))
    headers = bearer("bob")
    db.session.commit()
    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def click() -> None:
        client = app.test_client()
        barrier.wait()
        response = client.post(f"/api/tasks/{task_id}/decision", json={"action": "approve"}, headers=headers)
        statuses.append(response.status_code)

    threads = [threading.Thread(target=click) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(statuses) == [200, 409]
    db.session.expire_all()
    approvals = db.session.scalar(
        select(func.count())
        .select_from(TrailEntry)
        .where(TrailEntry.record_id == record.id, TrailEntry.action == "approve")
    )
    assert approvals == 1
    # Exactly one next task (finance review), not two.
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(Task)
            .where(Task.record_id == record.id, Task.status == OPEN, Task.kind == "approval")
        )
        == 1
    )
