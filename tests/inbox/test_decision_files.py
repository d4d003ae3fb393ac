"""Files sent with a decision are stored, claimed by the record and listed in its trail."""

from __future__ import annotations

import io

from sqlalchemy import select

from formwork.extensions import db
from formwork.records.models import Attachment
from formwork.workflow.models import OPEN, Task

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def test_file_with_a_decision_through_the_page(client, login, csrf_token, bearer, submit):
    record = submit("alice")
    task_id = db.session.scalar(select(Task.id).where(Task.record_id == record.id, Task.status == OPEN))
    login(client, "bob")
    token = csrf_token(client, f"/tasks/{task_id}")
    refused = client.post(
        f"/tasks/{task_id}/decision",
        content_type="multipart/form-data",
        data={"action": "approve", "csrf_token": token, "files": (io.BytesIO(b"MZ\x90\x00"), "tool.exe")},
    )
    assert refused.status_code == 422 and "not accepted" in refused.get_data(as_text=True)
    response = client.post(
        f"/tasks/{task_id}/decision",
        content_type="multipart/form-data",
        data={
            "action": "approve",
            "comment": "Quote attached",
            "csrf_token": token,
            "files": (io.BytesIO(PDF), "quote.pdf"),
        },
    )
    assert response.status_code == 303
    attachment = db.session.scalars(select(Attachment).where(Attachment.filename == "quote.pdf")).one()
    assert attachment.record_id == record.id
    history = client.get(f"/api/records/{record.id}/history", headers=bearer("alice")).get_json()["items"]
    approve = next(item for item in history if item["action"] == "approve")
    assert approve["comment"] == "Quote attached" and approve["attachments"][0]["filename"] == "quote.pdf"
    assert approve["actor"]["id"] == attachment.owner_id
    # The submitter sees the file in the trail of the record's page and may download it.
    client.post("/logout", data={"csrf_token": token})
    login(client, "alice")
    html = client.get(f"/records/{record.id}").get_data(as_text=True)
    assert f'/attachments/{attachment.id}">quote.pdf</a>' in html
    assert client.get(f"/attachments/{attachment.id}").status_code == 200


# ---- the API: upload for a task, then name the file in the decision ------------------------------


def _open_task(record, username: str) -> int:
    from formwork.org.users import user_by_username

    return db.session.scalar(
        select(Task.id).where(
            Task.record_id == record.id,
            Task.status == OPEN,
            Task.assignee_id == user_by_username(username).id,
        )
    )


def _upload(client, task_id: int, headers, content: bytes = PDF, name: str = "quote.pdf"):
    return client.post(
        f"/api/tasks/{task_id}/attachments",
        headers=headers,
        content_type="multipart/form-data",
        data={"file": (io.BytesIO(content), name)},
    )


def _stored_files(app) -> list:
    from pathlib import Path

    root = Path(app.config["FORMWORK_UPLOAD_DIR"])
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def test_file_with_a_decision_through_the_api(client, bearer, submit):
    record = submit("alice")
    task_id = _open_task(record, "bob")
    uploaded = _upload(client, task_id, bearer("bob"))
    assert uploaded.status_code == 201, uploaded.get_json()
    body = uploaded.get_json()
    assert body["field"] == f"$decision:{record.id}" and body["record_id"] is None
    # Until the decision claims it, only the uploader sees the file.
    assert client.get(f"/api/attachments/{body['id']}", headers=bearer("alice")).status_code == 404
    decided = client.post(
        f"/api/tasks/{task_id}/decision",
        headers=bearer("bob"),
        json={"action": "approve", "comment": "Quote attached", "attachments": [body["id"]]},
    )
    assert decided.status_code == 200, decided.get_json()
    assert db.session.get(Attachment, body["id"]).record_id == record.id
    history = client.get(f"/api/records/{record.id}/history", headers=bearer("alice")).get_json()["items"]
    approve = next(item for item in history if item["action"] == "approve")
    assert [item["id"] for item in approve["attachments"]] == [body["id"]]
    assert client.get(f"/api/attachments/{body['id']}/content", headers=bearer("alice")).data == PDF
    # The task is closed now: no more uploads for it.
    assert _upload(client, task_id, bearer("bob")).status_code == 409


def test_decision_files_are_claimable_only_by_the_uploaders_decision_on_that_record(client, bearer, submit):
    first, second = submit("alice", reason="First"), submit("alice", reason="Second")
    on_first = _upload(client, _open_task(first, "bob"), bearer("bob")).get_json()["id"]
    # Someone else cannot upload for bob's task, nor see that it exists.
    assert _upload(client, _open_task(first, "bob"), bearer("carol")).status_code == 404
    # A file for the first request cannot go with a decision on the second.
    refused = client.post(
        f"/api/tasks/{_open_task(second, 'bob')}/decision",
        headers=bearer("bob"),
        json={"action": "approve", "attachments": [on_first]},
    )
    assert refused.status_code == 422 and "not available" in refused.get_json()["error"]
    # A file uploaded for a form field is not a decision file either.
    field_file = client.post(
        "/api/attachments",
        headers=bearer("bob"),
        content_type="multipart/form-data",
        data={"file": (io.BytesIO(PDF), "r.pdf"), "form": "expense_claim", "field": "lines.receipt"},
    )
    assert field_file.status_code == 201, field_file.get_json()
    refused = client.post(
        f"/api/tasks/{_open_task(first, 'bob')}/decision",
        headers=bearer("bob"),
        json={"action": "approve", "attachments": [field_file.get_json()["id"]]},
    )
    assert refused.status_code == 422
    assert _open_task(first, "bob") is not None and _open_task(second, "bob") is not None
    assert db.session.get(Attachment, on_first).record_id is None


def test_decision_upload_limits(app, client, bearer, submit):
    record = submit("alice")
    task_id = _open_task(record, "bob")
    refused = _upload(client, task_id, bearer("bob"), b"MZ\x90\x00", "tool.exe")
    assert refused.status_code == 415 and "not accepted" in refused.get_json()["error"]
    assert _upload(client, task_id, bearer("bob"), b"not a pdf", "fake.pdf").status_code == 415
    app.config["FORMWORK_DECISION_MAX_SIZE"] = 1024
    too_big = _upload(client, task_id, bearer("bob"), PDF + b"x" * 2048)
    assert too_big.status_code == 413 and "1 KB" in too_big.get_json()["error"]
    app.config["FORMWORK_DECISION_ACCEPT"] = [".txt"]
    assert _upload(client, task_id, bearer("bob")).status_code == 415
    assert _upload(client, task_id, bearer("bob"), b"note", "note.txt").status_code == 201
    missing = client.post(
        f"/api/tasks/{task_id}/attachments",
        headers=bearer("bob"),
        content_type="multipart/form-data",
        data={"other": "x"},
    )
    assert missing.status_code == 400
    assert db.session.scalar(select(Attachment.id).where(Attachment.filename == "tool.exe")) is None


# ---- the page: a refused decision keeps none of its files ----------------------------------------


def test_a_refused_decision_on_the_page_leaves_no_files(app, client, login, csrf_token, submit):
    record = submit("alice")
    task_id = _open_task(record, "bob")
    login(client, "bob")
    token = csrf_token(client, f"/tasks/{task_id}")
    # A reject needs a comment: refused by the workflow after the file was read.
    refused = client.post(
        f"/tasks/{task_id}/decision",
        content_type="multipart/form-data",
        data={"action": "reject", "csrf_token": token, "files": (io.BytesIO(PDF), "quote.pdf")},
    )
    assert refused.status_code == 422 and "comment" in refused.get_data(as_text=True)
    # The second file is refused after the first was stored: neither is kept.
    refused = client.post(
        f"/tasks/{task_id}/decision",
        content_type="multipart/form-data",
        data={
            "action": "approve",
            "csrf_token": token,
            "files": [(io.BytesIO(PDF), "quote.pdf"), (io.BytesIO(b"MZ"), "tool.exe")],
        },
    )
    assert refused.status_code == 422
    assert db.session.scalars(select(Attachment)).all() == []
    assert _stored_files(app) == []
    assert _open_task(record, "bob") == task_id
    # Without the CSRF token nothing is even read.
    assert client.post(
        f"/tasks/{task_id}/decision",
        content_type="multipart/form-data",
        data={"action": "approve", "files": (io.BytesIO(PDF), "q.pdf")},
    ).status_code in (400, 403)
    assert _stored_files(app) == []
