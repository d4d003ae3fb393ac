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
