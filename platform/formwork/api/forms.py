"""Published forms through the API, and creating records of them."""

from __future__ import annotations

from typing import Any

from flask import abort, jsonify, request
from flask_babel import get_locale
from flask_login import current_user, login_required
from sqlalchemy import select

from ..definitions import store
from ..definitions.models import DefinitionVersion
from ..extensions import db
from ..records import serialize, service
from ..records.models import Record
from . import api_bp
from .records import json_body, validation_response, write_arguments

MAX_CLIENT_TOKEN = 64  # the width of records.client_token


def form_summary(version: DefinitionVersion) -> dict[str, Any]:
    """A form's summary; ``available`` is false (with ``unavailable_reason``) if it cannot compile here."""
    _form, problem = store.form_or_unavailable(version)
    summary = {
        "key": version.key,
        "version": version.version,
        "title": store.form_title(version, str(get_locale() or "")),
        "published_at": version.published_at.isoformat() if version.published_at else None,
        "available": problem is None,
    }
    if problem is not None:
        summary["unavailable_reason"] = problem.reason()
    return summary


@api_bp.errorhandler(store.FormUnavailable)
def _form_unavailable(exc: store.FormUnavailable):
    from ..forms.views import unavailable_response

    return unavailable_response(exc)


def current_form_or_404(key: str) -> DefinitionVersion:
    version = store.current("form", key)
    if version is None:
        abort(404, f'no published form "{key}"')
    return version


@api_bp.get("/forms")
@login_required
def list_forms():
    versions = sorted(store.list_current("form"), key=lambda v: v.key)
    return jsonify({"items": [form_summary(v) for v in versions]})


@api_bp.get("/forms/<key>")
@login_required
def get_form(key: str):
    version = current_form_or_404(key)
    return jsonify({**form_summary(version), "definition": version.content})


def _client_token(body: dict[str, Any]) -> str | None:
    token = body.get("client_token")
    if token is None:
        token = request.headers.get("Idempotency-Key")
    if token is None:
        return None
    if not isinstance(token, str) or not token.strip() or len(token) > MAX_CLIENT_TOKEN:
        abort(
            400,
            f"client_token / Idempotency-Key must be a non-empty string of at most {MAX_CLIENT_TOKEN} "
            "characters",
        )
    return token


def _existing(token: str | None) -> Record | None:
    if token is None:
        return None
    return db.session.scalar(
        select(Record).where(Record.owner_id == current_user.id, Record.client_token == token)
    )


@api_bp.post("/forms/<key>/records")
@login_required
def create_record(key: str):
    version = current_form_or_404(key)
    body = json_body(frozenset({"data", "submit", "client_token"}))
    data, submit = write_arguments(body)
    token = _client_token(body)
    # A repeated token is the same request sent again: answer with the record it made.
    existing = _existing(token)
    if existing is not None:
        return jsonify(serialize.record_json(existing, current_user)), 200
    try:
        record = service.create_record(
            key, data, current_user, submit=submit, client_token=token, definition=version, json_input=True
        )
    except service.RecordError as exc:
        return validation_response(exc)
    return jsonify(serialize.record_json(record, current_user)), 201
