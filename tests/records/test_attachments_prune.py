"""Unclaimed uploads (failed or abandoned submissions) are removed after a while: row and file, once,
safely."""

from __future__ import annotations

import os
import threading
import time
from datetime import datetime, timedelta, timezone

import pytest
from records_samples import PDF, file_storage
from sqlalchemy import func, select, update

from formwork.extensions import db
from formwork.records import attachments
from formwork.records.attachments import prune_unclaimed, storage_path, store_upload
from formwork.records.models import Attachment
from formwork.workflow import submission


def _upload(users, name="a.pdf", *, hours_old: float = 0):
    attachment = store_upload(file_storage(name, PDF), users["alice"], "receipts", "files")
    if hours_old:
        db.session.execute(
            update(Attachment)
            .where(Attachment.id == attachment.id)
            .values(created_at=datetime.now(timezone.utc) - timedelta(hours=hours_old))
        )
        db.session.commit()
    return attachment.id, attachment.storage_key


def _ids() -> set[int]:
    return set(db.session.scalars(select(Attachment.id)))


def test_old_unclaimed_uploads_go_claimed_and_recent_ones_stay(receipts, users):
    old_id, old_key = _upload(users, "old.pdf", hours_old=25)
    recent_id, recent_key = _upload(users, "recent.pdf", hours_old=2)
    claimed_id, claimed_key = _upload(users, "claimed.pdf", hours_old=48)
    submission.create_record(
        "receipts", {"note": "taxi", "files": [claimed_id]}, users["alice"], submit=False
    )

    report = prune_unclaimed()
    assert (report.removed, report.bytes, report.missing_files) == (1, len(PDF), 0)
    assert _ids() == {recent_id, claimed_id}
    assert not storage_path(old_key).exists()
    assert storage_path(recent_key).exists() and storage_path(claimed_key).exists()

    again = prune_unclaimed()  # idempotent: nothing left to do
    assert again.removed == 0 and _ids() == {recent_id, claimed_id}


def test_the_age_is_configurable(app, receipts, users):
    upload_id, _ = _upload(users, hours_old=3)
    assert prune_unclaimed().removed == 0
    app.config["FORMWORK_UNCLAIMED_UPLOAD_HOURS"] = 2
    assert prune_unclaimed().removed == 1
    assert upload_id not in _ids()
    _upload(users, hours_old=0.5)
    assert prune_unclaimed(timedelta(minutes=10)).removed == 1


def test_a_missing_file_and_unfinished_partial_files(app, receipts, users):
    upload_id, key = _upload(users, hours_old=30)
    storage_path(key).unlink()
    partial = storage_path("ab" * 16).with_name("ab" * 16 + ".part")
    partial.parent.mkdir(parents=True, exist_ok=True)
    partial.write_bytes(b"half an upload")
    old = time.time() - 30 * 3600
    os.utime(partial, (old, old))
    fresh = partial.with_name("cd" * 16 + ".part")
    fresh.write_bytes(b"being uploaded right now")
    report = prune_unclaimed()
    assert (report.removed, report.missing_files, report.partial_files) == (1, 1, 1)
    assert not partial.exists() and fresh.exists()


def test_a_claim_at_the_same_moment_wins_and_keeps_the_file(app, receipts, users, monkeypatch):
    upload_id, key = _upload(users, hours_old=30)
    record = submission.create_record("receipts", {"note": "later"}, users["alice"], submit=False)
    real_delete = attachments.delete

    def claim_first(table):
        # A record claims the file between the prune's look and its delete (another connection).
        with db.engine.begin() as connection:
            connection.execute(
                update(Attachment).where(Attachment.id == upload_id).values(record_id=record.id)
            )
        return real_delete(table)

    monkeypatch.setattr(attachments, "delete", claim_first)
    report = prune_unclaimed()
    assert report.removed == 0
    assert storage_path(key).exists()
    db.session.expire_all()
    assert db.session.get(Attachment, upload_id).record_id == record.id


def test_a_row_another_copy_removed_is_left_to_that_copy(app, receipts, users, monkeypatch):
    upload_id, key = _upload(users, hours_old=30)
    real_delete = attachments.delete

    def other_copy_first(table):
        with db.engine.begin() as connection:
            connection.execute(real_delete(Attachment).where(Attachment.id == upload_id))
        return real_delete(table)

    monkeypatch.setattr(attachments, "delete", other_copy_first)
    report = prune_unclaimed()
    assert report.removed == 0
    assert storage_path(key).exists()  # the copy whose delete removed the row removes the file


def test_two_copies_at_once_remove_each_upload_exactly_once(app, receipts, users):
    keys = [_upload(users, f"{index}.pdf", hours_old=30)[1] for index in range(12)]
    db.session.remove()
    barrier = threading.Barrier(2)
    reports, failures = [], []

    def copy() -> None:
        with app.app_context():
            try:
                barrier.wait()
                reports.append(prune_unclaimed(batch=3))
            except Exception as exc:  # pragma: no cover - shown by the assertion below
                failures.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=copy) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
    assert sum(r.removed for r in reports) == 12
    assert sum(r.missing_files for r in reports) == 0
    assert db.session.scalar(select(func.count()).select_from(Attachment)) == 0
    assert not any(storage_path(key).exists() for key in keys)


def test_due_run_and_the_prune_command(app, receipts, users):
    runner = app.test_cli_runner()
    _upload(users, hours_old=30)
    result = runner.invoke(args=["due", "run"])
    assert result.exit_code == 0, result.output
    assert "unclaimed uploads removed 1" in result.output
    _upload(users, hours_old=1)
    result = runner.invoke(args=["attachments", "prune"])
    assert result.exit_code == 0 and "unclaimed uploads removed 0" in result.output
    result = runner.invoke(args=["attachments", "prune", "--older-than-hours", "0.5"])
    assert result.exit_code == 0 and "unclaimed uploads removed 1" in result.output


@pytest.mark.parametrize("value", ["-1", "soon"])
def test_the_prune_command_refuses_a_bad_age(app, value):
    result = app.test_cli_runner().invoke(args=["attachments", "prune", "--older-than-hours", value])
    assert result.exit_code == 2
