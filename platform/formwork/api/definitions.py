"""Definitions through the API: list, validate, publish and diff versions (analysts and administrators)."""

from __future__ import annotations

from typing import Any

from flask import abort, jsonify, request
from flask_login import current_user

from ..definitions import store
from ..definitions.diff import diff
from ..definitions.loader import MAX_DEPTH, SourceDocument, read_source
from ..definitions.models import DefinitionVersion
from ..definitions.pipeline import KINDS, check, schema_for
from ..definitions.problems import DefinitionError, Problem
from ..org.access import roles_required
from . import api_bp
from .records import parse_json_body, query_int

DEFINITION_ROLES = ("administrator", "analyst")
MAX_NAME = 200


def _summary(definition: DefinitionVersion) -> dict[str, Any]:
    content = definition.content if isinstance(definition.content, dict) else {}
    return {
        "id": definition.id,
        "kind": definition.kind,
        "key": definition.key,
        "version": definition.version,
        "title": content.get("title"),
        "checksum": definition.checksum,
        "source": definition.source,
        "published_at": definition.published_at.isoformat() if definition.published_at else None,
        "published_by": definition.published_by_id,
    }


def _problems_response(problems: list[Problem]):
    # "field" keeps the platform-wide 422 shape; the rest says exactly where.
    errors = [{"field": p.pointer or "/", **p.as_dict()} for p in problems]
    return jsonify({"errors": errors}), 422


def _kind_or_404(kind: str) -> str:
    if kind not in KINDS:
        abort(404, f'unknown definition kind "{kind}"')
    return kind


def _version_or_404(kind: str, key: str, number: int) -> DefinitionVersion:
    definition = store.version(_kind_or_404(kind), key, number)
    if definition is None:
        abort(404, f"{kind} {key!r} has no version {number}")
    return definition


def _read_body() -> tuple[Any, str, SourceDocument | None]:
    """The posted definition: ``{"source": text, "name": file name}`` or ``{"content": {...}}``.

    Returns ``(content, name, document)``; raises ``DefinitionError`` when the source cannot be read.
    """
    mimetype = request.mimetype or ""
    if not (mimetype == "application/json" or mimetype.endswith("+json")):
        abort(415, "send the request body as JSON with Content-Type: application/json")
    # "content" holds a whole definition one level down, with the loader's depth limit.
    body = parse_json_body(request.get_data(cache=True), max_depth=MAX_DEPTH + 2)
    if not isinstance(body, dict):
        abort(400, 'send a JSON object: {"source": "<yaml or json text>", "name": "expense_claim.yaml"}')
    name = body.get("name") or "<editor>"
    if not isinstance(name, str) or len(name) > MAX_NAME:
        abort(400, f"name must be a file name of at most {MAX_NAME} characters")
    if "source" in body:
        if not isinstance(body["source"], str):
            abort(400, "source must be the definition's YAML or JSON text")
        document = read_source(body["source"], name)
        return document.content, name, document
    if isinstance(body.get("content"), dict):
        return store.json_ready(body["content"]), name, None
    abort(400, 'send "source" (YAML or JSON text) or "content" (a JSON object)')


@api_bp.get("/definitions")
@roles_required(*DEFINITION_ROLES)
def list_definitions():
    kind = request.args.get("kind")
    if kind is not None:
        _kind_or_404(kind)
    return jsonify({"items": [_summary(d) for d in store.list_current(kind)]})


@api_bp.get("/definitions/schema/<kind>")
@roles_required(*DEFINITION_ROLES)
def definition_schema(kind: str):
    return jsonify(schema_for(_kind_or_404(kind)))


@api_bp.get("/definitions/<kind>/<key>/versions")
@roles_required(*DEFINITION_ROLES)
def list_versions(kind: str, key: str):
    found = store.versions(_kind_or_404(kind), key)
    if not found:
        abort(404, f"no published {kind} {key!r}")
    return jsonify({"items": [_summary(d) for d in found]})


@api_bp.get("/definitions/<kind>/<key>/versions/<int:number>")
@roles_required(*DEFINITION_ROLES)
def get_version(kind: str, key: str, number: int):
    definition = _version_or_404(kind, key, number)
    return jsonify({**_summary(definition), "content": definition.content})


@api_bp.get("/definitions/<kind>/<key>/diff")
@roles_required(*DEFINITION_ROLES)
def diff_versions(kind: str, key: str):
    old_number = query_int("from", None, 1)
    new_number = query_int("to", None, 1)
    old = _version_or_404(kind, key, old_number)
    new = _version_or_404(kind, key, new_number)
    return jsonify(
        {"kind": kind, "key": key, "from": old_number, "to": new_number, **diff(old.content, new.content)}
    )


@api_bp.post("/definitions/validate")
@roles_required(*DEFINITION_ROLES)
def validate_definition():
    try:
        content, name, document = _read_body()
    except DefinitionError as exc:
        return _problems_response(exc.problems)
    problems = check(content, document=document)
    if problems:
        return _problems_response([p.located(name, p.line) for p in problems])
    return jsonify({"valid": True, "kind": content.get("kind"), "key": content.get("key")})


@api_bp.post("/definitions/publish")
@roles_required(*DEFINITION_ROLES)
def publish_definition():
    try:
        content, name, document = _read_body()
        definition, created = store.publish(content, source=name, user=current_user, document=document)
    except DefinitionError as exc:
        return _problems_response(exc.problems)
    return jsonify({"created": created, **_summary(definition)}), 201 if created else 200
