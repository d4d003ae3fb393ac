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


def test_the_record_and_version_parts_are_checked_before_any_query(client, published, bearer):
    auth = bearer("alice")

    def post(**parts):
        data = {
            "file": (io.BytesIO(PDF), "r.pdf"),
            "form": "expense_claim",
            "field": "lines.receipt",
            **parts,
        }
        return client.post("/api/attachments", headers=auth, content_type="multipart/form-data", data=data)

    # Beyond any id (PostgreSQL's ids are 32-bit): no such record, not a database error.
    assert post(record="4231812678").status_code == 404
    refused = post(record="12x")
    assert refused.status_code == 422 and refused.get_json()["field"] == "record"
    assert post(version="1234567890").status_code == 422
    assert post(version="99").status_code == 404
