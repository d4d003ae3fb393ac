"""One declaration per API operation: it checks the request, and it is the OpenAPI document.

``@operation(...)`` sits under a view's route and sign-in decorators::

    @api_bp.get("/records")
    @login_required
    @operation("Records in the caller's data scope.", tag="records", query={**PAGING}, responses={...})
    def list_records(): ...

Its query, header, body and multipart declarations are JSON Schema (2020-12, the dialect of
OpenAPI 3.1). Before the view runs they are checked with ``jsonschema``: a bad query parameter
or header is a 400, a body that is not a JSON object a 400 (415 when it is not JSON at all), a
body whose fields break the declaration a 422 — each with ``errors``, one ``{"field",
"message"}`` per fault, the API's validation shape. The view reads what was checked with
``query_args()`` and ``body()``. ``api.openapi`` builds ``/api/openapi.json`` from the same
declarations and the registered routes, so what is documented is what is enforced.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field
from typing import Any, Callable

from flask import abort, current_app, g, request
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from ..input_limits import MAX_JSON_DEPTH, MAX_PAGE, MAX_ROW_ID, JSONInputError, load_json
from .blueprint import error_response

JSON = "application/json"
MULTIPART = "multipart/form-data"
MAX_PER_PAGE = 100
MAX_ID = MAX_ROW_ID  # ids are 32-bit integers on PostgreSQL: a larger one names nothing
MAX_ERRORS = 20  # beyond this, more messages only bury the first mistake

# Schemas shared by several operations, by name: ``components.schemas`` of the document.
COMPONENTS: dict[str, dict[str, Any]] = {}


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def component(name: str, schema: dict[str, Any]) -> dict[str, str]:
    """Register a named schema (declared next to the code that produces or reads it); returns its $ref."""
    COMPONENTS[name] = schema
    return ref(name)


def nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}]}


def obj(properties: dict[str, Any], *, optional: tuple[str, ...] = (), closed: bool = True, **extra: Any):
    """An object schema whose properties are all required unless named in ``optional``."""
    schema: dict[str, Any] = {
        "type": "object",
        "required": [name for name in properties if name not in optional],
        "properties": properties,
        **extra,
    }
    if closed:
        schema["additionalProperties"] = False
    return schema


DATE_TIME = {"type": "string", "format": "date-time"}
ID = {"type": "integer", "minimum": 1}
ID_PARAMETER = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
USER_REF = {
    "type": ["integer", "string"],
    "minimum": 1,
    "maximum": MAX_ID,
    "minLength": 1,
    "maxLength": 150,
    "description": "An active user's id or user name.",
}

component(
    "Error",
    {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {"type": "string", "description": "What went wrong, in plain words."},
            "field": {"type": "string", "description": "The input at fault, when there is one."},
            "errors": {"type": "array", "items": ref("FieldError")},
        },
        "additionalProperties": True,
    },
)
component(
    "FieldError",
    {
        "type": "object",
        "required": ["field", "message"],
        "properties": {
            "field": {
                "type": "string",
                "examples": ["lines[2].amount"],
                "description": "Path of the field (query parameter, header, body field or multipart part).",
            },
            "message": {"type": "string"},
        },
    },
)


@dataclass(frozen=True)
class Param:
    """A query parameter, header or path parameter: its schema and what it means."""

    schema: dict[str, Any]
    description: str = ""
    required: bool = False


PAGING = {
    "page": Param(
        {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 1}, "Page number, from 1."
    ),
    "per_page": Param(
        {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE},
        "Page size (default: the installation's page size, 20 unless configured).",
    ),
}


def reply(schema: dict[str, Any], description: str, media_type: str = JSON) -> dict[str, Any]:
    return {"description": description, "content": {media_type: {"schema": schema}}}


def error(description: str) -> dict[str, Any]:
    return reply(ref("Error"), description)


def binary(media_type: str, description: str) -> dict[str, Any]:
    """A file answer; ``media_type`` may be a range such as ``*/*`` (the file's own type)."""
    schema: dict[str, Any] = {"type": "string"}
    if "*" not in media_type:
        schema["contentMediaType"] = media_type
    return reply(schema, description, media_type)


@dataclass
class Operation:
    summary: str
    tag: str
    responses: dict[str, dict[str, Any]]
    query: dict[str, Param] = field(default_factory=dict)
    headers: dict[str, Param] = field(default_factory=dict)
    path: dict[str, Param] = field(default_factory=dict)
    body: dict[str, Any] | None = None
    multipart: dict[str, Any] | None = None
    auth: bool = True
    description: str | None = None


def operation(
    summary: str,
    *,
    tag: str,
    responses: dict[int | str, dict[str, Any]],
    query: dict[str, Param] | None = None,
    headers: dict[str, Param] | None = None,
    path: dict[str, Param] | None = None,
    body: dict[str, Any] | None = None,
    multipart: dict[str, Any] | None = None,
    auth: bool = True,
    description: str | None = None,
    body_depth: int = MAX_JSON_DEPTH,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare an operation; the wrapped view runs only on a request that fits the declaration.

    The statuses the checks themselves answer (400, 413, 415, 422, and 401 for an operation that
    needs a signed-in caller) are added to ``responses`` unless the view declares its own wording.
    """
    declared = {str(status): response for status, response in responses.items()}
    implied: dict[str, dict[str, Any]] = {}
    if auth:
        implied["401"] = error("Not signed in and no valid bearer token.")
    if query or headers:
        implied["400"] = error("A query parameter or header does not fit its declaration; errors name each.")
    if body is not None:
        implied["400"] = error("The body is empty, malformed JSON or not a JSON object.")
        implied["413"] = error("The body is larger than the configured request size limit.")
        implied["415"] = error("The body is not JSON (Content-Type must be application/json).")
        implied["422"] = error(
            "Body fields do not fit the declaration (unknown, missing, wrong type or range)."
        )
    if multipart is not None:
        implied["400"] = error("A required multipart part is missing; errors name each.")
        implied["413"] = error("The request or the file is larger than allowed.")
        implied["415"] = error("The request is not multipart/form-data.")
        implied.setdefault("422", error("A multipart part does not fit its declaration; errors name each."))
    op = Operation(
        summary=summary,
        tag=tag,
        responses={**implied, **declared},
        query=dict(query or {}),
        headers=dict(headers or {}),
        path=dict(path or {}),
        body=body,
        multipart=multipart,
        auth=auth,
        description=description,
    )
    query_validator = _validator(_params_schema(op.query)) if op.query else None
    header_validator = _validator(_params_schema(op.headers)) if op.headers else None
    body_validator = _validator(body) if body is not None else None
    part_validator = _validator(multipart) if multipart is not None else None

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def checked(*args: Any, **kwargs: Any) -> Any:
            if query_validator is not None:
                g.api_query = _check_params(op.query, request.args, query_validator)
            if header_validator is not None:
                g.api_headers = _check_params(op.headers, request.headers, header_validator)
            if body_validator is not None:
                g.api_body = _check_body(body_validator, body_depth)
            if part_validator is not None:
                _check_multipart(multipart or {}, part_validator)
            return view(*args, **kwargs)

        checked.api_operation = op  # type: ignore[attr-defined]
        return checked

    return decorate


def operation_of(view: Callable[..., Any]) -> Operation | None:
    """The declaration of a registered view, through the decorators above it."""
    current: Any = view
    while current is not None:
        op = getattr(current, "api_operation", None)
        if op is not None:
            return op
        current = getattr(current, "__wrapped__", None)
    return None


def query_args() -> dict[str, Any]:
    """The checked query parameters (typed, with declared defaults) of the current request."""
    return g.get("api_query", {})


def page_arguments() -> tuple[int, int]:
    """The checked ``page`` and ``per_page`` of a list request (the default page size from config)."""
    args = query_args()
    return args.get("page", 1), args.get("per_page") or current_app.config.get("FORMWORK_PAGE_SIZE", 20)


def header_args() -> dict[str, Any]:
    return g.get("api_headers", {})


def body() -> dict[str, Any]:
    """The checked JSON body of the current request (decimals exact)."""
    return g.api_body


# ---- checking -----------------------------------------------------------------------------------


def _validator(schema: dict[str, Any]) -> Callable[[Any], list[ValidationError]]:
    """``check(instance) -> errors``; built lazily so declarations may refer to components declared later."""
    compiled: list[Draft202012Validator] = []

    def check(instance: Any) -> list[ValidationError]:
        if not compiled:
            # The declaration as the root of a document that also holds the components, so its
            # ``#/components/schemas/...`` references resolve as they do in the OpenAPI document.
            rooted = {**schema, "components": {"schemas": COMPONENTS}}
            Draft202012Validator.check_schema(rooted)
            compiled.append(Draft202012Validator(rooted))
        return sorted(compiled[0].iter_errors(instance), key=lambda e: [str(p) for p in e.absolute_path])

    return check


def _params_schema(params: dict[str, Param]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {name: param.schema for name, param in params.items()},
        "required": [name for name, param in params.items() if param.required],
    }


_WHOLE_NUMBER = re.compile(r"[+-]?[0-9]{1,30}")
_BOOLEANS = {"true": True, "1": True, "false": False, "0": False}


def _convert(raw: str, schema: dict[str, Any]) -> Any:
    """A query or header string as the declared type; the string itself when it is not one
    (the schema check then says what was expected)."""
    kind = schema.get("type")
    if kind == "integer" and _WHOLE_NUMBER.fullmatch(raw):
        return int(raw)
    if kind == "boolean" and raw.lower() in _BOOLEANS:
        return _BOOLEANS[raw.lower()]
    return raw


def _check_params(params: dict[str, Param], source: Any, check: Callable) -> dict[str, Any]:
    values: dict[str, Any] = {}
    faults: list[dict[str, str]] = []
    for name, param in params.items():
        raw = source.getlist(name) if hasattr(source, "getlist") else [source.get(name)]
        raw = [value for value in raw if value not in (None, "")]  # empty means not given
        if len(raw) > 1:
            faults.append({"field": name, "message": "must be given once"})
        elif raw:
            values[name] = _convert(raw[0], param.schema)
    for e in check(values):
        fault = _fault(e)
        bounds = params[fault["field"]].schema if fault["field"] in params else {}
        if bounds.get("type") == "integer" and {"minimum", "maximum"} <= set(bounds):
            # One message for every way a bounded whole number can be wrong.
            fault["message"] = f"must be a whole number from {bounds['minimum']} to {bounds['maximum']}"
        faults.append(fault)
    if faults:
        first = faults[0]
        abort(_refusal(400, f'"{first["field"]}" {first["message"]}', faults))
    for name, param in params.items():
        if name not in values and "default" in param.schema:
            values[name] = param.schema["default"]
    return values


def read_json_object(max_depth: int = MAX_JSON_DEPTH) -> dict[str, Any]:
    """The request body as a JSON object, decimals exact; 415, 413 or 400 with a clear message otherwise
    (malformed, nested deeper than ``max_depth``, an absurd number, NUL in a text)."""
    mimetype = request.mimetype or ""
    if not (mimetype == JSON or mimetype.endswith("+json")):
        abort(415, "send the request body as JSON with Content-Type: application/json")
    raw = request.get_data(cache=True)  # raises 413 beyond MAX_CONTENT_LENGTH
    if not raw.strip():
        abort(400, "the request body is empty; send a JSON object")
    try:
        parsed = load_json(raw, max_depth=max_depth)
    except JSONInputError as exc:
        if exc.pointer is not None:
            abort(
                _refusal(
                    400, f"{exc.message} (at {exc.pointer})", [{"field": exc.pointer, "message": exc.message}]
                )
            )
        abort(400, f"the request body is refused: {exc}")
    if not isinstance(parsed, dict):
        abort(400, "the request body must be a JSON object")
    return parsed


def _check_body(check: Callable, max_depth: int) -> dict[str, Any]:
    parsed = read_json_object(max_depth)
    try:
        errors = check(parsed)
    except RecursionError:
        abort(400, "the request body is nested too deeply")
    faults = [_fault(e) for e in errors]
    if faults:
        abort(_refusal(422, f"{faults[0]['field'] or 'body'}: {faults[0]['message']}", faults))
    return parsed


def _check_multipart(schema: dict[str, Any], check: Callable) -> None:
    if request.mimetype != MULTIPART:
        parts = ", ".join(f'"{name}"' for name in schema.get("properties", {}))
        abort(415, f"send the request as multipart/form-data with the parts {parts}")
    properties = schema.get("properties", {})
    files = {name for name in request.files if request.files[name].filename}

    def given(name: str) -> bool:
        if "contentMediaType" in properties.get(name, {}):
            return name in files
        return bool((request.form.get(name) or "").strip())

    missing = [name for name in schema.get("required", []) if not given(name)]
    if missing:
        faults = [{"field": name, "message": "is required"} for name in missing]
        abort(_refusal(400, f"missing multipart part(s): {', '.join(missing)}", faults))
    texts = {
        name: request.form[name]
        for name, part in properties.items()
        if part.get("type") == "string" and "contentMediaType" not in part and request.form.get(name)
    }
    faults = [_fault(e) for e in check(texts) if e.validator != "required"]
    if faults:
        abort(_refusal(422, f"{faults[0]['field']}: {faults[0]['message']}", faults))


def _refusal(status: int, message: str, faults: list[dict[str, str]]):
    response, code = error_response(status, message, field=faults[0]["field"], errors=faults[:MAX_ERRORS])
    response.status_code = code
    return response


def _path(parts: Any) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


_TYPE_WORDS = {
    "object": "a JSON object",
    "array": "a list",
    "string": "text",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "null": "null",
}


def _fault(e: ValidationError) -> dict[str, str]:
    """One schema error as ``{"field", "message"}`` in plain words (the value itself is not echoed)."""
    where = _path(e.absolute_path)
    schema = e.schema if isinstance(e.schema, dict) else {}
    value: Any = e.validator_value
    if e.validator == "required":
        name = str(e.message).split("'")[1] if "'" in e.message else ""
        return {"field": _path([*e.absolute_path, name]), "message": "is required"}
    if e.validator == "additionalProperties":
        unknown = (
            sorted(set(e.instance) - set(schema.get("properties", {})))
            if isinstance(e.instance, dict)
            else []
        )
        return {"field": _path([*e.absolute_path, *unknown[:1]]), "message": "is not a known field"}
    if e.validator == "type":
        kinds = value if isinstance(value, list) else [value]
        message = "must be " + " or ".join(_TYPE_WORDS.get(str(k), str(k)) for k in kinds if k != "null")
    elif e.validator == "enum":
        message = "must be one of: " + ", ".join(str(v) for v in value)
    elif e.validator == "const":
        message = f"must be {json.dumps(value)}"
    elif e.validator == "minLength":
        message = "must not be empty" if value == 1 else f"must be at least {value} characters"
    elif e.validator == "maxLength":
        message = f"must be at most {value} characters"
    elif e.validator == "minimum":
        message = f"must be at least {value}"
    elif e.validator == "maximum":
        message = f"must be at most {value}"
    elif e.validator == "maxItems":
        message = f"must have at most {value} items"
    elif e.validator == "minItems":
        message = f"must have at least {value} item(s)"
    elif e.validator == "uniqueItems":
        message = "must not repeat an item"
    elif schema.get("description"):
        message = f"does not fit: {schema['description']}"
    else:
        message = str(e.message)[:200]
    return {"field": where, "message": message}
