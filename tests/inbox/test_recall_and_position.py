"""Taking a delegated task back, add_signer's required position, and the route's withdraw setting,
through the API (bearer tokens) and the browser (session + CSRF)."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import yaml
from sqlalchemy import select

from formwork.definitions import store
from formwork.extensions import db
from formwork.workflow.models import OPEN, Task, TrailEntry

ROOT = Path(__file__).resolve().parents[2]


def load(path: str) -> dict:
    return yaml.safe_load((ROOT / path).read_text("utf-8"))


def task_of(record_id: int, user_id: int, status: str = OPEN) -> Task:
    return db.session.scalar(
        select(Task)
        .where(
            Task.record_id == record_id,
            Task.assignee_id == user_id,
            Task.status == status,
            Task.kind == "approval",
        )
        .order_by(Task.id.desc())
    )


def delegate(client, bearer, record, demo_org) -> tuple[int, int]:
    bob_task = task_of(record.id, demo_org["bob"].id).id
    response = client.post(
        f"/api/tasks/{bob_task}/decision",
        json={"action": "delegate", "to_user": "erin"},
        headers=bearer("bob"),
    )
    assert response.status_code == 200, response.get_json()
    return bob_task, task_of(record.id, demo_org["erin"].id).id


def test_recall_through_the_api(client, bearer, submit, demo_org):
    record = submit("alice")
    bob_task, erin_task = delegate(client, bearer, record, demo_org)
    detail = client.get(f"/api/tasks/{bob_task}", headers=bearer("bob")).get_json()
    assert detail["status"] == "waiting" and detail["actions"] == ["recall"]
    response = client.post(
        f"/api/tasks/{bob_task}/decision",
        json={"action": "recall", "comment": "Mine again"},
        headers=bearer("bob"),
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["task"]["status"] == "open"
    assert [(s["key"], s["holder_ids"]) for s in body["process"]["current"]] == [
        ("department_head", [demo_org["bob"].id])
    ]
    # The delegate's task is gone: deciding it is "already decided"; recalling twice has nothing to take back.
    late = client.post(f"/api/tasks/{erin_task}/decision", json={"action": "approve"}, headers=bearer("erin"))
    assert late.status_code == 409
    again = client.post(f"/api/tasks/{bob_task}/decision", json={"action": "recall"}, headers=bearer("bob"))
    assert again.status_code == 422 and "nothing to take back" in again.get_json()["error"]
    # Nobody else can recall bob's task, and the delegate sees an opinion task without "recall".
    assert (
        client.post(
            f"/api/tasks/{bob_task}/decision", json={"action": "recall"}, headers=bearer("erin")
        ).status_code
        == 404
    )
    assert db.session.scalar(select(TrailEntry.comment).where(TrailEntry.action == "recall")) == "Mine again"


def test_the_openapi_document_knows_recall_and_the_withdraw_setting(client):
    spec = client.get("/api/openapi.json").get_json()
    decision = spec["components"]["schemas"]["Decision"]["properties"]
    assert "recall" in decision["action"]["enum"]
    assert "required" in decision["position"]["description"]


def test_add_signer_without_a_position_is_a_clear_422(client, bearer, submit, demo_org, login, csrf_token):
    record = submit("alice")
    bob_task = task_of(record.id, demo_org["bob"].id).id
    response = client.post(
        f"/api/tasks/{bob_task}/decision",
        json={"action": "add_signer", "to_user": "ivan"},
        headers=bearer("bob"),
    )
    assert response.status_code == 422
    assert response.get_json()["field"] == "position" and "before" in response.get_json()["error"]
    login(client, "bob")
    token = csrf_token(client, f"/tasks/{bob_task}")
    page = client.post(
        f"/tasks/{bob_task}/decision",
        data={"action": "add_signer", "signer": str(demo_org["ivan"].id), "csrf_token": token},
    )
    assert page.status_code == 422 and "before" in page.get_data(as_text=True)
    db.session.expire_all()
    assert task_of(record.id, demo_org["bob"].id).id == bob_task  # nothing changed
    ok = client.post(
        f"/tasks/{bob_task}/decision",
        data={
            "action": "add_signer",
            "signer": str(demo_org["ivan"].id),
            "position": "after",
            "csrf_token": token,
        },
    )
    assert ok.status_code == 303


def test_recall_in_the_browser_with_csrf(client, bearer, submit, demo_org, login, csrf_token):
    record = submit("alice")
    bob_task, erin_task = delegate(client, bearer, record, demo_org)
    login(client, "bob")
    # The request's page leads bob to his waiting task, which offers to take it back.
    record_page = client.get(f"/records/{record.id}").get_data(as_text=True)
    assert f'href="/tasks/{bob_task}"' in record_page and "waiting for the person you asked" in record_page
    page = client.get(f"/tasks/{bob_task}").get_data(as_text=True)
    assert 'name="action" value="recall"' in page and "Take back" in page
    token = csrf_token(client, f"/tasks/{bob_task}")
    # Without the CSRF token nothing happens.
    assert client.post(f"/tasks/{bob_task}/decision", data={"action": "recall"}).status_code == 400
    assert task_of(record.id, demo_org["erin"].id).id == erin_task
    response = client.post(f"/tasks/{bob_task}/decision", data={"action": "recall", "csrf_token": token})
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/tasks/{bob_task}")
    db.session.expire_all()
    assert db.session.get(Task, erin_task).status == "cancelled"
    assert db.session.get(Task, bob_task).status == "open"
    reopened = client.get(f"/tasks/{bob_task}").get_data(as_text=True)
    assert 'name="action" value="approve"' in reopened and 'value="recall"' not in reopened
    again = client.post(
        f"/tasks/{bob_task}/decision",
        data={"action": "recall", "csrf_token": token},
        headers={"HX-Request": "true"},
    )
    assert again.status_code == 422 and "nothing to take back" in again.get_data(as_text=True)


def test_after_the_delegate_answered_there_is_no_recall_button(client, bearer, submit, demo_org, login):
    record = submit("alice")
    bob_task, erin_task = delegate(client, bearer, record, demo_org)
    login(client, "erin")
    page = client.get(f"/tasks/{erin_task}").get_data(as_text=True)
    assert 'value="recall"' not in page  # the delegate has no recall
    client.post(
        "/logout", data={"csrf_token": re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)}
    )
    assert (
        client.post(
            f"/api/tasks/{erin_task}/decision",
            json={"action": "approve", "comment": "Fine"},
            headers=bearer("erin"),
        ).status_code
        == 200
    )
    login(client, "bob")
    assert 'value="recall"' not in client.get(f"/tasks/{bob_task}").get_data(as_text=True)


def test_withdraw_setting_through_the_api_and_the_page(client, bearer, demo_org, login, csrf_token):
    from formwork.org.users import user_by_username
    from formwork.workflow import submission

    def claim_data(reason="Workshop"):
        return {
            "category": "other",
            "reason": reason,
            "payee_name": "Payee",
            "payee_bank": "ICBC Shanghai",
            "payee_account": "6222021234567890123",
            "lines": [
                {
                    "date": date.today().replace(day=1).isoformat(),
                    "type": "other",
                    "amount": "120.00",
                    "invoice_no": "8" + reason[:1].encode().hex()[:7].zfill(7),
                }
            ],
        }

    store.publish(load("definitions/forms/expense_claim.yaml"))
    route = load("definitions/routes/expense_claim.yaml")
    route["withdraw"] = "never"
    store.publish(route)
    record = submission.create_record("expense_claim", claim_data(), user_by_username("alice"), submit=True)
    db.session.commit()
    response = client.post(f"/api/records/{record.id}/withdraw", headers=bearer("alice"))
    assert response.status_code == 409 and "does not allow" in response.get_json()["error"]
    login(client, "alice")
    page = client.get(f"/records/{record.id}").get_data(as_text=True)
    assert f"/records/{record.id}/withdraw" not in page  # no Withdraw button when the route never allows it
    route["withdraw"] = "while_running"
    store.publish(yaml.safe_load(yaml.safe_dump(route)))
    later = submission.create_record(
        "expense_claim", claim_data(reason="Second"), user_by_username("alice"), submit=True
    )
    db.session.commit()
    bob_task = task_of(later.id, demo_org["bob"].id).id
    assert (
        client.post(
            f"/api/tasks/{bob_task}/decision", json={"action": "approve"}, headers=bearer("bob")
        ).status_code
        == 200
    )
    assert f"/records/{later.id}/withdraw" in client.get(f"/records/{later.id}").get_data(as_text=True)
    token = csrf_token(client, f"/records/{later.id}")
    client.post(f"/records/{later.id}/withdraw", data={"csrf_token": token})
    db.session.expire_all()
    assert db.session.get(type(later), later.id).status == "withdrawn"


def test_a_task_handed_on_is_listed_under_decided_with_take_back(
    client, bearer, submit, demo_org, login, csrf_token
):
    record = submit("alice")
    bob_task, erin_task = delegate(client, bearer, record, demo_org)
    login(client, "bob")
    # Neither in the inbox (not bob's to decide now) nor lost: 已办 lists it as delegated, waiting.
    page = client.get("/inbox/decided", headers={"Accept-Language": "en"}).get_data(as_text=True)
    section = re.search(r'<section class="card handed-on".*?</section>', page, re.S)
    assert section, page
    assert f'href="/tasks/{bob_task}"' in section.group(0)
    assert demo_org["erin"].display_name in section.group(0)
    assert 'name="action" value="recall"' in section.group(0)
    token = csrf_token(client, "/inbox/decided")
    response = client.post(f"/tasks/{bob_task}/decision", data={"action": "recall", "csrf_token": token})
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(Task, erin_task).status == "cancelled"
    assert "handed-on" not in client.get("/inbox/decided").get_data(as_text=True)


def test_a_signer_added_before_is_listed_as_waiting_without_take_back(
    client, bearer, submit, demo_org, login
):
    record = submit("alice")
    bob_task = task_of(record.id, demo_org["bob"].id).id
    response = client.post(
        f"/api/tasks/{bob_task}/decision",
        json={"action": "add_signer", "to_user": "ivan", "position": "before"},
        headers=bearer("bob"),
    )
    assert response.status_code == 200, response.get_json()
    login(client, "bob")
    page = client.get("/inbox/decided").get_data(as_text=True)
    section = re.search(r'<section class="card handed-on".*?</section>', page, re.S).group(0)
    assert f'href="/tasks/{bob_task}"' in section and demo_org["ivan"].display_name in section
    assert 'value="recall"' not in section
