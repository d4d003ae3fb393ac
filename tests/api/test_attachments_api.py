"""Attachments through the API: upload for a field, metadata, download, scope."""

from __future__ import annotations

import io

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def upload(client, headers, name="receipt.pdf", body=PDF, field="lines.receipt"):
    return client.post(
        "/api/attachments",
        headers=headers,
        content_type="multipart/form-data",
        data={"file": (io.BytesIO(body), name), "form": "expense_claim", "field": field},
    )


def test_upload_read_and_download(client, published, bearer):
    auth = bearer("alice")
    response = upload(client, auth)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert {"id", "filename", "size", "content_type"} <= set(body) and body["size"] == len(PDF)
    assert client.get(f"/api/attachments/{body['id']}", headers=auth).get_json()["filename"] == "receipt.pdf"
    download = client.get(f"/api/attachments/{body['id']}/content", headers=auth)
    assert download.status_code == 200 and download.data == PDF
    frank = bearer("frank")
    assert client.get(f"/api/attachments/{body['id']}", headers=frank).status_code == 404
    assert client.get(f"/api/attachments/{body['id']}/content", headers=frank).status_code == 404


def test_refused_uploads(client, published, bearer):
    auth = bearer("alice")
    assert upload(client, auth, name="run.exe", body=b"MZ...").status_code == 415
    assert upload(client, auth, field="reason").status_code == 400
    traversal = upload(client, auth, name="../../etc/passwd.pdf")
    assert traversal.status_code == 201 and "/" not in traversal.get_json()["filename"]
    missing = client.post(
        "/api/attachments", headers=auth, content_type="multipart/form-data", data={"form": "x"}
    )
    assert missing.status_code == 400 and "file" in missing.get_json()["error"]
    wrong = client.post("/api/attachments", headers=auth, json={"file": "x"})
    assert wrong.status_code == 415
