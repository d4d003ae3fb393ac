"""What an approver sees first: amount and applicant on inbox rows and the task page's summary,
duplicate-invoice alerts as banners, batch approval (pages and API), notifications leading to tasks."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from sqlalchemy import select

from formwork.definitions import store
from formwork.extensions import db
from formwork.notifications.models import Notification
from formwork.workflow.models import OPEN, Task

ROOT = Path(__file__).resolve().parents[2]


def load(path: str) -> dict:
    return yaml.safe_load((ROOT / path).read_text("utf-8"))


def open_task(record_id: int, user_id: int | None = None) -> Task:
    stmt = select(Task).where(Task.record_id == record_id, Task.status == OPEN, Task.kind == "approval")
    if user_id is not None:
        stmt = stmt.where(Task.assignee_id == user_id)
    return db.session.scalars(stmt.order_by(Task.id)).first()


def _csrf(client, path="/inbox"):
    html = client.get(path).get_data(as_text=True)
    return re.search(r'<meta name="csrf-token" content="([^"]+)"', html).group(1)


def test_inbox_rows_show_amount_applicant_and_department(client, login, submit):
    submit("alice", "1234.50", reason="Taxi to the airport")
    login(client, "bob")
    html = client.get("/inbox").get_data(as_text=True)
    row = re.search(r'<li class="task-row[^"]*">.*?</li>\s*(?=<li class="task-row|</ul>)', html, re.S).group(
        0
    )
    assert "Taxi to the airport" in row
    assert re.search(r'class="task-row__amount">[^<]*1,234\.50', row)
    assert re.search(r"From 爱丽丝 Alice · Sales", row)


def test_task_page_leads_with_the_summary_then_content_then_decision(client, login, submit, demo_org):
    record = submit("alice", "52000.00", reason="Conference")
    task = open_task(record.id, demo_org["bob"].id)
    login(client, "bob")
    html = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    summary = html[html.index('class="task-summary"') : html.index('class="task-layout"')]
    assert "52,000.00" in summary and "Total" in summary
    assert "爱丽丝 Alice · Sales" in summary
    assert "Department head approval" in summary and "Waiting" in summary
    # Summary, then the details, then the decision panel.
    assert (
        html.index('class="task-summary"')
        < html.index("<h2>Details</h2>")
        < html.index('id="decision-panel"')
    )
    assert 'class="task-page task-page--open"' in html


def test_a_duplicate_invoice_is_a_banner_naming_the_number_and_the_other_claim(
    client, login, submit, demo_org
):
    first = submit("alice", "300.00", reason="Dinner", invoice="55550001")
    second = submit("frank", "450.00", reason="Dinner again", invoice="55550001")
    task = open_task(second.id, demo_org["bob"].id)
    login(client, "bob")
    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    banner = re.search(r'<div class="alert-banner".*?</div>', page, re.S).group(0)
    assert "An invoice number on this claim also appears on another claim" in banner
    assert "Invoice number 55550001 is also on:" in banner
    assert f'href="/records/{first.id}"' in banner
    inbox = client.get("/inbox").get_data(as_text=True)
    rows = re.findall(r'<li class="task-row[^"]*">.*?</li>\s*(?=<li class="task-row|</ul>)', inbox, re.S)
    alerted = [row for row in rows if "Dinner again" in row]
    clean = [row for row in rows if "Dinner again" not in row and "Dinner" in row]
    assert len(alerted) == 1 and "task-row--alert" in alerted[0] and "55550001" in alerted[0]
    assert f'href="/records/{first.id}"' in alerted[0]
    assert clean and "alert-banner" not in clean[0]
    # finance's notification names the invoice number and the other claim
    note = db.session.scalars(
        select(Notification).where(Notification.kind == "alert", Notification.record_id == second.id)
    ).first()
    assert note.params["invoices"] == f"55550001 (#{first.id})"


def test_batch_approval_decides_each_task_with_a_result_per_row(client, login, submit, demo_org):
    records = [submit("alice", reason=f"Trip {n}") for n in range(3)]
    tasks = [open_task(r.id, demo_org["bob"].id) for r in records]
    other = submit("erin", reason="Not bob's")  # dave's task
    foreign = open_task(other.id)
    login(client, "bob")
    html = client.get("/inbox").get_data(as_text=True)
    assert 'id="batch-form"' in html and html.count('name="task_ids"') == 3
    token = _csrf(client)
    # Decide the first one alone: the batch then finds it already decided.
    client.post(f"/tasks/{tasks[0].id}/decision", data={"csrf_token": token, "action": "approve"})
    response = client.post(
        "/inbox/approve",
        data={
            "csrf_token": token,
            "task_ids": [str(t.id) for t in tasks] + [str(foreign.id)],
            "comment": "All fine",
        },
    )
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Approved 2 of 4" in page
    results = dict(
        re.findall(r'batch-result--(ok|refused)" data-task-id="(\d+)"', page)[i][::-1] for i in range(4)
    )
    assert results == {
        str(tasks[0].id): "refused",
        str(tasks[1].id): "ok",
        str(tasks[2].id): "ok",
        str(foreign.id): "refused",
    }
    assert "Not bob&#39;s" not in page and "Not bob's" not in page  # nothing about someone else's task
    db.session.expire_all()
    for task in tasks[1:]:
        decided = db.session.get(Task, task.id)
        assert decided.status != OPEN and decided.decision == "approve" and decided.comment == "All fine"
    assert db.session.get(Task, foreign.id).status == OPEN
    # Without CSRF nothing happens.
    assert client.post("/inbox/approve", data={"task_ids": [str(foreign.id)]}).status_code == 400


def test_batch_refuses_an_empty_choice(client, login, submit):
    submit("alice", reason="Trip")
    login(client, "bob")
    response = client.post("/inbox/approve", data={"csrf_token": _csrf(client)})
    assert response.status_code == 422 and "Choose at least one task." in response.get_data(as_text=True)


def _route_with_required_comment() -> None:
    route = load("definitions/routes/expense_claim.yaml")
    route["steps"][0]["approve_comment"] = "required"
    store.publish(route)


def test_a_step_needing_a_comment_is_not_batchable_and_the_service_says_so(
    client, login, submit, demo_org, bearer
):
    _route_with_required_comment()
    record = submit("alice", reason="Careful one")
    task = open_task(record.id, demo_org["bob"].id)
    login(client, "bob")
    html = client.get("/inbox").get_data(as_text=True)
    assert 'name="task_ids"' not in html
    response = client.post("/api/tasks/approve", json={"task_ids": [task.id]}, headers=bearer("bob"))
    assert response.status_code == 200
    [result] = response.get_json()["results"]
    assert result == {
        "task_id": task.id,
        "ok": False,
        "status": 422,
        "error": "This step needs a comment to approve.",
    }
    single = client.post(f"/api/tasks/{task.id}/decision", json={"action": "approve"}, headers=bearer("bob"))
    assert single.status_code == 422
    ok = client.post(
        f"/api/tasks/{task.id}/decision",
        json={"action": "approve", "comment": "Checked"},
        headers=bearer("bob"),
    )
    assert ok.status_code == 200


def test_batch_approval_in_the_api(client, submit, demo_org, bearer):
    records = [submit("alice", reason=f"API trip {n}") for n in range(2)]
    tasks = [open_task(r.id, demo_org["bob"].id) for r in records]
    response = client.post(
        "/api/tasks/approve", json={"task_ids": [t.id for t in tasks] + [999999]}, headers=bearer("bob")
    )
    assert response.status_code == 200
    body = response.get_json()
    assert [r["ok"] for r in body["results"]] == [True, True, False]
    assert body["results"][2]["status"] == 404
    assert (body["approved"], body["refused"]) == (2, 1)
    for bad in ({}, {"task_ids": []}, {"task_ids": ["x"]}, {"task_ids": list(range(1, 102))}):
        answer = client.post("/api/tasks/approve", json=bad, headers=bearer("bob"))
        assert answer.status_code == 422 and answer.get_json()["field"] == "task_ids"


def test_a_notification_about_my_task_leads_to_the_task(client, login, submit, demo_org):
    record = submit("alice", reason="Team lunch")
    task = open_task(record.id, demo_org["bob"].id)
    login(client, "bob")
    html = client.get("/notifications").get_data(as_text=True)
    assert f'href="/tasks/{task.id}"' in html and "Open the task" in html
    token = _csrf(client, "/notifications")
    note = db.session.scalars(
        select(Notification).where(
            Notification.user_id == demo_org["bob"].id, Notification.task_id == task.id
        )
    ).first()
    response = client.post(f"/notifications/{note.id}/read", data={"csrf_token": token, "open": "1"})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/tasks/{task.id}")
    # alice's notification of the same request leads to her record, not to bob's task
    login(client, "alice")
    html = client.get("/notifications").get_data(as_text=True)
    assert f'href="/tasks/{task.id}"' not in html


def test_the_menu_marks_the_section_of_every_page(client, login, submit, demo_org):
    record = submit("alice", reason="Trip")
    task = open_task(record.id, demo_org["bob"].id)
    login(client, "bob")
    for path, label in (
        ("/", "Home"),
        ("/inbox", "Inbox"),
        (f"/tasks/{task.id}", "Inbox"),
        ("/forms", "New record"),
        ("/requests", "My requests"),
        (f"/records/{record.id}", "My requests"),
    ):
        html = client.get(path).get_data(as_text=True)
        nav = html[html.index('<nav class="site-nav"') : html.index("</nav>")]
        current = re.findall(r'aria-current="page">([^<]+)', nav)
        assert [c.strip() for c in current] == [label], (path, current)
