"""The inbox costs a fixed number of queries however many tasks a page shows (no N+1)."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from sqlalchemy import event

from formwork.extensions import db


@contextmanager
def counting():
    statements: list[str] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    engine = db.engine
    event.listen(engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", before)


@pytest.mark.parametrize(
    "url", ["/api/tasks", "/api/tasks?q=trip&sort=due", "/inbox", "/inbox?sort=newest&form=expense_claim"]
)
def test_queries_do_not_grow_with_the_page(client, bearer, login, submit, url):
    headers = bearer("bob") if url.startswith("/api") else {}
    if not headers:
        login(client, "bob")

    def cost() -> tuple[int, int]:
        client.get(url, headers=headers)  # warm caches (compiled forms and routes)
        with counting() as statements:
            response = client.get(url, headers=headers)
        assert response.status_code == 200
        shown = (
            response.get_json()["items"]
            if url.startswith("/api")
            else response.get_data(as_text=True).count('class="task-row__title"')
        )
        return len(statements), len(shown) if isinstance(shown, list) else shown

    for n in range(2):
        submit("alice", reason=f"Trip {n}")
    few, shown_few = cost()
    for n in range(2, 14):
        submit("frank", reason=f"Trip {n}")
    many, shown_many = cost()
    assert (shown_few, shown_many) == (2, 14)
    assert many == few, f"{few} queries for 2 tasks, {many} for 14"
    assert many <= 10  # the page itself, plus the header bell's unread count


def test_record_page_trail_and_route_cost_a_fixed_number_of_queries(client, login, bearer, submit):
    record = submit("alice")
    login(client, "alice")
    client.get(f"/records/{record.id}")
    # Each measured request starts from an empty session, as a request in production does.
    db.session.remove()
    with counting() as short:
        client.get(f"/records/{record.id}")
    # Ten comments later the page costs the same.
    from sqlalchemy import select

    from formwork.workflow.models import OPEN, Task

    task_id = db.session.scalar(select(Task.id).where(Task.record_id == record.id, Task.status == OPEN))
    bob = bearer("bob")
    for n in range(10):
        assert (
            client.post(
                f"/api/tasks/{task_id}/decision",
                json={"action": "comment", "comment": f"note {n}"},
                headers=bob,
            ).status_code
            == 200
        )
    db.session.remove()
    with counting() as long:
        response = client.get(f"/records/{record.id}")
    assert response.get_data(as_text=True).count("note ") >= 10
    assert len(long) == len(short)
