"""Uploads: limits from the field, content sniffing, safe names and storage, ownership."""

from __future__ import annotations

import hashlib
import io

import pytest
from records_samples import PDF, PNG, file_storage
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage

from formwork.extensions import db
from formwork.records import attachments, service
from formwork.records.attachments import UploadRefused, store_upload
from formwork.records.models import Attachment, Record
from formwork.workflow import submission


def stored_files(app) -> list:
    folder = app.config["FORMWORK_UPLOAD_DIR"]
    return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []


def test_upload_is_stored_under_a_random_key_with_its_hash(app, receipts, users):
    attachment = store_upload(file_storage("发票 2024.pdf", PDF), users["alice"], "receipts", "files")
    assert attachment.filename == "发票 2024.pdf"  # Chinese kept
    assert attachment.content_type == "application/pdf" and attachment.size == len(PDF)
    assert attachment.sha256 == hashlib.sha256(PDF).hexdigest()
    assert attachment.record_id is None and attachment.field_path == "files"
    path = attachments.storage_path(attachment.storage_key)
    assert path.read_bytes() == PDF and "发票" not in str(path)
    assert stored_files(app) == [path]


@pytest.mark.parametrize(
    "name, expected",
    [
        ("../../etc/passwd.pdf", "passwd.pdf"),
        ("..\\..\\windows\\evil.pdf", "evil.pdf"),
        ("/abs/path/x.pdf", "x.pdf"),
        ("a\x00b\x1f\u202ec.pdf", "abc.pdf"),
        ("....pdf", "pdf"),
        ("..", "file"),
    ],
)
def test_path_traversal_and_control_characters_are_neutralised(app, receipts, users, name, expected):
    assert attachments.sanitise_filename(name) == expected
    if expected.endswith(".pdf"):
        attachment = store_upload(file_storage(name, PDF), users["alice"], "receipts", "files")
        assert attachment.filename == expected
        assert all(app.config["FORMWORK_UPLOAD_DIR"] in p.parents for p in stored_files(app))


def test_too_large_is_refused_and_nothing_is_kept(app, receipts, users):
    with pytest.raises(UploadRefused) as caught:
        store_upload(file_storage("big.pdf", PDF + b"0" * 2000), users["alice"], "receipts", "files")
    assert caught.value.status == 413 and "at most" in caught.value.message
    assert stored_files(app) == [] and db.session.scalar(select(func.count()).select_from(Attachment)) == 0


def test_oversized_upload_is_not_read_into_memory(app, receipts, users):
    class Endless(io.RawIOBase):
        read_bytes = 0

        def readable(self):
            return True

        def readinto(self, buffer):
            buffer[:] = b"%" * len(buffer)
            Endless.read_bytes += len(buffer)
            return len(buffer)

    upload = FileStorage(io.BufferedReader(Endless(), buffer_size=4096), filename="huge.pdf")
    with pytest.raises(UploadRefused) as caught:
        store_upload(upload, users["alice"], "receipts", "files")
    assert caught.value.status == 413
    assert Endless.read_bytes <= 1000 + 2 * attachments.CHUNK


@pytest.mark.parametrize(
    "name, content, status, fragment",
    [
        ("tool.exe", b"MZ\x90\x00", 415, "Files of type .exe are not accepted here; accepted: .pdf, .png."),
        ("noext", PDF, 415, "without an extension"),
        ("fake.pdf", b"<html><script>alert(1)</script>", 415, "is not PDF"),
        ("fake.png", PDF, 415, "is not PNG"),
        ("empty.pdf", b"", 400, "empty"),
    ],
)
def test_refused_types_and_content(app, receipts, users, name, content, status, fragment):
    with pytest.raises(UploadRefused) as caught:
        store_upload(file_storage(name, content), users["alice"], "receipts", "files")
    assert caught.value.status == status and fragment in caught.value.message
    assert stored_files(app) == []


def test_unknown_form_or_field(receipts, users):
    with pytest.raises(UploadRefused) as caught:
        store_upload(file_storage("a.pdf", PDF), users["alice"], "nope", "files")
    assert caught.value.status == 404
    with pytest.raises(UploadRefused) as caught:
        store_upload(file_storage("a.pdf", PDF), users["alice"], "receipts", "note")
    assert caught.value.status == 400


def test_attachments_join_the_record_and_only_own_uploads_may_be_used(receipts, users):
    alice, frank, admin = users["alice"], users["frank"], users["admin"]
    pdf = store_upload(file_storage("a.pdf", PDF), alice, "receipts", "files")
    scan = store_upload(file_storage("scan.png", PNG), alice, "receipts", "items[4].scan")
    assert scan.field_path == "items.scan"
    franks = store_upload(file_storage("f.pdf", PDF), frank, "receipts", "files")

    with pytest.raises(service.ValidationFailed) as caught:
        submission.create_record("receipts", {"files": [franks.id]}, alice, submit=True)
    assert caught.value.errors == [
        {"field": "files", "message": f"file {franks.id} is not an upload of yours for this field"}
    ]
    with pytest.raises(service.ValidationFailed) as caught:  # right owner, wrong field
        submission.create_record("receipts", {"files": [scan.id]}, alice, submit=True)
    assert caught.value.errors[0]["field"] == "files"

    record = submission.create_record(
        "receipts",
        {"note": "taxi", "files": [pdf.id], "items": [{"what": "taxi", "scan": [scan.id]}]},
        alice,
        submit=False,
    )
    db.session.refresh(pdf)
    db.session.refresh(scan)
    assert pdf.record_id == record.id and scan.record_id == record.id
    # Editing the record keeps its own files; another record cannot take them.
    submission.update_record(record, {"note": "taxi home"}, alice, submit=False)
    with pytest.raises(service.ValidationFailed):
        submission.create_record("receipts", {"files": [pdf.id]}, alice, submit=False)
    assert db.session.scalar(select(func.count()).select_from(Record)) == 1

    # Reading: the uploader and whoever sees the record; nobody else.
    with attachments.open_attachment(pdf, alice) as handle:
        assert handle.read() == PDF
    with attachments.open_attachment(pdf, admin) as handle:
        assert handle.read() == PDF
    with pytest.raises(PermissionError):
        attachments.open_attachment(pdf, frank)
    assert attachments.get_visible_attachment(frank, pdf.id) is None
    assert attachments.get_visible_attachment(alice, franks.id) is None


def test_too_many_files(receipts, users):
    alice = users["alice"]
    ids = [store_upload(file_storage(f"{i}.pdf", PDF), alice, "receipts", "files").id for i in range(3)]
    with pytest.raises(service.ValidationFailed) as caught:
        submission.create_record("receipts", {"files": ids}, alice, submit=False)
    assert caught.value.errors == [{"field": "files", "message": "at most 2 files"}]
