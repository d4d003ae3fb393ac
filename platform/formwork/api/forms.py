"""Published forms through the API, and creating records of them."""

from __future__ import annotations

from typing import Any

from flask import abort, jsonify, request
from flask_babel import get_locale
from flask_login import current_user, login_required

from .. import business_time
from ..definitions import store
from ..definitions.models import DefinitionVersion
from ..forms import catalogue
from ..permissions.access import may_create
from ..records import serialize, service
from ..workflow import submission
from .blueprint import api_bp, error_response
from .records import INVALID_DATA, NOT_FOUND, RECORD, RECORD_DATA, SUBMIT, UNAVAILABLE, validation_response
from .spec import (
    DATE_TIME,
    PAGING,
    Param,
    body,
    component,
    error,
    header_args,
    nullable,
    obj,
    operation,
    page_arguments,
    query_args,
    reply,
)

MAX_CLIENT_TOKEN = 64  # the width of records.client_token
CLIENT_TOKEN = {
    "type": "string",
    "minLength": 1,
    "maxLength": MAX_CLIENT_TOKEN,
    "pattern": r"\S",
    "description": f"Idempotency token (1 to {MAX_CLIENT_TOKEN} characters, not only spaces): a repeat "
    "returns the record the first request made, with 200.",
}
FORM_SUMMARY_FIELDS = {
    "key": {"type": "string"},
    "version": {"type": "integer", "minimum": 1},
    "title": {"type": "string", "description": "In the caller's language."},
    "published_at": nullable(DATE_TIME),
    "available": {
        "type": "boolean",
        "description": "False when the version cannot be compiled here (a plugin it needs is not loaded).",
    },
    "unavailable_reason": {"type": "string", "description": "Why, when available is false."},
}
FORM_SUMMARY = component("FormSummary", obj(FORM_SUMMARY_FIELDS, optional=("unavailable_reason",)))
FORM_DEFINITION = component(
    "FormDefinition",
    obj(
        {
            **FORM_SUMMARY_FIELDS,
            "definition": {
                "type": "object",
                "description": "The published definition (see docs/definitions.md).",
            },
        },
        optional=("unavailable_reason",),
    ),
)


def form_summary(version: DefinitionVersion) -> dict[str, Any]:
    """A form's summary; ``available`` is false (with ``unavailable_reason``) if it cannot compile here."""
    _form, problem = catalogue.form_or_unavailable(version)
    summary = {
        "key": version.key,
        "version": version.version,
        "title": catalogue.form_title(version, str(get_locale() or "")),
        "published_at": business_time.iso_utc(version.published_at),
        "available": problem is None,
    }
    if problem is not None:
        summary["unavailable_reason"] = problem.reason()
    return summary


@api_bp.errorhandler(catalogue.FormUnavailable)
def _form_unavailable(exc: catalogue.FormUnavailable):
    """503 for a form that cannot be compiled here (e.g. a plugin it needs is off), never a 500."""
    response, status = error_response(503, exc.message())
    response.headers["Retry-After"] = "3600"
    return response, status


def current_form_or_404(key: str) -> DefinitionVersion:
    version = store.current("form", key)
    if version is None:
        abort(404, f'no published form "{key}"')
    return version


@api_bp.get("/forms")
@login_required
@operation(
    "Published forms the caller may create records of, by key, one page at a time.",
    tag="forms",
    query={
        "q": Param({"type": "string", "maxLength": 200}, "Only forms whose key or title contains this."),
        **PAGING,
    },
    responses={
        200: reply(
            obj(
                {
                    "items": {"type": "array", "items": FORM_SUMMARY},
                    "page": {"type": "integer", "minimum": 1},
                    "per_page": {"type": "integer", "minimum": 1},
                    "total": {"type": "integer", "minimum": 0},
                }
            ),
            "One page of forms.",
        )
    },
)
def list_forms():
    page, per_page = page_arguments()
    q = (query_args().get("q") or "").strip().casefold()
    tag = str(get_locale() or "")
    offered = [
        version
        for version in sorted(store.list_current("form"), key=lambda v: v.key)
        if may_create(current_user, version.key)
        and (not q or q in version.key.casefold() or q in catalogue.form_title(version, tag).casefold())
    ]
    # Only the forms on this page are compiled (to say whether each is available here).
    shown = offered[(page - 1) * per_page : page * per_page]
    return jsonify(
        {"items": [form_summary(v) for v in shown], "page": page, "per_page": per_page, "total": len(offered)}
    )


@api_bp.get("/forms/<key>")
@login_required
@operation(
    "The current published definition of a form, with its version.",
    tag="forms",
    responses={200: reply(FORM_DEFINITION, "The form."), 404: NOT_FOUND, 503: UNAVAILABLE},
)
def get_form(key: str):
    version = current_form_or_404(key)
    return jsonify({**form_summary(version), "definition": version.content})


def _client_token(fields: dict[str, Any]) -> str | None:
    """The body's client_token, else the Idempotency-Key header (both checked by the declaration)."""
    return fields.get("client_token") or header_args().get("Idempotency-Key")


@api_bp.post("/forms/<key>/records")
@login_required
@operation(
    "Create a record; submit=false keeps a draft. A repeated client_token or Idempotency-Key returns the "
    "record the first request made.",
    tag="records",
    headers={"Idempotency-Key": Param(CLIENT_TOKEN, "Same as client_token in the body (the body wins).")},
    body=obj(
        {"data": RECORD_DATA, "submit": SUBMIT, "client_token": CLIENT_TOKEN},
        optional=("data", "submit", "client_token"),
    ),
    responses={
        201: reply(RECORD, "Created."),
        200: reply(RECORD, "The record an earlier identical request with the same token created."),
        403: error("The caller has no create right on this form."),
        404: NOT_FOUND,
        422: INVALID_DATA,
        503: UNAVAILABLE,
    },
)
def create_record(key: str):
    version = current_form_or_404(key)
    if not may_create(current_user, key):
        return error_response(403, "you may not create records of this form")
    fields = body()
    token = _client_token(fields)
    # A repeated token with the same request is that request sent again: 200 with the record it
    # made (exactly one of any number of racing copies answers 201); with another request, 422.
    digest = service.request_digest(
        request.method, key, {name: value for name, value in fields.items() if name != "client_token"}
    )
    try:
        record, created = submission.create_record_once(
            key,
            fields.get("data", {}),
            current_user,
            submit=fields.get("submit", False),
            client_token=token,
            definition=version,
            json_input=True,
            request_digest=digest,
        )
    except service.RecordError as exc:
        return validation_response(exc)
    return jsonify(serialize.record_json(record, current_user)), 201 if created else 200
