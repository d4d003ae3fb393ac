"""Definitions through the API: list, validate, publish and diff versions (analysts and administrators)."""

from __future__ import annotations

from functools import wraps
from typing import Any, Callable, TypeVar

from flask import abort, jsonify
from flask_login import current_user

from .. import business_time
from ..definitions import store
from ..definitions.diff import diff
from ..definitions.loader import MAX_DEPTH, SourceDocument, read_source
from ..definitions.models import DefinitionVersion
from ..definitions.pipeline import KINDS, check, schema_for
from ..definitions.problems import DefinitionError, Problem
from ..extensions import login_manager
from ..org.access import has_any_role
from ..permissions.access import administers_any, may_administer
from .blueprint import api_bp
from .spec import DATE_TIME, ID, Param, body, component, error, nullable, obj, operation, query_args, reply

DEFINITION_ROLES = ("administrator", "analyst")
MAX_NAME = 200

FORBIDDEN = error(
    "The caller administers no definitions (an `administer` grant; analysts and administrators while "
    "no permission definition is published)."
)
F = TypeVar("F", bound=Callable[..., Any])


def administrators_only(view: F) -> F:
    """Allow people who administer the definitions of some form: through an ``administer`` grant
    of the permission definitions, or, while none is published, as analyst or administrator."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        allowed = administers_any(current_user)
        if not (has_any_role(current_user, *DEFINITION_ROLES) if allowed is None else allowed):
            abort(403)
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


def _form_of(content: Any) -> str | None:
    """The form a definition belongs to (None: every form, or a kind that is about none)."""
    if not isinstance(content, dict):
        return None
    found = content.get("key") if content.get("kind") == "form" else content.get("form")
    return found if isinstance(found, str) and found != "*" else None


def _may_administer(content: Any) -> bool:
    allowed = may_administer(current_user, _form_of(content))
    return True if allowed is None else allowed


NOT_FOUND = error("No such definition kind, key or version.")
KIND = Param({"type": "string", "enum": list(KINDS)}, "The definition kind.")
SUMMARY_FIELDS: dict[str, Any] = {
    "id": ID,
    "kind": {"type": "string", "enum": list(KINDS)},
    "key": {"type": "string"},
    "version": {"type": "integer", "minimum": 1},
    "title": {
        "description": 'The definition\'s title: text, or text by language ({"en": ..., "zh-CN": ...}).'
    },
    "checksum": {"type": "string"},
    "source": nullable({"type": "string"}),
    "published_at": nullable(DATE_TIME),
    "published_by": nullable(ID),
}
SUMMARY = component("DefinitionSummary", obj(SUMMARY_FIELDS))
SUMMARIES = obj({"items": {"type": "array", "items": SUMMARY}})
DEFINITION_BODY = {
    "type": "object",
    "additionalProperties": False,
    "description": 'Either {"source": "<YAML or JSON text>", "name": "expense_claim.yaml"} '
    'or {"content": {...}}.',
    "properties": {
        "source": {"type": "string", "description": "The definition's YAML or JSON text."},
        "name": {
            "type": "string",
            "maxLength": MAX_NAME,
            "description": "A file name, for messages and the record.",
        },
        "content": {"type": "object", "description": "The definition as a JSON object."},
    },
    "oneOf": [
        {"required": ["source"], "not": {"required": ["content"]}},
        {"required": ["content"], "not": {"required": ["source"]}},
    ],
}
PROBLEM = obj(
    {
        "field": {
            "type": "string",
            "description": "The JSON pointer of the problem (/ for the whole).",
        },
        "source": nullable({"type": "string"}),
        "line": nullable({"type": "integer"}),
        "pointer": nullable({"type": "string"}),
        "message": {"type": "string"},
    },
    optional=("source", "line", "pointer"),
    closed=False,
)
WARNINGS = {
    "type": "array",
    "items": PROBLEM,
    "description": "What the checker warns about (e.g. a budget keyed by a field the submitter sets "
    "freely); warnings never stop a definition.",
}
PROBLEMS = reply(
    obj(
        {
            "errors": {"type": "array", "items": PROBLEM},
            "warnings": WARNINGS,
        },
        optional=("warnings",),
        closed=False,
    ),
    "The definition has problems: each with its JSON pointer (in field), file line and message.",
)


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
        "published_at": business_time.iso_utc(definition.published_at),
        "published_by": definition.published_by_id,
    }


def _problems_response(problems: list[Problem]):
    # "field" keeps the platform-wide 422 shape; the rest says exactly where. Warnings found beside
    # the errors are listed apart: they never stop a definition.
    errors = [{"field": p.pointer or "/", **p.as_dict()} for p in store.errors_only(problems)]
    body: dict[str, Any] = {"errors": errors}
    if len(errors) < len(problems):
        body["warnings"] = _warnings(problems)
    return jsonify(body), 422


def _warnings(problems: Any) -> list[dict[str, Any]]:
    """The warnings among ``problems``, where and why, as for errors."""
    return [{"field": p.pointer or "/", **p.as_dict()} for p in problems if p.warning]


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
    """The posted definition (checked by DEFINITION_BODY): ``(content, name, document)``.

    Raises ``DefinitionError`` when the source cannot be read.
    """
    fields = body()
    name = fields.get("name") or "<editor>"
    if "source" in fields:
        document = read_source(fields["source"], name)
        return document.content, name, document
    return store.json_ready(fields["content"]), name, None


@api_bp.get("/definitions")
@administrators_only
@operation(
    "Current published definitions (analysts and administrators).",
    tag="definitions",
    query={"kind": KIND},
    responses={200: reply(SUMMARIES, "Definitions."), 403: FORBIDDEN},
)
def list_definitions():
    kind = query_args().get("kind")
    return jsonify({"items": [_summary(d) for d in store.list_current(kind)]})


@api_bp.get("/definitions/schema/<kind>")
@administrators_only
@operation(
    "The JSON Schema of a definition kind.",
    tag="definitions",
    path={"kind": KIND},
    responses={200: reply({"type": "object"}, "The JSON Schema."), 403: FORBIDDEN, 404: NOT_FOUND},
)
def definition_schema(kind: str):
    return jsonify(schema_for(_kind_or_404(kind)))


@api_bp.get("/definitions/<kind>/<key>/versions")
@administrators_only
@operation(
    "Every published version of a definition.",
    tag="definitions",
    path={"kind": KIND},
    responses={200: reply(SUMMARIES, "Versions, oldest first."), 403: FORBIDDEN, 404: NOT_FOUND},
)
def list_versions(kind: str, key: str):
    found = store.versions(_kind_or_404(kind), key)
    if not found:
        abort(404, f"no published {kind} {key!r}")
    return jsonify({"items": [_summary(d) for d in found]})


@api_bp.get("/definitions/<kind>/<key>/versions/<int:number>")
@administrators_only
@operation(
    "One version with its content.",
    tag="definitions",
    path={"kind": KIND},
    responses={
        200: reply(obj({**SUMMARY_FIELDS, "content": {"type": "object"}}), "The version."),
        403: FORBIDDEN,
        404: NOT_FOUND,
    },
)
def get_version(kind: str, key: str, number: int):
    definition = _version_or_404(kind, key, number)
    return jsonify({**_summary(definition), "content": definition.content})


VERSION_NUMBER = {"type": "integer", "minimum": 1, "maximum": 2_147_483_647}


@api_bp.get("/definitions/<kind>/<key>/diff")
@administrators_only
@operation(
    "What changed between two versions: added, removed and changed JSON pointers.",
    tag="definitions",
    path={"kind": KIND},
    query={
        "from": Param(VERSION_NUMBER, "The older version number.", required=True),
        "to": Param(VERSION_NUMBER, "The newer version number.", required=True),
    },
    responses={
        200: reply(
            obj(
                {
                    "kind": {"type": "string"},
                    "key": {"type": "string"},
                    "from": {"type": "integer"},
                    "to": {"type": "integer"},
                    **{
                        name: {"type": "array", "items": {"type": "object"}}
                        for name in ("added", "removed", "changed")
                    },
                },
                closed=False,
            ),
            "The difference.",
        ),
        403: FORBIDDEN,
        404: NOT_FOUND,
    },
)
def diff_versions(kind: str, key: str):
    old_number, new_number = query_args()["from"], query_args()["to"]
    old = _version_or_404(kind, key, old_number)
    new = _version_or_404(kind, key, new_number)
    return jsonify(
        {"kind": kind, "key": key, "from": old_number, "to": new_number, **diff(old.content, new.content)}
    )


@api_bp.post("/definitions/validate")
@administrators_only
@operation(
    "Check a definition without publishing it.",
    tag="definitions",
    body=DEFINITION_BODY,
    body_depth=MAX_DEPTH + 2,  # "content" holds a whole definition one level down
    responses={
        200: reply(
            obj(
                {
                    "valid": {"const": True},
                    "kind": nullable({"type": "string"}),
                    "key": nullable({"type": "string"}),
                    "warnings": WARNINGS,
                }
            ),
            "Valid.",
        ),
        403: FORBIDDEN,
        422: PROBLEMS,
    },
)
def validate_definition():
    try:
        content, name, document = _read_body()
    except DefinitionError as exc:
        return _problems_response(exc.problems)
    if not _may_administer(content):
        abort(403, "you do not administer the definitions of this form")
    problems = [p.located(name, p.line) for p in check(content, document=document)]
    if store.errors_only(problems):
        return _problems_response(problems)
    return jsonify(
        {
            "valid": True,
            "kind": content.get("kind"),
            "key": content.get("key"),
            "warnings": _warnings(problems),
        }
    )


@api_bp.post("/definitions/publish")
@administrators_only
@operation(
    "Publish a definition: a new immutable version when it changed.",
    tag="definitions",
    body=DEFINITION_BODY,
    body_depth=MAX_DEPTH + 2,  # "content" holds a whole definition one level down
    responses={
        201: reply(
            obj({"created": {"const": True}, **SUMMARY_FIELDS, "warnings": WARNINGS}), "A new version."
        ),
        200: reply(
            obj({"created": {"const": False}, **SUMMARY_FIELDS, "warnings": WARNINGS}),
            "Unchanged; no new version.",
        ),
        403: FORBIDDEN,
        422: PROBLEMS,
    },
)
def publish_definition():
    try:
        content, name, document = _read_body()
        if not _may_administer(content):
            abort(403, "you do not administer the definitions of this form")
        result = store.publish_one(content, source=name, user=current_user, document=document)
    except DefinitionError as exc:
        return _problems_response(exc.problems)
    body = {"created": result.created, **_summary(result.definition), "warnings": _warnings(result.warnings)}
    return jsonify(body), 201 if result.created else 200
