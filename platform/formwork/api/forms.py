"""Published forms through the API, and creating records of them."""

from __future__ import annotations

from typing import Any

from flask import abort, jsonify, request
from flask_babel import get_locale
from flask_login import current_user, login_required

from .. import business_time
from ..definitions import store
from ..definitions.models import DefinitionVersion
from ..records import serialize, service
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
        "published_at": business_time.iso_utc(version.published_at),
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


@api_bp.post("/forms/<key>/records")
@login_required
def create_record(key: str):
    version = current_form_or_404(key)
    body = json_body(frozenset({"data", "submit", "client_token"}))
    data, submit = write_arguments(body)
    token = _client_token(body)
    # A repeated token with the same request is that request sent again: 200 with the record it
    # made (exactly one of any number of racing copies answers 201); with another request, 422.
    digest = service.request_digest(
        request.method, key, {name: value for name, value in body.items() if name != "client_token"}
    )
    try:
        record, created = service.create_record_once(
            key,
            data,
            current_user,
            submit=submit,
            client_token=token,
            definition=version,
            json_input=True,
            request_digest=digest,
        )
    except service.RecordError as exc:
        return validation_response(exc)
    return jsonify(serialize.record_json(record, current_user)), 201 if created else 200
