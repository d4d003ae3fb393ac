"""Route actions on completion (``on_approved`` / ``on_rejected``): checked at publish, run in the
transaction of the final decision, idempotent, refused as a whole, listed in the trail."""

from __future__ import annotations

from datetime import timedelta

import pytest
import yaml
from sqlalchemy import func, select
from sqlalchemy.orm.exc import StaleDataError
from workflow_helpers import status, user

from formwork import business_time
from formwork.definitions import store
from formwork.definitions.loader import read_source
from formwork.definitions.pipeline import check
from formwork.extensions import db
from formwork.org import grants
from formwork.org.models import Role, RoleAssignment, RoleGrantEvent
from formwork.records.models import Record
from formwork.workflow import route_actions, runtime, service, submission
from formwork.workflow.errors import InvalidDecision
from formwork.workflow.models import APPROVAL, OPEN, Process, Task, TrailEntry

FORM = """
kind: form
key: access_change
title: {zh-CN: 权限变更, en: Access change}
fields:
  - {key: subject, type: text, label: {zh-CN: 事由, en: Subject}, required: true}
  - key: role
    type: choice
    label: {zh-CN: 角色, en: Role}
    required: true
    options:
      - {value: cfo, label: {zh-CN: 财务总监, en: CFO}}
      - {value: finance_reviewer, label: {zh-CN: 财务审核, en: Finance reviewer}}
      - {value: cashier, label: {zh-CN: 出纳, en: Cashier}}
  - {key: person, type: user, label: {zh-CN: 人员, en: Person}}
  - {key: until, type: date, label: {zh-CN: 有效期至, en: Until}}
  - {key: unit, type: department, label: {zh-CN: 部门, en: Department}}
  - {key: amount, type: money, label: {zh-CN: 金额, en: Amount}, currency: CNY}
"""

ROUTE = """\
kind: route
key: access_change
form: access_change
title: {zh-CN: 权限变更审批, en: Access change approval}
steps:
  - key: review
    name: {zh-CN: 审核, en: Review}
    approvers:
      - user: carol
"""


@pytest.fixture
def form(org, notes):
    version, _ = store.publish(yaml.safe_load(FORM))
    return version


def publish_route(actions: str):
    version, _ = store.publish(yaml.safe_load(ROUTE + actions))
    return version


def problems_of(actions: str):
    text = ROUTE + actions
    document = read_source(text, "route.yaml")
    return text, check(document.content, None, document)


def find(problems, pointer):
    for problem in problems:
        if problem.pointer == pointer:
            return problem
    raise AssertionError(f"no problem at {pointer}; got: {[str(p) for p in problems]}")


def line_of(text: str, needle: str) -> int:
    return next(number for number, line in enumerate(text.splitlines(), 1) if needle in line)


def until_day(days: int = 30):
    return business_time.today() + timedelta(days=days)


def submit(username: str = "alice", **data) -> Record:
    values = {"subject": "Month-end close", "role": "finance_reviewer", **data}
    return submission.create_record("access_change", values, user(username), submit=True)


def review_task(record: Record) -> Task:
    return db.session.scalars(
        select(Task).where(Task.record_id == record.id, Task.status == OPEN, Task.kind == APPROVAL)
    ).one()


def decide(record: Record, action: str = "approve", **kwargs) -> Task:
    if action == "reject":
        kwargs.setdefault("comment", "Not needed")
    return service.decide(review_task(record).id, user("carol"), action, **kwargs)


def roles_of(username: str) -> list[tuple[str, str | None]]:
    db.session.expire_all()
    return sorted(
        (a.role.key, a.department.code if a.department else None) for a in user(username).role_assignments
    )


def trail(record: Record, *actions: str) -> list[TrailEntry]:
    query = select(TrailEntry).where(TrailEntry.record_id == record.id).order_by(TrailEntry.id)
    if actions:
        query = query.where(TrailEntry.action.in_(actions))
    return list(db.session.scalars(query))


def declare_pair(monkeypatch, roles: tuple[str, str], label: str) -> None:
    """Declare two roles incompatible (segregation of duties) for this test only."""
    monkeypatch.setattr(grants, "_PAIR_SOURCES", dict(grants._PAIR_SOURCES))
    grants.on_pairs("test_pair", lambda: [(roles, label)])


GRANT = """\
on_approved:
  - grant_role: {field: role}
    to: submitter
    until: until
"""


# --- publish-time checks ------------------------------------------------------------------------


def test_actions_are_checked_when_published(form):
    text, problems = problems_of(
        """\
on_approved:
  - grant_role: chief_of_everything
  - grant_role: {field: rol}
  - grant_role: {field: subject}
    until: subject
  - grant_role: cfo
    to: {field: amount}
  - revoke_role: cfo
    until: until
  - grant_role: cfo
    revoke_role: cfo
  - grant_role: cfo
    department: NOWHERE
on_rejected:
  - grant_role: {field: amount}
"""
    )
    problem = find(problems, "/on_approved/0/grant_role")
    assert 'unknown role "chief_of_everything"' in problem.message
    assert problem.line == line_of(text, "chief_of_everything") and problem.source == "route.yaml"
    assert 'unknown field "rol"' in find(problems, "/on_approved/1/grant_role/field").message
    # A text field may hold a role key; until needs a date field.
    assert (
        'field "subject" is a text field; until needs a date field'
        in find(problems, "/on_approved/2/until").message
    )
    assert "whose role needs a user field" in find(problems, "/on_approved/3/to/field").message
    assert "until applies only to grant_role" in find(problems, "/on_approved/4/until").message
    assert "exactly one of grant_role, revoke_role" in find(problems, "/on_approved/5").message
    assert 'unknown department "NOWHERE"' in find(problems, "/on_approved/6/department").message
    assert "a role needs a choice or text field" in find(problems, "/on_rejected/0/grant_role/field").message


def test_every_choice_of_a_role_field_must_be_a_role(org, notes):
    content = yaml.safe_load(FORM)
    content["fields"][1]["options"].append(
        {"value": "coffee_maker", "label": {"zh-CN": "咖啡", "en": "Coffee"}}
    )
    store.publish(content)
    _, problems = problems_of(GRANT)
    assert '"coffee_maker", which is not a role' in find(problems, "/on_approved/0/grant_role/field").message


def test_the_schema_refuses_unknown_properties(form):
    _, problems = problems_of("on_approved:\n  - grant_role: cfo\n    forever: true\n")
    assert problems and all(p.pointer.startswith("/on_approved/0") for p in problems)


def test_a_correct_action_list_publishes(form):
    _, problems = problems_of(
        GRANT + "  - revoke_role: cashier\n    to: {field: person}\n    department: {field: unit}\n"
    )
    assert problems == []


# --- running --------------------------------------------------------------------------------------


def test_approval_grants_the_role_at_once_until_the_end_date(form):
    publish_route(GRANT)
    record = submit(until=until_day(30).isoformat())
    assert roles_of("alice") == [("employee", None)]
    decide(record)
    assert status(record) == "approved"
    assignment = next(a for a in user("alice").role_assignments if a.role.key == "finance_reviewer")
    assert business_time.as_utc(assignment.expires_at) == grants.end_of(until_day(30))
    assert assignment.granted_by_id == user("carol").id
    assert (assignment.reason or "").startswith(f"#{record.id}")
    # Listed in the trail, after the approval, with what was granted to whom until when.
    [approved, granted] = trail(record, "approved", route_actions.GRANTED)
    assert approved.id < granted.id
    assert granted.details["role"] == "finance_reviewer" and granted.details["to"] == user("alice").id
    assert granted.details["until"] == until_day(30).isoformat()
    assert granted.actor_id == user("carol").id
    # And in the process state, so it is never done twice.
    process = db.session.scalars(select(Process).where(Process.record_id == record.id)).one()
    assert process.state["actions"]["approved"][0]["assignment"] == assignment.id


def test_the_record_page_lists_the_grant(form, client, login):
    publish_route(GRANT)
    record = submit(until=until_day(30).isoformat())
    decide(record)
    page = login(client, "alice").get(f"/records/{record.id}", headers={"Accept-Language": "en"})
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Role granted" in text and "Finance reviewer" in text and until_day(30).isoformat() in text


def test_a_literal_role_to_a_user_field_limited_to_a_department(form):
    publish_route("on_approved:\n  - grant_role: cashier\n    to: {field: person}\n    department: SALES\n")
    decide(submit(person=user("frank").id))
    assert ("cashier", "SALES") in roles_of("frank")
    assert ("cashier", "SALES") not in roles_of("alice")


def test_revoke_action(form):
    publish_route("on_approved:\n  - revoke_role: {field: role}\n    to: {field: person}\n")
    grants.grant_role(user("grace"), "finance_reviewer", until=until_day(10))
    db.session.commit()
    record = submit(role="finance_reviewer", person=user("grace").id)
    decide(record)
    assert roles_of("grace") == [("cashier", None)]
    [revoked] = trail(record, route_actions.REVOKED)
    assert revoked.details["role"] == "finance_reviewer" and revoked.details["to"] == user("grace").id
    assert db.session.scalar(
        select(func.count()).select_from(RoleGrantEvent).where(RoleGrantEvent.event == "revoked")
    )
    # Nothing to take back: the trail says so and nothing fails.
    again = submit(role="finance_reviewer", person=user("grace").id)
    decide(again)
    assert status(again) == "approved"
    assert [e.action for e in trail(again, route_actions.REVOKED, route_actions.NOT_HELD)] == [
        route_actions.NOT_HELD
    ]


def test_on_rejected_runs_on_rejection_only(form):
    publish_route(GRANT + "on_rejected:\n  - revoke_role: {field: role}\n    to: submitter\n")
    grants.grant_role(user("alice"), "cashier")
    db.session.commit()
    record = submit(role="cashier", until=until_day(5).isoformat())
    decide(record, "reject")
    assert status(record) == "rejected"
    assert roles_of("alice") == [("employee", None)]
    assert [e.action for e in trail(record, route_actions.GRANTED, route_actions.REVOKED)] == [
        route_actions.REVOKED
    ]


def test_running_twice_does_nothing_more(form):
    publish_route(GRANT)
    record = submit(until=until_day(30).isoformat())
    decide(record)
    process = db.session.scalars(select(Process).where(Process.record_id == record.id)).one()
    walker = runtime.Walker(process, runtime.load_route(process), actor=user("carol"))
    route_actions.run(walker, "approved", walker.route.on_approved)
    walker.save()
    db.session.commit()
    assert len(trail(record, route_actions.GRANTED)) == 1
    assert (
        db.session.scalar(
            select(func.count()).select_from(RoleGrantEvent).where(RoleGrantEvent.user_id == user("alice").id)
        )
        == 1
    )


def test_a_retried_decision_grants_once(form, monkeypatch):
    """The decision's transaction is retried after a stale write: the grant is rolled back with it
    and written once."""
    publish_route(GRANT)
    record = submit(until=until_day(30).isoformat())
    real_save = runtime.Walker.save
    calls = {"n": 0}

    def stale_once(self):
        real_save(self)
        calls["n"] += 1
        if calls["n"] == 1:
            raise StaleDataError("another transition committed first")

    monkeypatch.setattr(runtime.Walker, "save", stale_once)
    decide(record)
    assert calls["n"] == 2 and status(record) == "approved"
    assert roles_of("alice") == [("employee", None), ("finance_reviewer", None)]
    assert len(trail(record, route_actions.GRANTED)) == 1
    assert (
        db.session.scalar(
            select(func.count()).select_from(RoleGrantEvent).where(RoleGrantEvent.user_id == user("alice").id)
        )
        == 1
    )


def test_a_refused_grant_refuses_the_decision_and_changes_nothing(form, monkeypatch, client, bearer):
    publish_route(GRANT)
    declare_pair(monkeypatch, ("finance_reviewer", "employee"), "Finance reviewer + Employee")
    record = submit(until=until_day(30).isoformat())
    task = review_task(record)
    trail_before = len(trail(record))
    with pytest.raises(InvalidDecision, match="Finance reviewer \\+ Employee"):
        decide(record)
    db.session.expire_all()
    assert status(record) == "in_review" and review_task(record).id == task.id
    assert roles_of("alice") == [("employee", None)]
    assert len(trail(record)) == trail_before
    # Through the API: 422 with the reason, and still nothing changed.
    response = client.post(
        f"/api/tasks/{task.id}/decision", json={"action": "approve"}, headers=bearer("carol")
    )
    assert response.status_code == 422
    assert "Finance reviewer + Employee" in response.get_json()["error"]
    assert status(record) == "in_review" and roles_of("alice") == [("employee", None)]


def test_an_end_date_already_past_refuses_the_decision(form):
    publish_route(GRANT)
    record = submit(until=until_day(1).isoformat())
    record.data = {**record.data, "until": (business_time.today() - timedelta(days=1)).isoformat()}
    db.session.commit()
    with pytest.raises(InvalidDecision, match="end date"):
        decide(record)
    assert status(record) == "in_review" and roles_of("alice") == [("employee", None)]


def test_a_missing_end_date_refuses_rather_than_granting_for_ever(form):
    publish_route(GRANT)
    record = submit()  # until is optional on this form
    with pytest.raises(InvalidDecision, match="no end date"):
        decide(record)
    assert roles_of("alice") == [("employee", None)]
    assert db.session.scalar(select(func.count()).select_from(Role).where(Role.key == "finance_reviewer"))
    assert not db.session.scalar(
        select(func.count())
        .select_from(RoleAssignment)
        .where(RoleAssignment.user_id == user("alice").id)
        .where(
            RoleAssignment.role_id == select(Role.id).where(Role.key == "finance_reviewer").scalar_subquery()
        )
    )


def test_the_task_page_shows_a_refused_grant(form, monkeypatch, client, login, csrf_token):
    publish_route(GRANT)
    declare_pair(monkeypatch, ("finance_reviewer", "employee"), "Reviewer + Payer")
    record = submit(until=until_day(30).isoformat())
    task = review_task(record)
    login(client, "carol")
    token = csrf_token(client, f"/tasks/{task.id}")
    response = client.post(
        f"/tasks/{task.id}/decision",
        data={"action": "approve", "csrf_token": token},
        headers={"Accept-Language": "en"},
    )
    assert response.status_code == 422
    assert "Reviewer + Payer" in response.get_data(as_text=True)
    assert status(record) == "in_review" and roles_of("alice") == [("employee", None)]
