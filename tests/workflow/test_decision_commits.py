"""A decision is one transaction: it is committed exactly once, wherever it comes from."""

from __future__ import annotations

from sqlalchemy import event
from workflow_helpers import simple_route, step, submit, task_of, user

from formwork.extensions import db
from formwork.workflow.decisions import Decision, apply_decision
from formwork.workflow.models import Task


def test_a_decision_from_the_api_or_the_page_commits_once(publish_route, app):
    steps = (step("head", {"department_head": 0}), step("pay", {"user": "grace"}))
    publish_route(simple_route(*steps, no_approver="refuse"))
    record = submit("alice")
    task_id = task_of(record, "bob").id
    commits: list[object] = []

    def committed(session):
        commits.append(session)

    event.listen(db.session, "after_commit", committed)
    try:
        decided = apply_decision(task_id, user("bob"), Decision(action="approve"))
    finally:
        event.remove(db.session, "after_commit", committed)
    assert len(commits) == 1
    db.session.expire_all()
    assert db.session.get(Task, decided.id).status == "approved"
