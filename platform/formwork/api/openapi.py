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
INVALID = {
    "422": _json(
        _ref("ValidationErrors"),
        "Field values failed validation (wrong JSON type, bounds, rules); paths like lines[2].amount.",
    )
}
UNAVAILABLE = {
    "503": _error(
        "The form's version cannot be used in this installation (e.g. a plugin it needs "
        "is not loaded); the error names what is missing."
    )
}

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
            "field": {
                "type": "string",
                "examples": ["lines[2].amount"],
                "description": "Path of the field; empty for the whole form.",
            },
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
            'Field values by field key. Decimal and money values are strings ("1234.50") or JSON numbers, '
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
            "form_version": {
                "type": "integer",
                "description": "The definition version the record was created with.",
            },
            "status": {
                "type": "string",
                "enum": ["draft", "submitted", "in_review", "returned", "approved", "rejected", "withdrawn"],
            },
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
            "submit": {
                "type": "boolean",
                "default": False,
                "description": "true submits; false keeps a draft.",
            },
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
            "available": {
                "type": "boolean",
                "description": "False when the version cannot be compiled here (a plugin it needs is not loaded).",
            },
            "unavailable_reason": {"type": "string", "description": "Why, when available is false."},
        },
    },
    "FormDefinition": {
        "allOf": [
            _ref("FormSummary"),
            {
                "type": "object",
                "properties": {
                    "definition": {
                        "type": "object",
                        "description": "The published definition (see docs/definitions.md).",
                    }
                },
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


def _op(
    summary: str,
    responses: dict[str, Any],
    *,
    tag: str,
    parameters: list | None = None,
    body: dict[str, Any] | None = None,
    auth: bool = True,
) -> dict[str, Any]:
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
        "get": _op(
            "This document.",
            {"200": _json({"type": "object"}, "The OpenAPI document.")},
            tag="meta",
            auth=False,
        )
    },
    "/api/forms": {
        "get": _op(
            "Published forms the caller may create records of.",
            {
                "200": _json(
                    {
                        "type": "object",
                        "properties": {"items": {"type": "array", "items": _ref("FormSummary")}},
                    },
                    "Forms.",
                )
            },
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
                **UNAVAILABLE,
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
                _query(
                    "per_page", "Page size.", {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}
                ),
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
                **UNAVAILABLE,
            },
            tag="records",
            parameters=[RECORD_ID],
            body=_json_body(_ref("RecordWrite")),
        ),
        "delete": _op(
            "Delete my own draft that was never submitted; its files become unclaimed uploads.",
            {
                "204": {"description": "Deleted."},
                "403": _error("The caller may see but does not own this record."),
                **NOT_FOUND,
                "409": _error("Not a draft, or it was submitted before."),
            },
            tag="records",
            parameters=[RECORD_ID],
        ),
    },
    "/api/records/{record_id}/copy": {
        "post": _op(
            "Start a new draft of the form's current version from my request's entered values "
            "(without attached files and fields the version no longer has).",
            {
                "201": _json(_ref("Record"), "The new draft."),
                "403": _error("The caller may see but does not own this record."),
                **NOT_FOUND,
                **INVALID,
            },
            tag="records",
            parameters=[RECORD_ID],
        ),
    },
    "/api/records/{record_id}/remind": {
        "post": _op(
            "Remind (催办) the people my running request waits on; at most once per "
            "FORMWORK_REMIND_INTERVAL_SECONDS (default 3600) per request.",
            {
                "200": _json(
                    {
                        "type": "object",
                        "properties": {"reminded": {"type": "array", "items": {"type": "integer"}}},
                    },
                    "The ids of the people reminded.",
                ),
                "403": _error("The caller may see but does not own this record."),
                **NOT_FOUND,
                "409": _error("The request is not waiting for anyone."),
                "429": _error(
                    'Too soon after the last reminder; "retry_after" and the Retry-After header say when.'
                ),
            },
            tag="records",
            parameters=[RECORD_ID],
        ),
    },
    "/api/records/{record_id}/history": {
        "get": _op(
            "The record's history: creation, edits with changed fields, submission.",
            {
                "200": _json(
                    {
                        "type": "object",
                        "properties": {
                            "record_id": {"type": "integer"},
                            "items": {"type": "array", "items": _ref("RecordEvent")},
                        },
                    },
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
                                "field": {
                                    "type": "string",
                                    "description": "Field path, e.g. lines[*].receipt or receipts.",
                                },
                                "record": {
                                    "type": "string",
                                    "description": "Optional: the id of the record the file is for; "
                                    "the limits of that record's form version apply.",
                                },
                                "version": {
                                    "type": "string",
                                    "description": "Optional: a version number of the form whose "
                                    "limits apply; without record or version, the current version's.",
                                },
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
        {
            "type": "object",
            "properties": {
                "errors": {"type": "array", "items": {"allOf": [_ref("FieldError"), _ref("Problem")]}}
            },
        },
        "The definition has problems: each with its JSON pointer (in field), file line and message.",
    )
}
NUMBER = _path_param("number", "The version number.")
PATHS.update(
    {
        "/api/definitions": {
            "get": _op(
                "Current published definitions (analysts and administrators).",
                {
                    "200": _json(
                        {
                            "type": "object",
                            "properties": {"items": {"type": "array", "items": _ref("DefinitionSummary")}},
                        },
                        "Definitions.",
                    ),
                    **FORBIDDEN,
                },
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
                {
                    "200": _json(
                        {
                            "type": "object",
                            "properties": {"items": {"type": "array", "items": _ref("DefinitionSummary")}},
                        },
                        "Versions.",
                    ),
                    **FORBIDDEN,
                    **NOT_FOUND,
                },
                tag="definitions",
                parameters=[DEFINITION_KIND, DEFINITION_KEY],
            )
        },
        "/api/definitions/{kind}/{key}/versions/{number}": {
            "get": _op(
                "One version with its content.",
                {
                    "200": _json(
                        {
                            "allOf": [
                                _ref("DefinitionSummary"),
                                {"type": "object", "properties": {"content": {"type": "object"}}},
                            ]
                        },
                        "The version.",
                    ),
                    **FORBIDDEN,
                    **NOT_FOUND,
                },
                tag="definitions",
                parameters=[DEFINITION_KIND, DEFINITION_KEY, NUMBER],
            )
        },
        "/api/definitions/{kind}/{key}/diff": {
            "get": _op(
                "What changed between two versions: added, removed and changed JSON pointers.",
                {
                    "200": _json(
                        {
                            "type": "object",
                            "properties": {
                                name: {"type": "array", "items": {"type": "object"}}
                                for name in ("added", "removed", "changed")
                            },
                        },
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
                {
                    "200": _json(
                        {
                            "type": "object",
                            "properties": {
                                "valid": {"const": True},
                                "kind": {"type": "string"},
                                "key": {"type": "string"},
                            },
                        },
                        "Valid.",
                    ),
                    **BAD_BODY,
                    **FORBIDDEN,
                    **PROBLEMS,
                },
                tag="definitions",
                body=DEFINITION_BODY,
            )
        },
        "/api/definitions/publish": {
            "post": _op(
                "Publish a definition: a new immutable version when it changed.",
                {
                    "201": _json(
                        {
                            "allOf": [
                                _ref("DefinitionSummary"),
                                {"type": "object", "properties": {"created": {"const": True}}},
                            ]
                        },
                        "A new version.",
                    ),
                    "200": _json(
                        {
                            "allOf": [
                                _ref("DefinitionSummary"),
                                {"type": "object", "properties": {"created": {"const": False}}},
                            ]
                        },
                        "Unchanged; no new version.",
                    ),
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


# Printable documents (formwork.documents).
PATHS["/api/records/{record_id}/pdf"] = {
    "get": _op(
        "The record as a printable PDF voucher: fields the caller may read, line items, totals, "
        "the amount in Chinese capitals and the approval trail.",
        {
            "200": {
                "description": "The PDF (Content-Disposition: attachment with a safe file name).",
                "content": {
                    "application/pdf": {"schema": {"type": "string", "contentMediaType": "application/pdf"}}
                },
            },
            **NOT_FOUND,
        },
        tag="records",
        parameters=[RECORD_ID],
    )
}

# In-app notifications (formwork.notifications).
SCHEMAS["Notification"] = {
    "type": "object",
    "required": ["id", "kind", "subject", "body", "read"],
    "properties": {
        "id": {"type": "integer"},
        "kind": {
            "type": "string",
            "examples": [
                "task_assigned",
                "reminder",
                "escalated",
                "approved",
                "rejected",
                "returned",
                "cc",
                "alert",
            ],
        },
        "subject": {"type": "string", "description": "In the caller's interface language."},
        "body": {
            "type": "string",
            "description": "In the caller's interface language; lines separated by \\n.",
        },
        "record_id": {"type": ["integer", "null"]},
        "task_id": {"type": ["integer", "null"]},
        "created_at": {"type": "string", "format": "date-time"},
        "read_at": {"type": ["string", "null"], "format": "date-time"},
        "read": {"type": "boolean"},
    },
}
NOTIFICATION_ID = _path_param("notification_id", "The notification id.")
PATHS.update(
    {
        "/api/notifications": {
            "get": _op(
                "The caller's notifications, newest first, paginated, with the unread count.",
                {
                    "200": _json(
                        {
                            "type": "object",
                            "required": ["items", "page", "per_page", "total", "unread"],
                            "properties": {
                                "items": {"type": "array", "items": _ref("Notification")},
                                "page": {"type": "integer", "minimum": 1},
                                "per_page": {"type": "integer", "minimum": 1, "maximum": 100},
                                "total": {"type": "integer", "minimum": 0},
                                "unread": {"type": "integer", "minimum": 0},
                            },
                        },
                        "One page.",
                    ),
                    "400": _error("A bad query parameter."),
                },
                tag="notifications",
                parameters=[
                    _query("unread", "1: only unread notifications.", {"type": "string", "enum": ["0", "1"]}),
                    _query("page", "Page number, from 1.", {"type": "integer", "minimum": 1, "default": 1}),
                    _query(
                        "per_page",
                        "Page size.",
                        {"type": "integer", "minimum": 1, "maximum": 100, "default": 20},
                    ),
                ],
            )
        },
        "/api/notifications/{notification_id}/read": {
            "post": _op(
                "Mark one of the caller's notifications read (repeating it changes nothing).",
                {"200": _json(_ref("Notification"), "The notification."), **NOT_FOUND},
                tag="notifications",
                parameters=[NOTIFICATION_ID],
            )
        },
        "/api/notifications/read-all": {
            "post": _op(
                "Mark every unread notification of the caller read.",
                {
                    "200": _json(
                        {
                            "type": "object",
                            "properties": {"marked": {"type": "integer"}, "unread": {"const": 0}},
                        },
                        "How many were marked.",
                    )
                },
                tag="notifications",
            )
        },
    }
)


# ---- approval tasks, requests, out of office -----------------------------------------------------
TASK_ID = _path_param("task_id", "The task id.")
DELEGATION_ID = _path_param("delegation_id", "The out-of-office period id.")
PAGING = [
    _query("page", "Page number, from 1.", {"type": "integer", "minimum": 1, "default": 1}),
    _query("per_page", "Page size.", {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}),
]
TASK_CLOSED = {
    "409": _error(
        '"already decided": the task is no longer open (decided, transferred, or the request ended).'
    )
}
DECISION_INVALID = {
    "422": _json(
        {"allOf": [_ref("Error"), {"type": "object", "properties": {"field": {"type": "string"}}}]},
        "The decision cannot be made: unknown action, a missing comment or person, an inactive user, a step that is not earlier.",
    )
}
SCHEMAS.update(
    {
        "Person": {
            "type": "object",
            "properties": {
                "id": {"type": "integer"},
                "username": {"type": "string"},
                "display_name": {"type": "string"},
            },
        },
        "Task": {
            "type": "object",
            "required": ["id", "status", "step", "record"],
            "properties": {
                "id": {"type": "integer"},
                "status": {
                    "type": "string",
                    "examples": ["open", "approved", "rejected", "returned", "transferred", "waiting"],
                },
                "kind": {"type": "string", "enum": ["approval", "cc"]},
                "step": {
                    "type": "object",
                    "properties": {
                        "key": {"type": "string"},
                        "name": {"type": "string"},
                        "round": {"type": "integer"},
                    },
                },
                "record": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "integer"},
                        "title": {"type": "string"},
                        "form": {"type": "string"},
                        "form_title": {"type": "string"},
                        "status": {"type": "string"},
                        "owner": _ref("Person"),
                        "data": {
                            "description": "Only in GET /api/tasks/{task_id}: the record's data, filtered like GET /api/records/{id}."
                        },
                    },
                },
                "process_id": {"type": "integer"},
                "on_behalf_of": {
                    "type": ["string", "null"],
                    "description": "Whom the route meant, when someone else holds the task.",
                },
                "created_at": {"type": "string", "format": "date-time"},
                "due_at": {"type": ["string", "null"], "format": "date-time"},
                "overdue": {"type": "boolean"},
                "waited_seconds": {"type": "integer"},
                "waited": {
                    "type": "string",
                    "description": "How long it has waited, in words in the caller's language.",
                },
                "decision": {"type": ["string", "null"]},
                "decided_at": {"type": ["string", "null"], "format": "date-time"},
                "comment": {"type": ["string", "null"]},
                "url": {"type": "string", "description": "The task's page in the browser."},
                "type": {
                    "type": "string",
                    "enum": ["main", "transfer", "delegate", "before", "after"],
                    "description": "Only in GET /api/tasks/{task_id}: how the task came about (from the route, transferred, asked for advice, an added signer before or after).",
                },
                "return_steps": {
                    "type": "array",
                    "items": {"type": "object"},
                    "description": "Open tasks only: earlier steps it may return to.",
                },
                "trail": {
                    "type": "array",
                    "items": _ref("TrailEntry"),
                    "description": "Only in GET /api/tasks/{task_id}.",
                },
            },
        },
        "TaskPage": {
            "type": "object",
            "required": ["items", "page", "per_page", "total"],
            "properties": {
                "items": {"type": "array", "items": _ref("Task")},
                "page": {"type": "integer"},
                "per_page": {"type": "integer"},
                "total": {"type": "integer"},
                "counts": {
                    "type": "object",
                    "properties": {"open": {"type": "integer"}, "overdue": {"type": "integer"}},
                    "description": "GET /api/tasks only: all my open tasks and how many are overdue (unfiltered).",
                },
            },
        },
        "Decision": {
            "type": "object",
            "required": ["action"],
            "additionalProperties": False,
            "properties": {
                "action": {
                    "type": "string",
                    "enum": [
                        "approve",
                        "reject",
                        "return",
                        "transfer",
                        "delegate",
                        "add_signer",
                        "comment",
                        "recall",
                    ],
                    "description": "recall: on my task that waits for the person I delegated it to (委派), take it back before they decide.",
                },
                "comment": {
                    "type": "string",
                    "maxLength": 4000,
                    "description": "Required to reject, return or comment.",
                },
                "to_user": {
                    "type": ["integer", "string"],
                    "description": "transfer, delegate, add_signer: an active user's id or user name.",
                },
                "step": {
                    "type": "string",
                    "description": "return: an earlier step's key; omitted returns to the submitter.",
                },
                "position": {
                    "type": "string",
                    "enum": ["before", "after"],
                    "description": "add_signer (required): the signer signs before or after me.",
                },
                "attachments": {
                    "type": "array",
                    "items": {"type": "integer"},
                    "description": "Ids of files uploaded with POST /api/attachments.",
                },
            },
        },
        "DecisionResult": {
            "type": "object",
            "properties": {
                "task": _ref("Task"),
                "process": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "integer"},
                        "status": {"type": "string"},
                        "current": {"type": "array", "items": {"type": "object"}},
                    },
                },
                "record": {
                    "type": "object",
                    "properties": {"id": {"type": "integer"}, "status": {"type": "string"}},
                },
            },
        },
        "TrailEntry": {
            "type": "object",
            "properties": {
                "id": {"type": "integer"},
                "kind": {"const": "approval"},
                "at": {"type": "string", "format": "date-time"},
                "action": {
                    "type": "string",
                    "examples": [
                        "submitted",
                        "approve",
                        "reject",
                        "return",
                        "transfer",
                        "skipped",
                        "approved",
                    ],
                },
                "actor": {
                    "oneOf": [_ref("Person"), {"type": "null"}],
                    "description": "null: the system (skips, timeouts).",
                },
                "on_behalf_of": {"oneOf": [_ref("Person"), {"type": "null"}]},
                "step": {"type": ["object", "null"]},
                "comment": {"type": ["string", "null"]},
                "details": {"type": ["object", "null"]},
                "attachments": {"type": "array", "items": {"type": "object"}},
            },
        },
        "RouteDiagram": {
            "type": "object",
            "description": "The route with each step's state; nodes are steps, parallel groups (branches side by side) and conditional branches.",
            "properties": {
                "process_id": {"type": "integer"},
                "route": {"type": "string", "description": "The route's key."},
                "title": {"type": "string", "description": "The route's title in the caller's language."},
                "version": {
                    "type": ["integer", "null"],
                    "description": "The route version the request runs on.",
                },
                "status": {"type": "string"},
                "nodes": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "type": {"enum": ["step", "parallel", "branch"]},
                            "key": {"type": "string"},
                            "state": {
                                "enum": ["pending", "active", "approved", "rejected", "returned", "skipped"]
                            },
                            "people": {"type": "array", "items": {"type": "string"}},
                        },
                    },
                },
                "end_state": {"type": "string"},
            },
        },
        "RequestSummary": {
            "type": "object",
            "properties": {
                "record": {"type": "object"},
                "status": {"type": "string"},
                "submitted_at": {"type": ["string", "null"], "format": "date-time"},
                "current": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "step": {"type": "object"},
                            "holders": {"type": "array", "items": _ref("Person")},
                        },
                    },
                },
            },
        },
        "OutOfOffice": {
            "type": "object",
            "properties": {
                "id": {"type": "integer"},
                "delegate": _ref("Person"),
                "starts_at": {"type": "string", "format": "date-time"},
                "ends_at": {"type": "string", "format": "date-time"},
                "active": {"type": "boolean"},
                "cancelled_at": {"type": ["string", "null"], "format": "date-time"},
            },
        },
    }
)
SCHEMAS["RecordEvent"] = {
    **SCHEMAS["RecordEvent"],
    "description": 'In GET /api/records/{record_id}/history: record changes (kind "change") and approval trail entries (kind "approval", see TrailEntry), oldest first.',
}
PATHS["/api/records/{record_id}/history"]["get"]["summary"] = (
    "The record's history: its changes (creation, edits, submission) and the approval trail, in time order."
)
PATHS.update(
    {
        "/api/tasks": {
            "get": _op(
                "My open approval tasks, paginated, with counts (open, overdue).",
                {"200": _json(_ref("TaskPage"), "One page."), "400": _error("A bad query parameter.")},
                tag="tasks",
                parameters=[
                    _query(
                        "sort",
                        "oldest (default), newest or due.",
                        {"type": "string", "enum": ["oldest", "newest", "due"]},
                    ),
                    _query("form", "Only tasks on records of this form key.", {"type": "string"}),
                    _query("q", "Search the record's title and searchable text.", {"type": "string"}),
                    _query("overdue", "true: only tasks past their deadline.", {"type": "boolean"}),
                    *PAGING,
                ],
            )
        },
        "/api/tasks/decided": {
            "get": _op(
                "Tasks I decided, latest first.",
                {"200": _json(_ref("TaskPage"), "One page."), "400": _error("A bad query parameter.")},
                tag="tasks",
                parameters=PAGING,
            )
        },
        "/api/tasks/{task_id}": {
            "get": _op(
                "One of my tasks (open or decided by me) with the record's data and the trail.",
                {"200": _json(_ref("Task"), "The task."), **NOT_FOUND},
                tag="tasks",
                parameters=[TASK_ID],
            )
        },
        "/api/tasks/{task_id}/attachments": {
            "post": _op(
                "Upload one file for my coming decision on this task; put the returned id in the decision's "
                "`attachments`. Only my decision on this task's request can claim it; until then only I can "
                "read it. Limits: FORMWORK_DECISION_ACCEPT (default pdf, images, docx, xlsx, ofd, txt, csv, zip) "
                "and FORMWORK_DECISION_MAX_SIZE (default 10 MB).",
                {
                    "201": _json(_ref("Attachment"), 'Stored (its "field" is "$decision:<record id>").'),
                    "400": _error('The "file" part is missing, or the file is empty.'),
                    **NOT_FOUND,
                    **TASK_CLOSED,
                    "413": _error("The file is larger than decision files may be."),
                    "415": _error(
                        "Not multipart/form-data, a type not accepted, or content not matching its name."
                    ),
                },
                tag="tasks",
                parameters=[TASK_ID],
                body={
                    "required": True,
                    "content": {
                        "multipart/form-data": {
                            "schema": {
                                "type": "object",
                                "required": ["file"],
                                "properties": {
                                    "file": {"type": "string", "contentMediaType": "application/octet-stream"}
                                },
                            }
                        }
                    },
                },
            )
        },
        "/api/tasks/approve": {
            "post": _op(
                "Approve several of my open tasks at once (批量审批), each through the same checks as a single "
                "approval and in its own transaction: a refused task leaves the others approved. Tasks whose "
                "step requires a comment to approve are refused (422) unless the comment is given.",
                {
                    "200": _json(
                        {
                            "type": "object",
                            "required": ["results", "approved", "refused"],
                            "properties": {
                                "results": {
                                    "type": "array",
                                    "items": {
                                        "type": "object",
                                        "required": ["task_id", "ok", "status"],
                                        "properties": {
                                            "task_id": {"type": "integer"},
                                            "ok": {"type": "boolean"},
                                            "status": {
                                                "type": "integer",
                                                "description": "What a single decision would answer: "
                                                "200, 404 (not my task), 409 (already decided), 422.",
                                            },
                                            "record_id": {"type": "integer"},
                                            "error": {"type": "string"},
                                        },
                                    },
                                },
                                "approved": {"type": "integer"},
                                "refused": {"type": "integer"},
                            },
                        },
                        "One result per task, in the order given.",
                    ),
                    **BAD_BODY,
                    "422": _error("No task ids, more than 100, ids that are not numbers, or a bad comment."),
                },
                tag="tasks",
                body=_json_body(
                    {
                        "type": "object",
                        "required": ["task_ids"],
                        "additionalProperties": False,
                        "properties": {
                            "task_ids": {
                                "type": "array",
                                "items": {"type": "integer"},
                                "minItems": 1,
                                "maxItems": 100,
                            },
                            "comment": {"type": "string", "maxLength": 4000},
                        },
                    }
                ),
            )
        },
        "/api/tasks/{task_id}/decision": {
            "post": _op(
                "Act on my open task: approve, reject, return, transfer, delegate, add_signer or comment; "
                "or recall a task I delegated while the delegate has not decided.",
                {
                    "200": _json(_ref("DecisionResult"), "Done; the task and where the request stands now."),
                    **BAD_BODY,
                    **NOT_FOUND,
                    **TASK_CLOSED,
                    **DECISION_INVALID,
                },
                tag="tasks",
                parameters=[TASK_ID],
                body=_json_body(_ref("Decision")),
            )
        },
        "/api/requests": {
            "get": _op(
                "What I submitted and where each stands (current steps and who holds them), latest first.",
                {
                    "200": _json(
                        {
                            "type": "object",
                            "properties": {
                                "items": {"type": "array", "items": _ref("RequestSummary")},
                                "page": {"type": "integer"},
                                "per_page": {"type": "integer"},
                                "total": {"type": "integer"},
                            },
                        },
                        "One page.",
                    ),
                    "400": _error("A bad query parameter."),
                },
                tag="requests",
                parameters=[_query("status", "Only requests in this status.", {"type": "string"}), *PAGING],
            )
        },
        "/api/records/{record_id}/route": {
            "get": _op(
                "The request's route with each step's state (for a diagram).",
                {"200": _json(_ref("RouteDiagram"), "The route."), **NOT_FOUND},
                tag="requests",
                parameters=[RECORD_ID],
            )
        },
        "/api/records/{record_id}/withdraw": {
            "post": _op(
                "Withdraw my request: by default while nobody has acted on it; a route's `withdraw` setting "
                "may allow it until the request ends, or never.",
                {
                    "200": _json(
                        {
                            "type": "object",
                            "properties": {"record": {"type": "object"}, "route": _ref("RouteDiagram")},
                        },
                        "Withdrawn.",
                    ),
                    "403": _error("Only the submitter can withdraw."),
                    **NOT_FOUND,
                    "409": _error(
                        "It can no longer be withdrawn (someone has acted, the route does not allow it, or it is not under review)."
                    ),
                },
                tag="requests",
                parameters=[RECORD_ID],
            )
        },
        "/api/me/out-of-office": {
            "get": _op(
                "My current and coming out-of-office periods.",
                {
                    "200": _json(
                        {
                            "type": "object",
                            "properties": {"items": {"type": "array", "items": _ref("OutOfOffice")}},
                        },
                        "Periods.",
                    )
                },
                tag="me",
            ),
            "post": _op(
                "Set a period: tasks arriving for me in it go to the delegate. Dates cover whole days (UTC).",
                {
                    "201": _json(_ref("OutOfOffice"), "Saved."),
                    **BAD_BODY,
                    "422": _error(
                        "A bad period or delegate (inactive, myself, overlapping, already over); field names the input."
                    ),
                },
                tag="me",
                body=_json_body(
                    {
                        "type": "object",
                        "required": ["delegate", "starts_at", "ends_at"],
                        "additionalProperties": False,
                        "properties": {
                            "delegate": {
                                "type": ["integer", "string"],
                                "description": "User id or user name.",
                            },
                            "starts_at": {
                                "type": "string",
                                "description": "ISO date (first day) or date-time.",
                            },
                            "ends_at": {
                                "type": "string",
                                "description": "ISO date (last day, inclusive) or date-time.",
                            },
                        },
                    }
                ),
            ),
            "delete": _op(
                "Cancel all my current and coming periods (back in the office).",
                {
                    "200": _json(
                        {
                            "type": "object",
                            "properties": {"cancelled": {"type": "array", "items": {"type": "integer"}}},
                        },
                        "Cancelled ids.",
                    )
                },
                tag="me",
            ),
        },
        "/api/me/out-of-office/{delegation_id}": {
            "delete": _op(
                "Cancel one of my current or coming periods.",
                {
                    "200": _json(
                        {
                            "type": "object",
                            "properties": {"cancelled": {"type": "array", "items": {"type": "integer"}}},
                        },
                        "Cancelled.",
                    ),
                    **NOT_FOUND,
                },
                tag="me",
                parameters=[DELEGATION_ID],
            )
        },
    }
)


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
                'Errors are JSON {"error": ...}; validation errors are 422 with a list of field errors. '
                "Decimal and money values are exchanged as strings so they stay exact."
            ),
        },
        "servers": [{"url": "/"}],
        "security": [{"bearerAuth": []}, {"sessionCookie": []}],
        "tags": [
            {"name": name}
            for name in (
                "forms",
                "records",
                "attachments",
                "definitions",
                "notifications",
                "tasks",
                "requests",
                "me",
                "meta",
            )
        ],
        "paths": PATHS,
        "components": {
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An API token from the CLI.",
                },
                "sessionCookie": {"type": "apiKey", "in": "cookie", "name": "session"},
            },
            "schemas": SCHEMAS,
        },
    }


@api_bp.get("/openapi.json")
def openapi_document():
    return jsonify(document())
