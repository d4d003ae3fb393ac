"""Joiners, movers, leavers: running requests follow the organisation.

A leaver's open tasks go to their manager (or whom the administrator names), with a trail entry
each; delegations to and from them end; their drafts and history stay. A new head of a department
takes over the tasks that waited on "the head of" it.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from workflow_helpers import open_tasks, simple_route, step, submit, trail_actions, user, waiting_for

from formwork import business_time
from formwork.db_types import utcnow
from formwork.extensions import db, transaction
from formwork.org import administration
from formwork.org.models import Department
from formwork.records.models import Record
from formwork.workflow import delegation, submission
from formwork.workflow.models import Delegation, TrailEntry


def _dept(code: str) -> Department:
    return db.session.scalar(select(Department).where(Department.code == code))


def _as_admin(change, *args, **kwargs):
    with transaction():
        return change(user("admin"), *args, **kwargs)


@pytest.fixture
def frank_route(publish_route):
    """One step that names frank himself (his manager is bob)."""
    return publish_route(simple_route(step("check", {"user": "frank"})))


def test_a_leavers_tasks_go_to_their_manager_with_a_trail_entry(frank_route):
    record = submit("alice")
    draft = submission.create_record("expense_claim", {"reason": "draft"}, user("frank"), submit=False)
    assert waiting_for(record) == ["frank"]
    _as_admin(administration.leave, user("frank").id)
    db.session.expire_all()
    assert waiting_for(record) == ["bob"]
    assert trail_actions(record)[-1] == "hand_over"
    entry = db.session.scalar(select(TrailEntry).where(TrailEntry.action == "hand_over"))
    assert entry.actor_id == user("admin").id and entry.details["to"] == user("bob").id
    # History and drafts stay.
    assert db.session.get(Record, draft.id).owner_id == user("frank").id
    assert not user("frank").active


def test_the_administrator_may_name_who_takes_over(frank_route):
    record = submit("alice")
    _as_admin(administration.leave, user("frank").id, "carol")
    db.session.expire_all()
    assert waiting_for(record) == ["carol"]


def test_nobody_to_take_over_is_refused_and_nothing_changes(frank_route):
    record = submit("alice")
    frank = user("frank")
    frank.manager = None
    db.session.commit()
    with pytest.raises(administration.AdminRefused) as refused:
        _as_admin(administration.leave, frank.id)
    assert refused.value.field == "successor"
    db.session.expire_all()
    assert user("frank").active and waiting_for(record) == ["frank"]


def test_the_submitter_cannot_take_over_their_own_request(frank_route):
    submit("alice")
    with pytest.raises(administration.AdminRefused) as refused:
        _as_admin(administration.leave, user("frank").id, "alice")
    assert refused.value.field == "successor"
    db.session.expire_all()
    assert user("frank").active


def test_delegations_to_and_from_a_leaver_end(frank_route):
    today = business_time.today().isoformat()
    later = (business_time.today() + timedelta(days=5)).isoformat()
    delegation.set_period(user("frank"), "erin", today, later)
    delegation.set_period(user("grace"), "frank", today, later)
    db.session.commit()
    _as_admin(administration.leave, user("frank").id)
    db.session.expire_all()
    rows = db.session.scalars(select(Delegation)).all()
    assert len(rows) == 2 and all(row.cancelled_at is not None for row in rows)
    assert delegation.active_delegation(user("grace").id, utcnow()) is None


def test_a_new_head_takes_over_what_waited_on_the_head(expense_route):
    record = submit("alice")
    assert waiting_for(record) == ["bob"]
    _as_admin(administration.set_department_head, _dept("SALES").id, "frank")
    db.session.expire_all()
    assert waiting_for(record) == ["frank"]
    assert trail_actions(record)[-1] == "new_head"


def test_a_task_held_for_another_reason_stays(publish_route):
    publish_route(simple_route(step("check", {"user": "bob"})))
    record = submit("alice")
    _as_admin(administration.set_department_head, _dept("SALES").id, "frank")
    db.session.expire_all()
    assert waiting_for(record) == ["bob"]


def test_moving_a_head_names_the_new_head_and_their_tasks_follow(expense_route):
    record = submit("alice")
    with pytest.raises(administration.AdminRefused) as refused:
        _as_admin(administration.move_user, user("bob").id, "FIN")
    assert refused.value.field == "new_head"
    _as_admin(administration.move_user, user("bob").id, "FIN", "frank")
    db.session.expire_all()
    assert user("bob").department.code == "FIN" and _dept("SALES").head.username == "frank"
    assert waiting_for(record) == ["frank"]


def test_a_leaving_head_hands_head_tasks_to_the_new_head_and_the_rest_to_the_successor(
    expense_route, publish_route
):
    head_task = submit("alice")
    # A new version of the same route names bob himself (the first request stays on its version).
    publish_route({**simple_route(step("check", {"user": "bob"})), "key": "expense_approval"})
    named_task = submit("frank")
    assert waiting_for(head_task) == ["bob"] and waiting_for(named_task) == ["bob"]
    with pytest.raises(administration.AdminRefused):
        _as_admin(administration.leave, user("bob").id)  # he heads Sales: the new head must be named
    _as_admin(administration.leave, user("bob").id, None, "frank")
    db.session.expire_all()
    assert waiting_for(head_task) == ["frank"]
    assert waiting_for(named_task) == ["dave"]  # bob's manager
    assert open_tasks(named_task)[0].intended_id == user("bob").id


def test_through_the_api_a_leavers_session_and_token_end_at_once(frank_route, client, login, bearer):
    record = submit("alice")
    franks_token = bearer("frank")
    login(client, "frank")
    assert client.get("/api/tasks").status_code == 200
    assert client.get("/api/tasks", headers=franks_token).status_code == 200

    answer = client.post(f"/api/admin/users/{user('frank').id}/leave", json={}, headers=bearer("admin"))
    assert answer.status_code == 200 and answer.get_json()["active"] is False
    assert client.get("/api/tasks").status_code == 401  # the browser session: the very next request
    assert client.get("/api/tasks", headers=franks_token).status_code == 401
    db.session.expire_all()
    assert waiting_for(record) == ["bob"]
    again = client.post(f"/api/admin/users/{user('frank').id}/leave", json={}, headers=bearer("admin"))
    assert again.status_code == 422 and again.get_json()["field"] == "user"
