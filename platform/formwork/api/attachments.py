"""Attachments through the API: upload one file for a form field, read its metadata, download it."""

from __future__ import annotations

from typing import Any

from flask import abort, jsonify, request, url_for
from flask_login import current_user, login_required

from ..definitions import store
from ..input_limits import row_id
from ..records import access, attachments
from ..records.models import Attachment
from . import api_bp, error_response


def attachment_json(attachment: Attachment) -> dict[str, Any]:
    return {
        "id": attachment.id,
        "filename": attachment.filename,
        "size": attachment.size,
        "content_type": attachment.content_type,
        "form": attachment.form_key,
        "field": attachment.field_path,
        "record_id": attachment.record_id,
        "sha256": attachment.sha256,
        "created_at": attachment.created_at.isoformat() if attachment.created_at else None,
        "download_url": url_for("api.download_attachment", attachment_id=attachment.id),
    }


@api_bp.post("/attachments")
@login_required
def upload_attachment():
    if request.mimetype != "multipart/form-data":
        abort(415, 'send the file as multipart/form-data with the parts "file", "form" and "field"')
    upload = request.files.get("file")
    form_key = (request.form.get("form") or "").strip()
    field_path = (request.form.get("field") or "").strip()
    missing = [
        name for name, value in (("file", upload), ("form", form_key), ("field", field_path)) if not value
    ]
    if missing:
        abort(400, f"missing multipart part(s): {', '.join(missing)}")
    definition = _limits_version(form_key)
    try:
        attachment = attachments.store_upload(
            upload, current_user, form_key, field_path, definition=definition
        )
    except attachments.UploadRefused as exc:
        return error_response(exc.status, exc.message, field=field_path)
    body = attachment_json(attachment)
    return jsonify(body), 201


def _limits_version(form_key: str) -> Any:
    """Whose field limits apply: the optional part "record" (that record's version) or "version"
    (a version number of the form); without either, the form's current version."""
    record_id = (request.form.get("record") or "").strip()
    number = (request.form.get("version") or "").strip()
    if record_id:
        found = row_id(record_id)
        if found is None:
            abort(400, '"record" must be a record id')
        record = access.get_visible(current_user, found)
        if record is None:
            abort(404, "record not found")
        if record.form_key != form_key:
            abort(400, f'record {record.id} is not a record of form "{form_key[:100]}"')
        return store.get(record.definition_id)
    if number:
        version_number = row_id(number)
        if version_number is None:
            abort(400, '"version" must be a version number of the form')
        version = store.version("form", form_key, version_number)
        if version is None:
            abort(404, f'form "{form_key[:100]}" has no version {number}')
        return version
    return None


def visible_attachment_or_404(attachment_id: int) -> Attachment:
    attachment = attachments.get_visible_attachment(current_user, attachment_id)
    if attachment is None:
        abort(404, "attachment not found")
    return attachment


@api_bp.get("/attachments/<int:attachment_id>")
@login_required
def get_attachment(attachment_id: int):
    return jsonify(attachment_json(visible_attachment_or_404(attachment_id)))


@api_bp.get("/attachments/<int:attachment_id>/content")
@login_required
def download_attachment(attachment_id: int):
    return attachments.send_attachment(visible_attachment_or_404(attachment_id))
