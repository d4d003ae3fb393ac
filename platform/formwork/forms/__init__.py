"""Forms: field types, the compiled form model, state and validation, and the generic renderer."""

from __future__ import annotations

from flask import current_app, request


def limit_body_size() -> None:
    """Give bodies that are not multipart the smaller ``FORMWORK_MAX_BODY_BYTES`` cap (413 beyond it).

    Werkzeug reads an urlencoded body whole and parses it at once, and ``MAX_FORM_MEMORY_SIZE``
    applies to multipart text parts only, so without this a form post could be as large as
    the upload limit. Runs before the CSRF check, which is the first to read the form.
    """
    if request.mimetype == "multipart/form-data":
        return
    limit = current_app.config.get("FORMWORK_MAX_BODY_BYTES")
    upload_limit = current_app.config.get("MAX_CONTENT_LENGTH")
    if limit:
        request.max_content_length = min(limit, upload_limit) if upload_limit else limit
