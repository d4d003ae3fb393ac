"""Uploaded files: checked against their field's limits, sniffed, stored under random names.

An upload belongs to its uploader until a record claims it (``records.service``).
The stored file is named by a random key under ``FORMWORK_UPLOAD_DIR`` — never by
anything the user sent — and the user's file name is kept only as a sanitised
display name. The type must be accepted by the field *by extension* and the
content must really be of that type (a ``.pdf`` that is not a PDF is refused).
Files are streamed to disk in chunks, so an oversized upload is refused after
reading at most ``max_size`` + one chunk, whatever its size.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import IO, Any, Callable, Sequence

from flask import Response, current_app, send_file
from flask_babel import gettext as _
from sqlalchemy import delete, select

from ..db_types import utcnow
from ..definitions import store
from ..extensions import db, rows_affected, transaction
from ..file_names import extension
from ..forms import catalogue
from ..forms.model import schema_path
from . import access
from .models import Attachment

CHUNK = 64 * 1024
MAX_DISPLAY_NAME = 200


class UploadRefused(Exception):
    """An upload that cannot be stored; ``status`` is the HTTP status, ``message`` safe to show."""

    def __init__(self, message: str, status: int = 400):
        self.message = message
        self.status = status
        super().__init__(message)


# --- content sniffing ------------------------------------------------------------------------


def _is_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the end of the sniffed chunk is still text.
        return exc.start >= len(head) - 3
    return True


_ZIP: Callable[[bytes], bool] = lambda head: head.startswith(b"PK\x03\x04")  # noqa: E731

# extension → (content type, does the head of the file look like it?)
SNIFFERS: dict[str, tuple[str, Callable[[bytes], bool]]] = {
    ".pdf": ("application/pdf", lambda head: head.startswith(b"%PDF-")),
    ".png": ("image/png", lambda head: head.startswith(b"\x89PNG\r\n\x1a\n")),
    ".jpg": ("image/jpeg", lambda head: head.startswith(b"\xff\xd8\xff")),
    ".jpeg": ("image/jpeg", lambda head: head.startswith(b"\xff\xd8\xff")),
    ".gif": ("image/gif", lambda head: head[:6] in (b"GIF87a", b"GIF89a")),
    ".webp": ("image/webp", lambda head: head[:4] == b"RIFF" and head[8:12] == b"WEBP"),
    ".zip": ("application/zip", _ZIP),
    ".docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", _ZIP),
    ".xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", _ZIP),
    ".pptx": ("application/vnd.openxmlformats-officedocument.presentationml.presentation", _ZIP),
    ".ofd": ("application/ofd", _ZIP),  # Chinese e-invoices
    ".txt": ("text/plain; charset=utf-8", _is_text),
    ".csv": ("text/csv; charset=utf-8", _is_text),
}
INLINE_TYPES = {"application/pdf", "image/png", "image/jpeg", "image/gif", "image/webp"}

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def sanitise_filename(name: Any) -> str:
    """A safe display name: no directories, ``..``, control or format characters; Chinese kept."""
    text = unicodedata.normalize("NFC", str(name or ""))
    text = text.replace("\\", "/").rsplit("/", 1)[-1]
    text = "".join(ch for ch in text if unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co"))
    text = _CONTROL.sub("", text).replace("..", ".")
    text = text.strip().lstrip(".").strip()
    if len(text) > MAX_DISPLAY_NAME:
        stem, dot, suffix = text.rpartition(".")
        keep = MAX_DISPLAY_NAME - len(suffix) - 1
        text = (stem[:keep] + dot + suffix) if dot and len(suffix) <= 10 else text[:MAX_DISPLAY_NAME]
    return text or "file"


# --- storage -----------------------------------------------------------------------------------


def upload_dir() -> Path:
    return Path(current_app.config["FORMWORK_UPLOAD_DIR"])


def storage_path(storage_key: str) -> Path:
    if not re.fullmatch(r"[0-9a-f]{32}", storage_key):
        raise ValueError("not a storage key")
    return upload_dir() / storage_key[:2] / storage_key


def _field_limits(form_key: str, field_path: str, definition: Any = None) -> tuple[str, Any]:
    """The attachment field of a file, in ``definition`` (the record's or shown version) or the current."""
    if definition is not None:
        if definition.kind != "form" or definition.key != form_key:
            raise UploadRefused(
                _(
                    'Version %(version)s is not a version of form "%(form)s".',
                    version=definition.version,
                    form=str(form_key)[:100],
                ),
                400,
            )
        version = definition
    else:
        version = store.current("form", form_key) if isinstance(form_key, str) else None
    if version is None:
        raise UploadRefused(_('There is no published form "%(form)s".', form=str(form_key)[:100]), 404)
    form = catalogue.compiled_form(version)
    path = schema_path(field_path) if isinstance(field_path, str) else ""
    field = form.field(path)
    if field is None or field.type.name != "attachment":
        raise UploadRefused(
            _('"%(field)s" is not an attachment field of form "%(form)s".', field=path[:100], form=form_key),
            400,
        )
    return path, field


def _stream_to(source: IO[bytes], target: IO[bytes], limit: int, digest: Any) -> tuple[int, bytes]:
    """Copy in chunks; stop as soon as ``limit`` is passed. Returns (size, first bytes)."""
    size = 0
    head = b""
    while True:
        chunk = source.read(CHUNK)
        if not chunk:
            return size, head
        size += len(chunk)
        if size > limit:
            raise UploadRefused(_("The file is too large: at most %(size)s.", size=_human(limit)), 413)
        if len(head) < 512:
            head += chunk[: 512 - len(head)]
        digest.update(chunk)
        target.write(chunk)


def _human(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} MB".replace(".0 MB", " MB")
    if size >= 1024:
        return f"{size / 1024:.1f} KB".replace(".0 KB", " KB")
    return f"{size} bytes"


def store_upload(
    file_storage: Any, user: Any, form_key: str, field_path: str, *, definition: Any = None
) -> Attachment:
    """Check and store one uploaded file (a werkzeug ``FileStorage``) for a form's attachment field.

    The field's limits are those of ``definition`` — the version of the record the file
    is for, or of the page it was chosen on — else of the form's current version.
    Raises ``UploadRefused`` (404 unknown form, 400 not an attachment field or empty file,
    413 too large, 415 refused type or content not matching the extension).
    """
    path, field = _field_limits(form_key, field_path, definition)
    return store_file(
        file_storage,
        user,
        form_key=form_key,
        field_path=path,
        accept=field.settings["accept"],
        max_size=field.settings["max_size"],
    )


def store_file(
    file_storage: Any, user: Any, *, form_key: str, field_path: str, accept: Any, max_size: int
) -> Attachment:
    """Check and store one file against explicit limits (a field's, or e.g. those for files sent with
    an approval decision); same checks and storage as ``store_upload``. Commits."""
    path = field_path
    display = sanitise_filename(getattr(file_storage, "filename", None))
    suffix = extension(display)
    if suffix not in accept:
        accepted = ", ".join(accept)
        if not suffix:
            raise UploadRefused(
                _(
                    "Files without an extension are not accepted here; accepted: %(accepted)s.",
                    accepted=accepted,
                ),
                415,
            )
        raise UploadRefused(
            _(
                "Files of type %(type)s are not accepted here; accepted: %(accepted)s.",
                type=suffix,
                accepted=accepted,
            ),
            415,
        )

    key = secrets.token_hex(16)
    final = storage_path(key)
    final.parent.mkdir(parents=True, exist_ok=True)
    partial = final.with_name(key + ".part")
    digest = hashlib.sha256()
    try:
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as target:
            size, head = _stream_to(file_storage.stream, target, max_size, digest)
        if size == 0:
            raise UploadRefused(_("The file is empty; choose another."), 400)
        content_type, looks_right = SNIFFERS.get(suffix, ("application/octet-stream", lambda head: True))
        if not looks_right(head):
            raise UploadRefused(
                _(
                    "The file's content is not %(type)s, although its name ends in %(suffix)s.",
                    type=suffix[1:].upper(),
                    suffix=suffix,
                ),
                415,
            )
        os.replace(partial, final)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    attachment = Attachment(
        owner_id=user.id,
        record_id=None,
        form_key=form_key,
        field_path=path,
        filename=display,
        content_type=content_type,
        size=size,
        sha256=digest.hexdigest(),
        storage_key=key,
    )
    try:
        with transaction():
            db.session.add(attachment)
    except BaseException:
        final.unlink(missing_ok=True)  # no row, no file
        raise
    return attachment


# --- files sent with an approval decision ------------------------------------------------------

#: Default limits for files sent with a decision (``FORMWORK_DECISION_ACCEPT``,
#: ``FORMWORK_DECISION_MAX_SIZE``).
DECISION_ACCEPT = (
    ".pdf",
    ".png",
    ".jpg",
    ".jpeg",
    ".gif",
    ".webp",
    ".docx",
    ".xlsx",
    ".ofd",
    ".txt",
    ".csv",
    ".zip",
)
DECISION_MAX_SIZE = 10 * 1024 * 1024
DECISION_PREFIX = "$decision:"


def decision_field(record_id: int) -> str:
    """The ``field_path`` of a file uploaded for a decision on record ``record_id``.

    Such a file stays unclaimed (seen only by its uploader) until that uploader's decision on
    that same record claims it; no other record, form field or person can.
    """
    return f"{DECISION_PREFIX}{int(record_id)}"


def decision_limits() -> tuple[tuple[str, ...], int]:
    """(accepted extensions, largest size in bytes) for decision files, from the configuration."""
    accept = current_app.config.get("FORMWORK_DECISION_ACCEPT") or DECISION_ACCEPT
    accept = tuple(sorted({str(item).lower() for item in accept}))
    return accept, int(current_app.config.get("FORMWORK_DECISION_MAX_SIZE") or DECISION_MAX_SIZE)


def store_decision_file(file_storage: Any, user: Any, record: Any) -> Attachment:
    """Check and store a file for ``user``'s decision on ``record`` (the caller checked the task); commits."""
    accept, max_size = decision_limits()
    return store_file(
        file_storage,
        user,
        form_key=record.form_key,
        field_path=decision_field(record.id),
        accept=accept,
        max_size=max_size,
    )


def discard_unclaimed(attachment_ids: list[int]) -> int:
    """Delete uploads that no record claimed (a refused decision's files): rows and stored files. Commits.

    Files a record did claim meanwhile are left alone (see ``_delete_unclaimed``). Returns how
    many were removed.
    """
    if not attachment_ids:
        return 0
    rows = db.session.execute(
        select(Attachment.id, Attachment.storage_key, Attachment.size).where(
            Attachment.id.in_(attachment_ids), Attachment.record_id.is_(None)
        )
    ).all()
    return len(_delete_unclaimed(rows))


# --- reading -----------------------------------------------------------------------------------


def can_see(user: Any, attachment: Attachment) -> bool:
    """The uploader, or anyone who may see the record the file is attached to."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if attachment.owner_id == user.id:
        return True
    if attachment.record_id is None:
        return False
    return access.get_visible(user, attachment.record_id) is not None


def get_visible_attachment(user: Any, attachment_id: int) -> Attachment | None:
    attachment = db.session.get(Attachment, attachment_id)
    if attachment is None or not can_see(user, attachment):
        return None
    return attachment


def open_attachment(attachment: Attachment, user: Any) -> IO[bytes]:
    """The stored file opened for reading; ``PermissionError`` when ``user`` may not see it."""
    if not can_see(user, attachment):
        raise PermissionError("not allowed to read this attachment")
    return open(storage_path(attachment.storage_key), "rb")


def send_attachment(attachment: Attachment) -> Response:
    """A download response; only sniffed images and PDFs are shown inline, never as HTML."""
    response = send_file(
        storage_path(attachment.storage_key),
        mimetype=attachment.content_type,
        as_attachment=attachment.content_type not in INLINE_TYPES,
        download_name=attachment.filename,
        conditional=True,
        etag=attachment.sha256,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


# --- unclaimed uploads -----------------------------------------------------------------------


@dataclass
class PruneReport:
    removed: int = 0  # unclaimed uploads deleted (row and file)
    bytes: int = 0
    missing_files: int = 0  # rows whose file was already gone
    partial_files: int = 0  # ``*.part`` files left by an upload that never finished


def unclaimed_age() -> timedelta:
    return timedelta(hours=float(current_app.config.get("FORMWORK_UNCLAIMED_UPLOAD_HOURS", 24)))


def prune_unclaimed(
    older_than: timedelta | None = None, *, now: datetime | None = None, batch: int = 200
) -> PruneReport:
    """Delete uploads no record has claimed within ``older_than`` (``FORMWORK_UNCLAIMED_UPLOAD_HOURS``).

    An upload stays unclaimed when the submission it was made for failed or was abandoned
    (an htmx upload, a file stored before the form was refused, one sent with a refused
    decision). Each row is deleted by a statement that still requires ``record_id IS NULL``,
    and its file is removed only after that delete is committed, and only by the copy whose
    delete removed the row: two copies running at once delete each upload once, a record
    claiming a file at that moment either wins (the file stays) or is told the file is no
    longer available (``records.service``), and running it again finds nothing to do.
    """
    cutoff = (now or utcnow()) - (older_than if older_than is not None else unclaimed_age())
    report = PruneReport()
    last_id = 0
    while True:
        rows = db.session.execute(
            select(Attachment.id, Attachment.storage_key, Attachment.size)
            .where(Attachment.record_id.is_(None), Attachment.created_at < cutoff, Attachment.id > last_id)
            .order_by(Attachment.id)
            .limit(batch)
        ).all()
        if not rows:
            db.session.rollback()
            break
        last_id = rows[-1].id
        for row, found in _delete_unclaimed(rows):
            report.removed += 1
            report.bytes += row.size or 0
            report.missing_files += not found
    report.partial_files = _remove_partial_files(cutoff)
    return report


def _delete_unclaimed(rows: Sequence[Any]) -> list[tuple[Any, bool]]:
    """Delete the uploads of ``rows`` (id, storage_key, size) that are still unclaimed; commits.

    Each row goes by a statement that still requires ``record_id IS NULL``, and its file is
    removed only after that delete is committed, and only by the caller whose delete removed
    the row: a record claiming the file meanwhile wins, and two callers at once remove each
    upload once. Returns ``(row, file was there)`` for each upload removed.
    """
    deleted: list[Any] = []
    with transaction():
        for row in rows:
            count = rows_affected(
                delete(Attachment)
                .where(Attachment.id == row.id, Attachment.record_id.is_(None))
                .execution_options(synchronize_session=False)
            )
            if count == 1:  # not claimed, nor removed by another copy, meanwhile
                deleted.append(row)
    removed = []
    for row in deleted:
        try:
            storage_path(row.storage_key).unlink()
            removed.append((row, True))
        except FileNotFoundError:
            removed.append((row, False))
    return removed


def _remove_partial_files(cutoff: datetime) -> int:
    """``<key>.part`` files older than ``cutoff``: uploads whose process died mid-way."""
    root = upload_dir()
    if not root.is_dir():
        return 0
    removed = 0
    for path in root.glob("??/*.part"):
        try:
            if datetime.fromtimestamp(path.stat().st_mtime, timezone.utc) < cutoff:
                path.unlink()
                removed += 1
        except FileNotFoundError:
            pass  # removed by another copy meanwhile
    return removed
