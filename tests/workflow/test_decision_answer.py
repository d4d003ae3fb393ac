"""A decision's answer says where the request stands exactly as the database does afterwards.

The answer is built from what the decision's walk already holds (``Walker.open_holders``)
instead of reading the open steps back; every shape of walk must give the rows a fresh read gives.
"""

from __future__ import annotations

from typing import Any

import pytest
from workflow_helpers import simple_route, step, submit, task_of, user

from formwork.api.shapes import decision_json
from formwork.extensions import db
from formwork.workflow import queries, service

THREE = ({"user": "carol"}, {"user": "erin"}, {"user": "ivan"})


def decide(record, username: str, action: str = "approve", **kwargs: Any) -> dict[str, Any]:
    person = user(username)
    answer: dict[str, Any] = {}
    service.decide(
        task_of(record, username).id,
        person,
        action,
        respond=lambda task: answer.update(decision_json(task, person)),
        **kwargs,
    )
    return answer


def stands(record) -> list[dict[str, Any]]:
    db.session.expire_all()
    return queries.current_steps([record.id]).get(record.id, [])


ROUTES = {
    "sequence": [step("head", {"department_head": 0}), step("pay", {"user": "grace"})],
    "all of three": [step("sign", *THREE, mode="all"), step("pay", {"user": "grace"})],
    "parallel": [
        {
            "parallel": {
                "key": "both",
                "branches": [
                    {"steps": [step("legal", {"user": "ivan"})]},
                    {"steps": [step("finance", {"user": "carol"})]},
                ],
            }
        },
        step("pay", {"user": "grace"}),
    ],
    "two steps with a copy": [
        step("head", {"department_head": 0}),
        step("pay", {"user": "grace"}, cc=[{"user": "carol"}]),
    ],
    "one of two": [step("sign", {"user": "carol"}, {"user": "erin"}), step("pay", {"user": "grace"})],
    "any of three": [step("sign", *THREE, mode="any"), step("pay", {"user": "grace"})],
    "two of three": [step("sign", *THREE, mode="k_of_n", k=2), step("pay", {"user": "grace"})],
}
FIRST = {
    "sequence": "bob",
    "all of three": "erin",
    "parallel": "ivan",
    "two steps with a copy": "bob",
    "one of two": "erin",
    "any of three": "ivan",
    "two of three": "carol",
}


@pytest.mark.parametrize("shape", sorted(ROUTES))
def test_answer_matches_a_fresh_read(publish_route, shape):
    publish_route(simple_route(*ROUTES[shape], no_approver="refuse"))
    record = submit("alice")
    answer = decide(record, FIRST[shape])
    assert answer["process"]["status"] == "running"
    assert answer["process"]["current"] == stands(record)
    assert answer["process"]["current"], "the request still waits for someone"


def test_answer_after_adding_a_signer_and_after_the_last_approval(publish_route):
    publish_route(simple_route(step("head", {"department_head": 0}), no_approver="refuse"))
    record = submit("alice")
    answer = decide(record, "bob", "add_signer", to_user_id=user("carol").id, position="before")
    assert answer["process"]["current"] == stands(record)
    assert [h for s in answer["process"]["current"] for h in s["holders"]] == [user("carol").display_name]
    decide(record, "carol")
    answer = decide(record, "bob")
    assert answer["process"]["status"] == "approved" and answer["process"]["current"] == []


def test_answers_after_a_transfer_a_return_and_a_rejection(publish_route):
    publish_route(
        simple_route(
            step("head", {"department_head": 0}),
            step("check", {"user": "carol"}),
            step("pay", {"user": "grace"}, on_reject="return_to_step", return_to="check"),
            no_approver="refuse",
        )
    )
    record = submit("alice")
    answer = decide(record, "bob", "transfer", to_user_id=user("dave").id)
    assert answer["process"]["current"] == stands(record)
    answer = decide(record, "dave")  # a transferred task: a sub-task of the process from now on
    assert answer["process"]["current"] == stands(record)
    decide(record, "carol")
    answer = decide(record, "grace", "reject", comment="The bank account is wrong")
    assert answer["process"]["current"] == stands(record)
    assert [s["key"] for s in answer["process"]["current"]] == ["check"]
    answer = decide(record, "carol", "return", comment="Please fix the account")
    assert answer["process"]["status"] == "returned" and answer["process"]["current"] == []


def test_a_plain_approval_reads_no_task_back(publish_route, app):
    """The open tasks of a sequential route are known from the process's position: a decision,
    the last one included, neither reads the process's tasks nor who holds the next step back."""
    from sqlalchemy import event

    publish_route(
        simple_route(
            step("head", {"department_head": 0}),
            step("check", {"user": "carol"}),
            step("pay", {"user": "grace"}),
            no_approver="refuse",
        )
    )
    record = submit("alice")
    reads: list[str] = []

    def seen(conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith("SELECT") and "FROM tasks" in statement:
            reads.append(statement)

    for name in ("bob", "carol", "grace"):
        person, task_id = user(name), task_of(record, name).id
        answer: dict = {}
        reads.clear()
        event.listen(db.engine, "before_cursor_execute", seen)
        try:
            service.decide(
                task_id,
                person,
                "approve",
                respond=lambda task, answer=answer, person=person: answer.update(decision_json(task, person)),
            )
        finally:
            event.remove(db.engine, "before_cursor_execute", seen)
        assert len(reads) == 1, (name, reads)  # only the task being decided, locked with its process
        assert answer["process"]["current"] == stands(record)
    assert answer["process"]["status"] == "approved"
