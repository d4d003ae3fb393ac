"""The inbox, decided list, my requests and the task page in the browser (session + CSRF)."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select, update

from formwork.db_types import utcnow
from formwork.extensions import db
from formwork.records.models import Record
from formwork.workflow.models import OPEN, Task


def age(record_id: int, waited: timedelta, *, due_in: timedelta | None = None) -> None:
    """Make the record's open tasks look created ``waited`` ago (and due ``due_in`` from now)."""
    now = utcnow()
    values = {"created_at": now - waited}
    if due_in is not None:
        values["due_at"] = now + due_in
    db.session.execute(update(Task).where(Task.record_id == record_id, Task.status == OPEN).values(**values))
    db.session.commit()


def open_task(record_id: int, username_id: int | None = None) -> Task:
    stmt = select(Task).where(Task.record_id == record_id, Task.status == OPEN, Task.kind == "approval")
    if username_id is not None:
        stmt = stmt.where(Task.assignee_id == username_id)
    return db.session.scalars(stmt.order_by(Task.id)).first()


def test_inbox_lists_exactly_my_open_tasks_with_counts_and_waited_time(client, login, submit, demo_org):
    first = submit("alice", reason="Taxi to the airport")
    second = submit("frank", reason="Hotel in Beijing")
    submit("erin", reason="HR seminar")  # erin's head is dave: not bob's task
    # Make the first task wait three days and be overdue.
    age(first.id, timedelta(days=3, minutes=5), due_in=-timedelta(days=1))
    login(client, "bob")
    page = client.get("/inbox").get_data(as_text=True)
    assert "Taxi to the airport" in page and "Hotel in Beijing" in page
    assert "HR seminar" not in page
    assert "Open: 2" in page and "Overdue: 1" in page
    assert "Waiting 3 days" in page
    assert "Department head approval" in page
    # The navigation badge shows the same count on any page.
    assert re.search(
        r'href="/inbox"[^>]*>Inbox <span class="badge badge--count"[^>]*>2</span>',
        client.get("/requests").get_data(as_text=True),
    )
    assert second.id


def test_inbox_sorts_filters_and_pages(client, login, submit, app):
    records = [submit("alice", reason=f"Trip {n}") for n in range(5)]
    for hours, record in enumerate(records):  # Trip 0 is the newest, Trip 4 the oldest
        age(record.id, timedelta(hours=hours + 1))
    app.config["FORMWORK_PAGE_SIZE"] = 2
    login(client, "bob")

    def titles(url: str) -> list[str]:
        return re.findall(
            r'class="task-row__title" href="[^"]+">([^<]+)<', client.get(url).get_data(as_text=True)
        )

    assert titles("/inbox") == ["Trip 4", "Trip 3"]
    assert titles("/inbox?page=2") == ["Trip 2", "Trip 1"]
    assert titles("/inbox?page=3") == ["Trip 0"]
    assert titles("/inbox?sort=newest") == ["Trip 0", "Trip 1"]
    assert titles("/inbox?q=trip%203") == ["Trip 3"]
    assert titles("/inbox?form=purchase_request") == []
    assert "Page 1 of 3" in client.get("/inbox").get_data(as_text=True)
    # htmx asks for the list only.
    fragment = client.get("/inbox?sort=newest", headers={"HX-Request": "true", "HX-Target": "inbox-results"})
    body = fragment.get_data(as_text=True)
    assert body.startswith('<div id="inbox-results">') and "<html" not in body


def test_decision_through_the_page_with_csrf_and_a_second_click_is_409(
    client, login, csrf_token, submit, demo_org
):
    record = submit("alice", reason="Conference fee")
    task = open_task(record.id)
    login(client, "bob")
    page = client.get(f"/tasks/{task.id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Conference fee" in html and 'name="action" value="approve"' in html
    assert 'aria-current="step"' in html  # the diagram marks the current step
    token = csrf_token(client, f"/tasks/{task.id}")
    # Without the CSRF token nothing happens.
    assert client.post(f"/tasks/{task.id}/decision", data={"action": "approve"}).status_code == 400
    response = client.post(
        f"/tasks/{task.id}/decision", data={"action": "approve", "comment": "Fine", "csrf_token": token}
    )
    assert response.status_code == 303 and response.headers["Location"].endswith("/inbox")
    again = client.post(f"/tasks/{task.id}/decision", data={"action": "approve", "csrf_token": token})
    assert again.status_code == 409
    assert "Already decided" in again.get_data(as_text=True)
    # htmx gets the panel alone, also with 409.
    hx = client.post(
        f"/tasks/{task.id}/decision",
        data={"action": "approve", "csrf_token": token},
        headers={"HX-Request": "true"},
    )
    assert hx.status_code == 409 and hx.get_data(as_text=True).lstrip().startswith(
        '<section id="decision-panel"'
    )
    db.session.expire_all()
    assert open_task(record.id).assignee_id == demo_org["carol"].id


def test_page_refusals_are_422_with_the_message(client, login, csrf_token, submit):
    record = submit("alice")
    task = open_task(record.id)
    login(client, "bob")
    token = csrf_token(client, f"/tasks/{task.id}")
    response = client.post(f"/tasks/{task.id}/decision", data={"action": "reject", "csrf_token": token})
    assert response.status_code == 422 and "comment is required" in response.get_data(as_text=True)
    response = client.post(
        f"/tasks/{task.id}/decision",
        data={"action": "transfer", "csrf_token": token},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 422 and "Choose a person" in response.get_data(as_text=True)


def test_someone_elses_task_is_404(client, login, submit):
    record = submit("alice")
    task = open_task(record.id)
    login(client, "frank")
    assert client.get(f"/tasks/{task.id}").status_code == 404
    token_page = client.get("/inbox")
    token = re.search(r'name="csrf-token" content="([^"]+)"', token_page.get_data(as_text=True)).group(1)
    assert (
        client.post(f"/tasks/{task.id}/decision", data={"action": "approve", "csrf_token": token}).status_code
        == 404
    )


def test_decided_and_my_requests(client, login, csrf_token, submit, demo_org):
    record = submit("alice", reason="Team dinner")
    task = open_task(record.id)
    login(client, "bob")
    token = csrf_token(client, f"/tasks/{task.id}")
    client.post(f"/tasks/{task.id}/decision", data={"action": "approve", "csrf_token": token})
    decided = client.get("/inbox/decided").get_data(as_text=True)
    assert "Team dinner" in decided and "Approved" in decided
    client.post("/logout", data={"csrf_token": token})
    client.delete_cookie("session")
    login(client, "alice")
    mine = client.get("/requests").get_data(as_text=True)
    assert "Team dinner" in mine
    assert "At Finance review: Carol" in mine or re.search(r"At Finance review: [^<]*", mine)


def test_record_page_shows_route_and_trail_and_withdraw(client, login, csrf_token, submit):
    record = submit("alice", reason="Printer paper")
    login(client, "alice")
    html = client.get(f"/records/{record.id}").get_data(as_text=True)
    assert 'aria-current="step"' in html and "Department head approval" in html
    assert "Withdraw" in html
    token = csrf_token(client, f"/records/{record.id}")
    response = client.post(f"/records/{record.id}/withdraw", data={"csrf_token": token})
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(Record, record.id).status == "withdrawn"
    html = client.get(f"/records/{record.id}").get_data(as_text=True)
    assert "Withdrawn" in html and 'value="Withdraw"' not in html


def test_htmx_decision_sends_the_browser_on(client, login, csrf_token, submit):
    record = submit("alice")
    task = open_task(record.id)
    login(client, "bob")
    token = csrf_token(client, f"/tasks/{task.id}")
    response = client.post(
        f"/tasks/{task.id}/decision",
        data={"action": "approve", "csrf_token": token},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 204 and response.headers["HX-Redirect"] == "/inbox"
    assert "Done: Approved." in client.get("/inbox").get_data(as_text=True)


def test_inbox_overdue_filter(client, login, submit, app):
    late = submit("alice", reason="Late taxi")
    due_later = submit("alice", reason="Hotel next week")
    submit("alice", reason="No deadline")
    age(late.id, timedelta(days=2), due_in=-timedelta(hours=3))
    age(due_later.id, timedelta(hours=1), due_in=timedelta(days=5))
    login(client, "bob")
    page = client.get("/inbox").get_data(as_text=True)
    assert (
        'name="overdue"' in page
        and "Overdue only" in page
        and 'id="inbox-overdue" name="overdue" value="1">' in page
    )
    only = client.get("/inbox?overdue=1").get_data(as_text=True)
    assert re.findall(r'class="task-row__title" href="[^"]+">([^<]+)<', only) == ["Late taxi"]
    assert "1 match(es)" in only and 'name="overdue" value="1" checked' in only
    # The filter is kept on the other pages of the list and in the htmx fragment.
    app.config["FORMWORK_PAGE_SIZE"] = 1
    late_two = submit("frank", reason="Late hotel")
    age(late_two.id, timedelta(days=1), due_in=-timedelta(hours=1))
    paged = client.get("/inbox?overdue=1").get_data(as_text=True)
    assert "overdue=1" in re.search(r'rel="next" href="([^"]+)"', paged).group(1)
    fragment = client.get("/inbox?overdue=1", headers={"HX-Request": "true", "HX-Target": "inbox-results"})
    assert "Late taxi" in fragment.get_data(as_text=True) and "Hotel next week" not in fragment.get_data(
        as_text=True
    )
    assert "No open tasks match." in client.get("/inbox?overdue=1&q=nothing-like-this").get_data(as_text=True)
    # In Chinese too.
    chinese = client.get("/inbox", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "仅看已超时" in chinese


def test_the_approver_is_told_what_a_rejection_does(client, login, submit, demo_org):
    record = submit("alice", reason="Taxi to the station")
    login(client, "bob")
    task = open_task(record.id, demo_org["bob"].id)
    page = client.get(f"/tasks/{task.id}", headers={"Accept-Language": "en"}).get_data(as_text=True)
    # The department head's step returns a rejected claim to its submitter (on_reject in the route).
    outcome = re.search(r'<p class="field__help" id="decision-reject-outcome">([^<]+)</p>', page)
    assert outcome, page
    assert "goes back to" in outcome.group(1) and demo_org["alice"].display_name in outcome.group(1)
    assert 'value="reject" class="button button--danger" aria-describedby="decision-reject-outcome"' in page


def test_a_returned_request_shows_why_at_the_top_of_its_edit_page(
    client, login, csrf_token, submit, demo_org
):
    record = submit("alice", reason="Dinner with a client")
    login(client, "bob")
    task = open_task(record.id, demo_org["bob"].id)
    token = csrf_token(client, f"/tasks/{task.id}")
    comment = "Please attach the restaurant receipt"
    response = client.post(
        f"/tasks/{task.id}/decision", data={"action": "return", "comment": comment, "csrf_token": token}
    )
    assert response.status_code == 303
    client.post("/logout", data={"csrf_token": csrf_token(client, "/inbox")})
    login(client, "alice")
    page = client.get(f"/records/{record.id}/edit", headers={"Accept-Language": "en"}).get_data(as_text=True)
    reason = re.search(r'<div class="flash flash--warning return-reason".*?</div>', page, re.S)
    assert reason, page[:3000]
    assert demo_org["bob"].display_name in reason.group(0) and comment in reason.group(0)
    # It comes before the form.
    assert page.index("return-reason") < page.index('<form method="post"')


def test_the_demo_sign_in_page_says_who_approves_what(app, client, expense, demo_org):
    app.config["FORMWORK_DEMO"] = True
    page = client.get("/login").get_data(as_text=True)
    rows = {
        match.group(1): match.group(0)
        for match in re.finditer(r"<tr>\s*<td><code>(\w+)</code></td>.*?</tr>", page, re.S)
    }
    assert "Expense claim: Department head approval (Sales)" in rows["bob"]
    assert "Expense claim: Finance review" in rows["carol"]
    assert "Expense claim: CFO approval" in rows["dave"]
    assert "Expense claim: Cashier pays" in rows["grace"]
    assert "Submits requests" in rows["alice"] and "Expense claim" not in rows["alice"]
