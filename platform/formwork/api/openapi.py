"""``/api/openapi.json``: the OpenAPI 3.1 document, built from the registered routes and the
``@operation`` declaration of each (``api.spec``) — the same declarations that check requests.

A route under /api without a declaration is a programming error: building the document fails
(and ``tests/api/test_openapi.py`` with it), so the document cannot fall behind the code.
"""

from __future__ import annotations

import re
from typing import Any

from flask import current_app, jsonify

from .blueprint import api_bp
from .spec import (
    COMPONENTS,
    ID_PARAMETER,
    JSON,
    MULTIPART,
    Operation,
    Param,
    obj,
    operation,
    operation_of,
    reply,
)

_RULE_ARGUMENT = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")
# What each path parameter names; its type comes from the route's converter.
PATH_DESCRIPTIONS = {
    "record_id": "The record id.",
    "attachment_id": "The attachment id.",
    "task_id": "The task id.",
    "notification_id": "The notification id.",
    "delegation_id": "The out-of-office period id.",
    "number": "The version number.",
    "key": "The key, e.g. expense_claim.",
    "kind": "The definition kind.",
}
TAGS = (
    "forms",
    "records",
    "attachments",
    "definitions",
    "notifications",
    "tasks",
    "requests",
    "audit",
    "me",
    "meta",
)


class UndeclaredRoute(RuntimeError):
    """An /api route without an ``@operation`` declaration."""


def _path_parameter(name: str, converter: str | None, op: Operation) -> dict[str, Any]:
    declared = op.path.get(name)
    if declared is not None:
        schema, description = declared.schema, declared.description
    else:
        schema = dict(ID_PARAMETER) if converter == "int" else {"type": "string", "minLength": 1}
        description = PATH_DESCRIPTIONS.get(name, "")
    return {"name": name, "in": "path", "required": True, "description": description, "schema": schema}


def _parameter(name: str, where: str, param: Param) -> dict[str, Any]:
    return {
        "name": name,
        "in": where,
        "required": param.required,
        "description": param.description,
        "schema": param.schema,
    }


def _operation_object(endpoint: str, op: Operation, path_arguments: list[tuple[str | None, str]]) -> dict:
    result: dict[str, Any] = {
        "operationId": endpoint.split(".", 1)[-1],
        "summary": op.summary,
        "tags": [op.tag],
        "responses": dict(sorted(op.responses.items())),
    }
    if op.description:
        result["description"] = op.description
    if not op.auth:
        result["security"] = []
    parameters = [_path_parameter(name, converter, op) for converter, name in path_arguments]
    parameters += [_parameter(name, "query", param) for name, param in op.query.items()]
    parameters += [_parameter(name, "header", param) for name, param in op.headers.items()]
    if parameters:
        result["parameters"] = parameters
    if op.body is not None:
        result["requestBody"] = {"required": True, "content": {JSON: {"schema": op.body}}}
    if op.multipart is not None:
        encoding = {
            name: {"contentType": part["contentMediaType"]}
            for name, part in op.multipart.get("properties", {}).items()
            if "contentMediaType" in part
        }
        result["requestBody"] = {
            "required": True,
            "content": {MULTIPART: {"schema": op.multipart, "encoding": encoding}},
        }
    return result


def document() -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for rule in sorted(current_app.url_map.iter_rules(), key=lambda r: r.rule):
        if not rule.rule.startswith("/api/"):
            continue
        op = operation_of(current_app.view_functions[rule.endpoint])
        if op is None:
            raise UndeclaredRoute(f"{rule.rule} ({rule.endpoint}) has no @operation declaration")
        arguments = _RULE_ARGUMENT.findall(rule.rule)
        path = _RULE_ARGUMENT.sub(lambda m: "{" + m.group(2) + "}", rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            paths.setdefault(path, {})[method.lower()] = _operation_object(rule.endpoint, op, arguments)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Formwork API",
            "version": "1",
            "description": (
                "Forms, records, attachments, approval tasks and definitions of Formwork. Authenticate with "
                "the browser session (state-changing calls then need the X-CSRFToken header) or with "
                "`Authorization: Bearer <token>` from `formwork tokens create USERNAME` "
                "(no CSRF token needed). "
                'Errors are JSON {"error": ...}; a bad query parameter or header is a 400 and body fields '
                'that do not fit are a 422, both with "errors": [{"field", "message"}]. '
                "Decimal and money values are exchanged as strings so they stay exact."
            ),
        },
        "servers": [{"url": "/"}],
        "security": [{"bearerAuth": []}, {"sessionCookie": []}],
        "tags": [{"name": name} for name in TAGS],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An API token from the CLI.",
                },
                "sessionCookie": {"type": "apiKey", "in": "cookie", "name": "session"},
            },
            "schemas": dict(sorted(COMPONENTS.items())),
        },
    }


@api_bp.get("/openapi.json")
@operation(
    "This document.",
    tag="meta",
    auth=False,
    responses={
        200: reply(
            obj(
                {"openapi": {"type": "string"}, "info": {"type": "object"}, "paths": {"type": "object"}},
                closed=False,
            ),
            "The OpenAPI document.",
        )
    },
)
def openapi_document():
    return jsonify(document())
