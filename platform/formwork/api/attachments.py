"""Attachments through the API: upload one file for a form field, read its metadata, download it."""

from __future__ import annotations

from typing import Any

from flask import abort, jsonify, request, url_for
from flask_login import current_user, login_required

from .. import business_time
from ..definitions import store
from ..input_limits import row_id
from ..records import access, attachments
from ..records.models import Attachment
from .blueprint import api_bp, error_response
from .records import NOT_FOUND
from .spec import DATE_TIME, ID, binary, component, error, nullable, obj, operation, reply

ATTACHMENT = component(
    "Attachment",
    obj(
        {
            "id": ID,
            "filename": {"type": "string"},
            "size": {"type": "integer", "minimum": 0},
            "content_type": {"type": "string"},
            "form": {"type": "string"},
            "field": {
                "type": "string",
                "description": 'The field path, or "$decision:<record id>" for a decision file.',
            },
            "record_id": nullable(ID),
            "sha256": {"type": "string"},
            "created_at": nullable(DATE_TIME),
            "download_url": {"type": "string"},
        }
    ),
)
FILE_PART = {"type": "string", "contentMediaType": "application/octet-stream", "description": "The file."}


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
        "created_at": business_time.iso_utc(attachment.created_at),
        "download_url": url_for("api.download_attachment", attachment_id=attachment.id),
    }


@api_bp.post("/attachments")
@login_required
@operation(
    "Upload one file for an attachment field; the returned id goes into the field's value.",
    tag="attachments",
    multipart=obj(
        {
            "file": FILE_PART,
            "form": {"type": "string", "maxLength": 100, "description": "The form key."},
            "field": {
                "type": "string",
                "maxLength": 200,
                "description": "The field path, e.g. lines[*].receipt or receipts.",
            },
            "record": {
                "type": "string",
                "pattern": "^[0-9]{1,10}$",
                "description": "Optional: the id of the record the file is for; that record's form version's "
                "limits apply.",
            },
            "version": {
                "type": "string",
                "pattern": "^[0-9]{1,9}$",
                "description": "Optional: a version number of the form whose limits apply; without record or "
                "version, the current version's.",
            },
        },
        optional=("record", "version"),
    ),
    responses={
        201: reply(ATTACHMENT, "Stored."),
        400: error("A missing part, or a record that is not of this form."),
        404: error("No such form, version, record or attachment field."),
        413: error("The file is larger than the field or request allows."),
        415: error(
            "Not multipart/form-data, a type the field does not accept, or content not matching its name."
        ),
    },
)
def upload_attachment():
    upload = request.files["file"]
    form_key = request.form["form"].strip()
    field_path = request.form["field"].strip()
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
        found = row_id(record_id)  # beyond an id's range: no such record
        record = access.get_visible(current_user, found) if found is not None else None
        if record is None:
            abort(404, "record not found")
        if record.form_key != form_key:
            abort(400, f'record {record.id} is not a record of form "{form_key[:100]}"')
        return store.get(record.definition_id)
    if number:
        version = store.version("form", form_key, int(number))
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
@operation(
    "An attachment's metadata.",
    tag="attachments",
    responses={200: reply(ATTACHMENT, "The attachment."), 404: NOT_FOUND},
)
def get_attachment(attachment_id: int):
    return jsonify(attachment_json(visible_attachment_or_404(attachment_id)))


@api_bp.get("/attachments/<int:attachment_id>/content")
@login_required
@operation(
    "Download an attachment's file (with its stored content type).",
    tag="attachments",
    responses={200: binary("*/*", "The file, with the content type it was stored with."), 404: NOT_FOUND},
)
def download_attachment(attachment_id: int):
    return attachments.send_attachment(visible_attachment_or_404(attachment_id))
