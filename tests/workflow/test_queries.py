"""Inbox, decided, submitted, trail and route diagram queries."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import event, update
from workflow_helpers import act, simple_route, step, submit, user

from formwork.db_types import utcnow
from formwork.extensions import db
from formwork.workflow import history, queries, route_diagram
from formwork.workflow.models import Task
from formwork.workflow.queries import ListQuery


def test_inbox_sorting_filters_and_counts(expense_route):
    first = submit("alice", "100.00", reason="First trip")
    second = submit("frank", "200.00", reason="Second trip")
    third = submit("alice", "300.00", reason="Third dinner")
    now = utcnow()
    # make the waits distinct and one task overdue
    for record, hours in ((first, 30), (second, 20), (third, 10)):
        db.session.execute(
            update(Task).where(Task.record_id == record.id).values(created_at=now - timedelta(hours=hours))
        )
    db.session.execute(update(Task).where(Task.record_id == third.id).values(due_at=now - timedelta(hours=1)))
    db.session.execute(
        update(Task).where(Task.record_id == second.id).values(due_at=now + timedelta(hours=5))
    )
    db.session.commit()
    bob = user("bob")

    def ids(query: ListQuery | None = None, **paging) -> list[int]:
        return [row.record_id for row in queries.inbox(bob, query, **paging).rows]

    page = queries.inbox(bob)
    assert [row.record_id for row in page.rows] == [first.id, second.id, third.id]
    assert page.total == 3 and page.counts == {"open": 3, "overdue": 1}
    assert page.rows[0].waited_seconds >= 30 * 3600 - 5
    assert page.rows[0].owner_name == user("alice").display_name
    assert page.rows[0].step_name == "Department head"
    assert [row.overdue for row in page.rows] == [False, False, True]
    assert ids(ListQuery(sort="newest")) == [third.id, second.id, first.id]
    assert ids(ListQuery(sort="due")) == [third.id, second.id, first.id]
    assert ids(ListQuery(q="dinner")) == [third.id]
    assert ids(ListQuery(overdue=True)) == [third.id]
    assert queries.inbox(bob, ListQuery(q="100%")).total == 0  # wildcards are literal
    assert queries.inbox(bob, ListQuery(form_key="purchase_request")).total == 0
    second_page = queries.inbox(bob, per_page=2, page=2)
    assert [row.record_id for row in second_page.rows] == [third.id] and second_page.total == 3
    assert queries.inbox(user("carol")).total == 0


def test_inbox_runs_a_fixed_number_of_queries(expense_route, app):
    for _ in range(12):
        submit("alice", "100.00")
    db.session.commit()
    db.session.expire_all()
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        page = queries.inbox(user("bob"), per_page=10)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(page.rows) == 10
    # user, page, route versions, form titles, counts: never one per item
    assert len(statements) <= 5, statements


def test_decided_and_submitted(expense_route):
    record = submit("alice", "12000.00")
    act(record, "bob", comment="fine")
    decided = queries.decided_by(user("bob"))
    assert decided.total == 1 and decided.rows[0].decision == "approve"
    assert decided.rows[0].comment == "fine" and decided.rows[0].record_status == "in_review"
    mine = queries.submitted_by(user("alice"))
    assert mine.total == 1
    where = mine.rows[0].current
    assert [s["key"] for s in where] == ["finance"]
    assert where[0]["holder_ids"] == [user("carol").id]
    assert queries.submitted_by(user("alice"), status="approved").total == 0


def test_trail_and_route_view(expense_route):
    from formwork.org.users import user_by_username

    record = submit("alice", "12000.00")
    act(record, "bob", comment="ok")
    trail = history.trail(record)
    assert [e.action for e in trail[:3]] == ["submitted", "approve", "step_approved"]
    assert trail[1].actor_id == user("bob").id and trail[1].comment == "ok"
    assert trail[1].step_name == "Department head"
    view = route_diagram.route_view(record)
    assert view["route"] == "expense_approval"
    assert view["version"] == 1
    states = {n["key"]: n["state"] for n in view["nodes"]}
    # 12,000 is under the CFO step's 50,000: the values already rule it out.
    assert states == {"head": "approved", "finance": "active", "cfo": "skipped", "cashier": "pending"}
    finance = next(n for n in view["nodes"] if n["key"] == "finance")
    assert finance["people"] == [user("carol").display_name]
    act(record, "carol")
    states = {n["key"]: n["state"] for n in route_diagram.route_view(record)["nodes"]}
    assert states["cfo"] == "skipped" and states["cashier"] == "active"
    assert history.visible_trail(user_by_username("frank"), record) is None
    assert [e.id for e in history.visible_trail(user("alice"), record)] == [
        e.id for e in history.trail(record)
    ]


def test_route_view_of_parallel_and_branch(publish_route):
    publish_route(
        simple_route(
            {
                "branch": {
                    "key": "band",
                    "cases": [{"when": "total >= 50000", "steps": [step("big", {"user": "dave"})]}],
                    "otherwise": [
                        {
                            "parallel": {
                                "key": "both",
                                "branches": [
                                    {"steps": [step("legal", {"user": "ivan"})]},
                                    {"steps": [step("finance", {"user": "carol"})]},
                                ],
                            }
                        }
                    ],
                }
            },
            no_approver="refuse",
        )
    )
    record = submit("alice", "100.00")
    act(record, "ivan")
    view = route_diagram.route_view(record)
    band = view["nodes"][0]
    assert band["cases"][0]["taken"] is False and band["cases"][-1]["taken"] is True
    assert band["cases"][0]["condition"] == "total >= 50000"
    both = band["cases"][-1]["nodes"][0]
    assert [[n["state"] for n in branch] for branch in both["branches"]] == [["approved"], ["active"]]
    assert band["cases"][0]["nodes"][0]["state"] == "pending"
