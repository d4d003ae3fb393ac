"""Checking definitions: the JSON Schema first, then the semantic checks of each kind.

A definition that fails any check never becomes active. Every problem names the
JSON pointer it is about; when the definition came from a file, the source name
and line are attached from the loader's pointer→line map.
"""

from __future__ import annotations

import difflib
import json
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError

from .loader import SOURCE_SUFFIXES, SourceDocument, escape_pointer_token, read_source
from .print_sources import embed_print_template
from .problems import DefinitionError, Problem

# In publishing order: a route is checked against, and stored after, the form it is for; a
# permission definition after both (its lint reads the form's fields and the route's steps); a
# KPI after them (it reads forms' fields and other KPIs), and a dashboard last (it shows KPIs).
KINDS = ("form", "route", "permission", "kpi", "dashboard")
# Folder under a definitions directory → the kind its files hold.
KIND_FOLDERS = {
    "forms": "form",
    "routes": "route",
    "permissions": "permission",
    "kpis": "kpi",
    "dashboards": "dashboard",
}
MAX_SCHEMA_PROBLEMS = 100  # beyond this, more messages only bury the first mistake
SemanticCheck = Callable[[dict, Any], list[Problem]]


# --- the schemas -------------------------------------------------------------------------------


@cache
def schema_for(kind: str) -> dict:
    """The JSON Schema of a definition kind, as shipped in the package."""
    if kind not in KINDS:
        raise KeyError(kind)
    text = resources.files(__package__).joinpath("schema", f"{kind}.schema.json").read_text("utf-8")
    return json.loads(text)


@cache
def _validator(kind: str) -> Draft202012Validator:
    schema = schema_for(kind)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=FormatChecker(formats=("regex",)))


# --- definitions checked together ---------------------------------------------------------------

# While a set of files is checked or published as one unit, a definition may refer to another
# of the set that is not stored yet (a route to its new form): the set is visible here.
_PENDING: ContextVar[dict[tuple[str, str], dict] | None] = ContextVar(
    "formwork_pending_definitions", default=None
)


@contextmanager
def batch(contents: Iterable[Any]) -> Iterator[None]:
    """Check (and publish) ``contents`` as one set: each sees the others through ``pending``."""
    found: dict[tuple[str, str], dict] = {}
    for content in contents:
        if (
            isinstance(content, dict)
            and isinstance(content.get("kind"), str)
            and isinstance(content.get("key"), str)
        ):
            found.setdefault((content["kind"], content["key"]), content)
    token = _PENDING.set(found)
    try:
        yield
    finally:
        _PENDING.reset(token)


def pending(kind: str, key: str) -> dict | None:
    """The content of ``kind``/``key`` in the set being checked, if it is part of it."""
    found = _PENDING.get()
    return found.get((kind, key)) if found else None


def pending_of_kind(kind: str) -> list[dict]:
    found = _PENDING.get()
    return [content for (k, _), content in (found or {}).items() if k == kind]


def identity_of(content: Any) -> tuple[str, str] | None:
    """``(kind, key)`` of a definition, or None when it does not name both as text."""
    if (
        isinstance(content, dict)
        and isinstance(content.get("kind"), str)
        and isinstance(content.get("key"), str)
    ):
        return (content["kind"], content["key"])
    return None


def publishing_order(content: Any) -> int:
    """Sort key: forms before the routes that use them."""
    kind = content.get("kind") if isinstance(content, dict) else None
    return KINDS.index(kind) if kind in KINDS else len(KINDS)


# --- checking ----------------------------------------------------------------------------------


def check(
    content: Any,
    registry: Any = None,
    document: SourceDocument | None = None,
    checks: Mapping[str, SemanticCheck] | None = None,
    *,
    semantic: bool = True,
) -> list[Problem]:
    """Every problem in one definition (empty when it may be published).

    ``registry`` is the plugin registry (field types and functions); ``None``
    means the current application's (the kind's check looks it up). ``document`` supplies file and lines.
    ``checks`` replaces the semantic check of each kind (``offline`` checks
    against files instead of the database). ``semantic=False`` checks the schema
    only (a definition equal to its published version, see ``store.settled``).
    """
    # The named print template is read and stored with the form first (``print_sources``).
    problems = embed_print_template(content, document.path if document is not None else None)
    problems += _check(content, registry, checks, semantic)
    if document is not None:
        problems = document.locate(problems)
    return sorted(problems, key=lambda p: (p.line or 0, p.pointer))


def _check(
    content: Any, registry: Any, checks: Mapping[str, SemanticCheck] | None = None, semantic: bool = True
) -> list[Problem]:
    if not isinstance(content, dict):
        return [Problem(f"a definition must be a mapping with kind, key, ...; got {_describe(content)}", "")]
    kind = content.get("kind")
    if kind not in KINDS:
        if kind is None:
            message = f"kind is missing; it says what this definition is (one of: {', '.join(KINDS)})"
            return [Problem(message, "")]
        return [Problem(f"unknown kind {kind!r}; known kinds: {', '.join(KINDS)}", "/kind")]
    problems = schema_problems(content, kind)
    if problems or not semantic:
        # Semantic checks assume the shape the schema guarantees.
        return problems
    return _semantic_check(kind, checks)(content, registry)


def schema_problems(content: Any, kind: str) -> list[Problem]:
    """JSON Schema violations as readable problems, one per mistake."""
    errors = sorted(_validator(kind).iter_errors(content), key=lambda e: list(map(str, e.absolute_path)))
    return schema_problems_of(errors)


def schema_problems_of(errors: Iterable[ValidationError]) -> list[Problem]:
    """jsonschema errors worded for people, as every kind words them (capped at MAX_SCHEMA_PROBLEMS)."""
    problems: list[Problem] = []
    for error in errors:
        problems.extend(_explain(error))
        if len(problems) >= MAX_SCHEMA_PROBLEMS:
            problems.append(Problem(f"stopped after {MAX_SCHEMA_PROBLEMS} problems", ""))
            break
    return problems


def _pointer(path: Iterable[Any]) -> str:
    return "".join(f"/{escape_pointer_token(token)}" for token in path)


_TYPE_WORDS = {
    "object": "a mapping",
    "array": "a list",
    "string": "text",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "null": "null",
}


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return f"the text {value!r}" if len(value) <= 40 else "a long text"
    if isinstance(value, int):
        return f"the number {value}"
    if value is None:
        return "nothing (null)"
    return type(value).__name__


def _explain(error: ValidationError) -> list[Problem]:
    """Turn one jsonschema error into problems a person can act on."""
    pointer = _pointer(error.absolute_path)
    schema = error.schema if isinstance(error.schema, dict) else {}
    # Unset only on errors built by hand; every error from validation carries all three.
    value: Any = error.instance
    validator: Any = error.validator
    rule: Any = error.validator_value
    custom = schema.get("x-message")

    if validator == "additionalProperties":
        allowed = sorted(schema.get("properties", {}))
        extras = [key for key in value if key not in schema.get("properties", {})]
        result = []
        for key in extras:
            message = f'unknown property "{key}"'
            close = difflib.get_close_matches(key, allowed, n=1)
            if close:
                message += f' (did you mean "{close[0]}"?)'
            else:
                message += f"; allowed here: {', '.join(allowed)}"
            result.append(Problem(message, f"{pointer}/{escape_pointer_token(key)}"))
        return result
    if validator == "required":
        missing = [key for key in rule if key not in value]
        return [Problem(f'required property "{key}" is missing', pointer) for key in missing]
    if custom and validator in {"pattern", "anyOf", "oneOf", "maxLength"}:
        return [Problem(f"{_describe(value)} {custom}", pointer)]
    if validator == "type":
        expected = rule
        words = " or ".join(
            _TYPE_WORDS.get(t, t) for t in ([expected] if isinstance(expected, str) else expected)
        )
        return [Problem(f"expected {words}, got {_describe(value)}", pointer)]
    if validator == "const":
        return [Problem(f"must be {json.dumps(rule)}, got {_describe(value)}", pointer)]
    if validator == "enum":
        choices = ", ".join(str(c) for c in rule)
        return [Problem(f"{_describe(value)} is not allowed here; choose one of: {choices}", pointer)]
    if validator == "minLength":
        if rule == 1:
            return [Problem("must not be empty", pointer)]
        return [Problem(f"must be at least {rule} characters long", pointer)]
    if validator == "maxLength":
        return [Problem(f"must be at most {rule} characters long", pointer)]
    if validator == "minItems":
        return [Problem(f"needs at least {rule} item(s)", pointer)]
    if validator == "maxItems":
        return [Problem(f"may have at most {rule} items", pointer)]
    if validator == "minProperties":
        return [Problem("must not be empty; give the text in zh-CN, en or both", pointer)]
    if validator == "uniqueItems":
        return [Problem("must not repeat an item", pointer)]
    if validator == "minimum":
        return [Problem(f"must be at least {rule}", pointer)]
    if validator == "maximum":
        return [Problem(f"must be at most {rule}", pointer)]
    if validator == "format" and rule == "regex":
        return [Problem("is not a valid regular expression", pointer)]
    if validator == "pattern":
        return [Problem(f"{_describe(value)} does not match the pattern {rule}", pointer)]
    if validator in {"anyOf", "oneOf"}:
        return [Problem(f"{_describe(value)} is not valid here", pointer)]
    return [Problem(error.message, pointer)]


# --- semantic checks per kind ------------------------------------------------------------------

# Each kind registers its check (``forms.checks``, ``routes.checks``; ``formwork.wiring`` does it
# when the application is built), so this layer stores and validates kinds it does not know.
SEMANTIC_CHECKS: dict[str, SemanticCheck] = {}


def register_check(kind: str, semantic_check: SemanticCheck) -> None:
    """Make ``semantic_check(content, registry)`` the check of ``kind`` (registry None: the app's)."""
    if kind not in KINDS:
        raise KeyError(f"unknown definition kind {kind!r}; known kinds: {', '.join(KINDS)}")
    SEMANTIC_CHECKS[kind] = semantic_check


def _semantic_check(kind: str, checks: Mapping[str, SemanticCheck] | None) -> SemanticCheck:
    table = checks or SEMANTIC_CHECKS
    if kind not in table:
        raise LookupError(f"no semantic check is registered for {kind} definitions (see formwork.wiring)")
    return table[kind]


# --- folders -----------------------------------------------------------------------------------


@dataclass
class CheckedSource:
    """One source file, parsed (``document`` is None when it could not be read) and checked."""

    path: Path
    document: SourceDocument | None
    problems: list[Problem]

    @property
    def content(self) -> Any:
        return self.document.content if self.document else None


def discover(path: Path) -> list[Path]:
    """Definition files at ``path``: the file itself, or every source file in a definitions folder.

    A folder holding kind folders (``forms/``) contributes only those, so the
    organisation files beside them (``org/``) are not taken for definitions.
    """
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise FileNotFoundError(str(path))
    roots = [path / folder for folder in KIND_FOLDERS if (path / folder).is_dir()] or [path]
    found: list[Path] = []
    for root in roots:
        found.extend(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in SOURCE_SUFFIXES)
    return sorted(found)


def check_files(
    paths: list[Path],
    registry: Any = None,
    display: Callable[[Path], str] = str,
    *,
    checks: Mapping[str, SemanticCheck] | None = None,
    context: Iterable[Path] = (),
    settled: Callable[[list[Any]], set[tuple[str, str]]] | None = None,
) -> list[CheckedSource]:
    """Parse and check several files as one set (a key defined twice is a problem too).

    ``context`` files belong to the set (a route in ``paths`` may use a form among them)
    but are neither checked nor reported; ``checks`` as for ``check``. ``settled`` names,
    given the set's contents (print templates embedded), the definitions that need no
    semantic check (those equal to their published version: ``store.settled``).
    """
    checked: list[CheckedSource] = []
    seen: dict[tuple[str, str], str] = {}
    documents: list[tuple[Path, str, SourceDocument | None, list[Problem]]] = []
    for path in paths:
        name = display(path)
        try:
            documents.append((path, name, read_source(path, name), []))
        except DefinitionError as exc:
            documents.append((path, name, None, exc.problems))
    contents = [document.content for _, _, document, _ in documents if document is not None]
    for path in context:
        try:
            contents.append(read_source(path, display(path)).content)
        except DefinitionError:
            pass  # its own problems are reported when it is checked itself
    skip: set[tuple[str, str]] = set()
    if settled is not None:
        for _, _, document, _ in documents:
            if document is not None:
                embed_print_template(document.content, document.path)  # its problems come with the check
        skip = settled([document.content for _, _, document, _ in documents if document is not None])
    with batch(contents):
        for path, name, document, failed in documents:
            if document is None:
                checked.append(CheckedSource(path, None, failed))
                continue
            semantic = identity_of(document.content) not in skip
            checked.append(_check_document(path, name, document, registry, seen, checks, semantic))
    return checked


def _check_document(
    path: Path,
    name: str,
    document: SourceDocument,
    registry: Any,
    seen: dict[tuple[str, str], str],
    checks: Mapping[str, SemanticCheck] | None = None,
    semantic: bool = True,
) -> CheckedSource:
    """Check one file of a set (see ``check_files``)."""
    problems = check(document.content, registry, document, checks, semantic=semantic)
    content = document.content
    if (
        isinstance(content, dict)
        and isinstance(content.get("kind"), str)
        and isinstance(content.get("key"), str)
    ):
        identity = (content["kind"], content["key"])
        if identity in seen:
            problems.append(
                Problem(
                    f"{identity[0]} {identity[1]!r} is also defined in {seen[identity]}",
                    "/key",
                    name,
                    document.line_for("/key"),
                )
            )
        else:
            seen[identity] = name
    return CheckedSource(path, document, problems)
