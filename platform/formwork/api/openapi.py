"""The OpenAPI 3.1 document for every /api route, kept by hand next to the code it describes.

``tests/api/test_openapi.py`` fails when a registered /api rule or method is
missing here, so the document cannot drift from the routes.
"""
from __future__ import annotations

from typing import Any

from flask import jsonify

from . import api_bp

JSON = "application/json"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": schema}}}


def _error(description: str) -> dict[str, Any]:
    return _json(_ref("Error"), description)


def _path_param(name: str, description: str, integer: bool = True) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": {"type": "integer"} if integer else {"type": "string"},
    }


def _query(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema}


UNAUTHORIZED = {"401": _error("Not signed in and no valid bearer token.")}
NOT_FOUND = {"404": _error("Not found, or outside the caller's data scope (never 403, to reveal nothing).")}
BAD_BODY = {
    "400": _error("The body is empty, malformed JSON, not an object, or has unknown keys."),
    "413": _error("The body is larger than the configured request size limit."),
    "415": _error("The body is not JSON (Content-Type must be application/json)."),
}
INVALID = {"422": _json(_ref("ValidationErrors"), "Field values failed validation; paths like lines[2].amount.")}

RECORD_ID = _path_param("record_id", "The record id.")
ATTACHMENT_ID = _path_param("attachment_id", "The attachment id.")
FORM_KEY = _path_param("key", "The form key, e.g. expense_claim.", integer=False)
DEFINITION_KIND = _path_param("kind", "The definition kind, e.g. form.", integer=False)
DEFINITION_KEY = _path_param("key", "The definition key.", integer=False)

SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {"error": {"type": "string", "description": "What went wrong, in plain words."}},
        "additionalProperties": True,
    },
    "FieldError": {
        "type": "object",
        "required": ["field", "message"],
        "properties": {
            "field": {"type": "string", "examples": ["lines[2].amount"], "description": "Path of the field; empty for the whole form."},
            "message": {"type": "string"},
        },
    },
    "ValidationErrors": {
        "type": "object",
        "required": ["errors"],
        "properties": {
            "error": {"type": "string", "const": "validation failed"},
            "errors": {"type": "array", "items": _ref("FieldError")},
        },
    },
    "FormData": {
        "type": "object",
        "description": (
            "Field values by field key. Decimal and money values are strings (\"1234.50\") or JSON numbers, "
            "never rounded through binary floats; dates are ISO strings; line items are arrays of objects; "
            "attachments are arrays of attachment ids."
        ),
        "additionalProperties": True,
    },
    "Record": {
        "type": "object",
        "required": ["id", "form", "status", "data"],
        "properties": {
            "id": {"type": "integer"},
            "form": {"type": "string", "description": "The form key."},
            "form_version": {"type": "integer", "description": "The definition version the record was created with."},
            "status": {"type": "string", "enum": ["draft", "submitted", "in_review", "returned", "approved", "rejected", "withdrawn"]},
            "title": {"type": ["string", "null"]},
            "data": _ref("FormData"),
            "owner": {"type": "object"},
            "department": {"type": ["object", "null"]},
            "created_at": {"type": "string", "format": "date-time"},
            "updated_at": {"type": "string", "format": "date-time"},
            "submitted_at": {"type": ["string", "null"], "format": "date-time"},
        },
        "additionalProperties": True,
    },
    "RecordPage": {
        "type": "object",
        "required": ["items", "page", "per_page", "total"],
        "properties": {
            "items": {"type": "array", "items": _ref("Record")},
            "page": {"type": "integer", "minimum": 1},
            "per_page": {"type": "integer", "minimum": 1, "maximum": 100},
            "total": {"type": "integer", "minimum": 0},
        },
    },
    "RecordWrite": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "data": _ref("FormData"),
            "submit": {"type": "boolean", "default": False, "description": "true submits; false keeps a draft."},
            "client_token": {
                "type": "string",
                "maxLength": 64,
                "description": "Idempotency token (create only): a repeat returns the first record with 200.",
            },
        },
    },
    "RecordEvent": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "action": {"type": "string"},
            "at": {"type": "string", "format": "date-time"},
            "actor": {"type": ["object", "null"]},
            "changes": {"type": ["object", "null"]},
            "comment": {"type": ["string", "null"]},
        },
    },
    "FormSummary": {
        "type": "object",
        "required": ["key", "version", "title"],
        "properties": {
            "key": {"type": "string"},
            "version": {"type": "integer"},
            "title": {"type": "string", "description": "In the caller's language."},
            "published_at": {"type": ["string", "null"], "format": "date-time"},
        },
    },
    "FormDefinition": {
        "allOf": [
            _ref("FormSummary"),
            {
                "type": "object",
                "properties": {"definition": {"type": "object", "description": "The published definition (see docs/definitions.md)."}},
            },
        ]
    },
    "Attachment": {
        "type": "object",
        "required": ["id", "filename", "size", "content_type"],
        "properties": {
            "id": {"type": "integer"},
            "filename": {"type": "string"},
            "size": {"type": "integer"},
            "content_type": {"type": "string"},
            "form": {"type": "string"},
            "field": {"type": "string"},
            "record_id": {"type": ["integer", "null"]},
            "sha256": {"type": "string"},
            "created_at": {"type": "string", "format": "date-time"},
            "download_url": {"type": "string"},
        },
    },
    "Problem": {
        "type": "object",
        "properties": {
            "source": {"type": ["string", "null"]},
            "line": {"type": ["integer", "null"]},
            "pointer": {"type": "string"},
            "message": {"type": "string"},
        },
    },
}


def _op(summary: str, responses: dict[str, Any], *, tag: str, parameters: list | None = None,
        body: dict[str, Any] | None = None, auth: bool = True) -> dict[str, Any]:
    operation: dict[str, Any] = {"summary": summary, "tags": [tag], "responses": {**responses}}
    if auth:
        operation["responses"].update(UNAUTHORIZED)
    else:
        operation["security"] = []
    if parameters:
        operation["parameters"] = parameters
    if body is not None:
        operation["requestBody"] = body
    return operation


def _json_body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "content": {JSON: {"schema": schema}}}


PATHS: dict[str, Any] = {
    "/api/openapi.json": {
        "get": _op("This document.", {"200": _json({"type": "object"}, "The OpenAPI document.")}, tag="meta", auth=False)
    },
    "/api/forms": {
        "get": _op(
            "Published forms the caller may create records of.",
            {"200": _json({"type": "object", "properties": {"items": {"type": "array", "items": _ref("FormSummary")}}}, "Forms.")},
            tag="forms",
        )
    },
    "/api/forms/{key}": {
        "get": _op(
            "The current published definition of a form, with its version.",
            {"200": _json(_ref("FormDefinition"), "The form."), **NOT_FOUND},
            tag="forms",
            parameters=[FORM_KEY],
        )
    },
    "/api/forms/{key}/records": {
        "post": _op(
            "Create a record; submit=false keeps a draft. A repeated client_token or Idempotency-Key returns the first record.",
            {
                "201": _json(_ref("Record"), "Created."),
                "200": _json(_ref("Record"), "The record an earlier request with the same token created."),
                **BAD_BODY,
                **NOT_FOUND,
                **INVALID,
            },
            tag="records",
            parameters=[
                FORM_KEY,
                {
                    "name": "Idempotency-Key",
                    "in": "header",
                    "required": False,
                    "schema": {"type": "string", "maxLength": 64},
                    "description": "Same as client_token in the body.",
                },
            ],
            body=_json_body(_ref("RecordWrite")),
        )
    },
    "/api/records": {
        "get": _op(
            "Records in the caller's data scope, newest first, paginated.",
            {"200": _json(_ref("RecordPage"), "One page."), "400": _error("A bad query parameter.")},
            tag="records",
            parameters=[
                _query("form", "Only records of this form key.", {"type": "string"}),
                _query("status", "Only records in this status.", {"type": "string"}),
                _query("q", "Search the title and searchable text.", {"type": "string"}),
                _query("page", "Page number, from 1.", {"type": "integer", "minimum": 1, "default": 1}),
                _query("per_page", "Page size.", {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}),
            ],
        )
    },
    "/api/records/{record_id}": {
        "get": _op(
            "One record, fields filtered by the caller's field rights.",
            {"200": _json(_ref("Record"), "The record."), **NOT_FOUND},
            tag="records",
            parameters=[RECORD_ID],
        ),
        "patch": _op(
            "Edit a draft or returned record (partial or full data); submit=true submits it.",
            {
                "200": _json(_ref("Record"), "The updated record."),
                **BAD_BODY,
                "403": _error("The caller may see but not edit this record."),
                **NOT_FOUND,
                "409": _error("The record is no longer a draft or returned."),
                **INVALID,
            },
            tag="records",
            parameters=[RECORD_ID],
            body=_json_body(_ref("RecordWrite")),
        ),
    },
    "/api/records/{record_id}/history": {
        "get": _op(
            "The record's history: creation, edits with changed fields, submission.",
            {
                "200": _json(
                    {"type": "object", "properties": {"record_id": {"type": "integer"}, "items": {"type": "array", "items": _ref("RecordEvent")}}},
                    "Events, oldest first.",
                ),
                **NOT_FOUND,
            },
            tag="records",
            parameters=[RECORD_ID],
        )
    },
    "/api/attachments": {
        "post": _op(
            "Upload one file for an attachment field; the returned id goes into the field's value.",
            {
                "201": _json(_ref("Attachment"), "Stored."),
                "400": _error("A missing part, or a refused file (type, name)."),
                "404": _error("No such form or attachment field."),
                "413": _error("The file is larger than the field or request allows."),
                "415": _error("Not multipart/form-data."),
            },
            tag="attachments",
            body={
                "required": True,
                "content": {
                    "multipart/form-data": {
                        "schema": {
                            "type": "object",
                            "required": ["file", "form", "field"],
                            "properties": {
                                "file": {"type": "string", "contentMediaType": "application/octet-stream"},
                                "form": {"type": "string", "description": "Form key."},
                                "field": {"type": "string", "description": "Field path, e.g. lines[*].receipt or receipts."},
                            },
                        }
                    }
                },
            },
        )
    },
    "/api/attachments/{attachment_id}": {
        "get": _op(
            "An attachment's metadata.",
            {"200": _json(_ref("Attachment"), "The attachment."), **NOT_FOUND},
            tag="attachments",
            parameters=[ATTACHMENT_ID],
        )
    },
    "/api/attachments/{attachment_id}/content": {
        "get": _op(
            "Download an attachment's file.",
            {"200": {"description": "The file.", "content": {"application/octet-stream": {}}}, **NOT_FOUND},
            tag="attachments",
            parameters=[ATTACHMENT_ID],
        )
    },
}


FORBIDDEN = {"403": _error("The caller is not an analyst or administrator.")}
DEFINITION_BODY = _json_body(
    {
        "type": "object",
        "description": 'Either {"source": "<YAML or JSON text>", "name": "expense_claim.yaml"} or {"content": {...}}.',
        "properties": {
            "source": {"type": "string"},
            "name": {"type": "string", "maxLength": 200},
            "content": {"type": "object"},
        },
    }
)
PROBLEMS = {
    "422": _json(
        {"type": "object", "properties": {"errors": {"type": "array", "items": {"allOf": [_ref("FieldError"), _ref("Problem")]}}}},
        "The definition has problems: each with its JSON pointer (in field), file line and message.",
    )
}
NUMBER = _path_param("number", "The version number.")
PATHS.update(
    {
        "/api/definitions": {
            "get": _op(
                "Current published definitions (analysts and administrators).",
                {"200": _json({"type": "object", "properties": {"items": {"type": "array", "items": _ref("DefinitionSummary")}}}, "Definitions."), **FORBIDDEN},
                tag="definitions",
                parameters=[_query("kind", "Only this kind, e.g. form.", {"type": "string"})],
            )
        },
        "/api/definitions/schema/{kind}": {
            "get": _op(
                "The JSON Schema of a definition kind.",
                {"200": _json({"type": "object"}, "The JSON Schema."), **FORBIDDEN, **NOT_FOUND},
                tag="definitions",
                parameters=[DEFINITION_KIND],
            )
        },
        "/api/definitions/{kind}/{key}/versions": {
            "get": _op(
                "Every published version of a definition.",
                {"200": _json({"type": "object", "properties": {"items": {"type": "array", "items": _ref("DefinitionSummary")}}}, "Versions."), **FORBIDDEN, **NOT_FOUND},
                tag="definitions",
                parameters=[DEFINITION_KIND, DEFINITION_KEY],
            )
        },
        "/api/definitions/{kind}/{key}/versions/{number}": {
            "get": _op(
                "One version with its content.",
                {"200": _json({"allOf": [_ref("DefinitionSummary"), {"type": "object", "properties": {"content": {"type": "object"}}}]}, "The version."), **FORBIDDEN, **NOT_FOUND},
                tag="definitions",
                parameters=[DEFINITION_KIND, DEFINITION_KEY, NUMBER],
            )
        },
        "/api/definitions/{kind}/{key}/diff": {
            "get": _op(
                "What changed between two versions: added, removed and changed JSON pointers.",
                {
                    "200": _json(
                        {"type": "object", "properties": {name: {"type": "array", "items": {"type": "object"}} for name in ("added", "removed", "changed")}},
                        "The difference.",
                    ),
                    "400": _error("from and to are missing or not numbers."),
                    **FORBIDDEN,
                    **NOT_FOUND,
                },
                tag="definitions",
                parameters=[
                    DEFINITION_KIND,
                    DEFINITION_KEY,
                    {**_query("from", "The older version number.", {"type": "integer"}), "required": True},
                    {**_query("to", "The newer version number.", {"type": "integer"}), "required": True},
                ],
            )
        },
        "/api/definitions/validate": {
            "post": _op(
                "Check a definition without publishing it.",
                {"200": _json({"type": "object", "properties": {"valid": {"const": True}, "kind": {"type": "string"}, "key": {"type": "string"}}}, "Valid."), **BAD_BODY, **FORBIDDEN, **PROBLEMS},
                tag="definitions",
                body=DEFINITION_BODY,
            )
        },
        "/api/definitions/publish": {
            "post": _op(
                "Publish a definition: a new immutable version when it changed.",
                {
                    "201": _json({"allOf": [_ref("DefinitionSummary"), {"type": "object", "properties": {"created": {"const": True}}}]}, "A new version."),
                    "200": _json({"allOf": [_ref("DefinitionSummary"), {"type": "object", "properties": {"created": {"const": False}}}]}, "Unchanged; no new version."),
                    **BAD_BODY,
                    **FORBIDDEN,
                    **PROBLEMS,
                },
                tag="definitions",
                body=DEFINITION_BODY,
            )
        },
    }
)
SCHEMAS["DefinitionSummary"] = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "kind": {"type": "string"},
        "key": {"type": "string"},
        "version": {"type": "integer"},
        "title": {"type": ["object", "string", "null"]},
        "checksum": {"type": "string"},
        "source": {"type": ["string", "null"]},
        "published_at": {"type": ["string", "null"], "format": "date-time"},
        "published_by": {"type": ["integer", "null"]},
    },
}


def document() -> dict[str, Any]:
    """The whole OpenAPI document; the parts are module constants that nothing mutates."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Formwork API",
            "version": "1",
            "description": (
                "Forms, records and attachments of Formwork. Authenticate with the browser session "
                "(state-changing calls then need the X-CSRFToken header) or with "
                "`Authorization: Bearer <token>` from `formwork tokens create USERNAME` (no CSRF token needed). "
                "Errors are JSON {\"error\": ...}; validation errors are 422 with a list of field errors. "
                "Decimal and money values are exchanged as strings so they stay exact."
            ),
        },
        "servers": [{"url": "/"}],
        "security": [{"bearerAuth": []}, {"sessionCookie": []}],
        "tags": [{"name": name} for name in ("forms", "records", "attachments", "definitions", "meta")],
        "paths": PATHS,
        "components": {
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer", "description": "An API token from the CLI."},
                "sessionCookie": {"type": "apiKey", "in": "cookie", "name": "session"},
            },
            "schemas": SCHEMAS,
        },
    }


@api_bp.get("/openapi.json")
def openapi_document():
    return jsonify(document())
