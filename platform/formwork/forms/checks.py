"""The semantic check of a form definition, as the definition pipeline runs it before publishing."""

from __future__ import annotations

import logging
from typing import Any, Callable

from ..definitions.problems import DefinitionError, Problem
from ..plugins import current_registry
from .model import FormModel, compile_form

log = logging.getLogger(__name__)

#: A check a kind above forms runs on each new form version (routes: the route attached must still work).
FormCheck = Callable[[FormModel, Any], list[Problem]]
_FOLLOWING: list[FormCheck] = []


def add_form_check(check: FormCheck) -> None:
    """Run ``check(form, registry)`` on every form that compiles without problems."""
    if check not in _FOLLOWING:
        _FOLLOWING.append(check)


def misplaced_properties(fields: list[dict], pointer: str, registry: Any) -> list[Problem]:
    """A property of one type written on another (``currency`` on a text field) is a mistake.

    Each field type names its own properties (``FieldType.properties``); a plugin's type that
    names none is not policed: it reads what it needs, and the schema has already refused
    unknown property names.
    """
    types = getattr(registry, "field_types", None) or {}
    owned = {name: t.properties for name, t in types.items() if getattr(t, "properties", None) is not None}
    specific = frozenset().union(*owned.values())
    problems = []
    for index, spec in enumerate(fields):
        here = f"{pointer}/{index}"
        allowed = owned.get(spec.get("type", ""))
        if allowed is not None:
            for name in spec:
                if name in specific and name not in allowed:
                    problems.append(
                        Problem(f'"{name}" does not apply to a {spec["type"]} field', f"{here}/{name}")
                    )
        if spec.get("type") == "lines" and isinstance(spec.get("fields"), list):
            problems.extend(misplaced_properties(spec["fields"], f"{here}/fields", registry))
    return problems


def form_problems(content: dict, registry: Any) -> tuple[FormModel | None, list[Problem]]:
    """The compiled form (None when it does not compile) and the problems of the form by itself."""
    problems = misplaced_properties(content["fields"], "/fields", registry)
    try:
        return compile_form(content, registry), problems
    except DefinitionError as exc:
        return None, problems + list(exc.problems)


def check_form(content: dict, registry: Any) -> list[Problem]:
    """Every problem of a form definition, those it would cause to the kinds that use it included."""
    if registry is None:
        registry = current_registry()
    problems: list[Problem] = []
    try:
        form, problems = form_problems(content, registry)
        if form is not None and not problems:
            for check in _FOLLOWING:
                problems.extend(check(form, registry))
    except DefinitionError as exc:
        return problems + list(exc.problems)
    except Exception:  # a bug in a checker must not let a definition through, nor crash the caller
        log.exception("unexpected error while checking form %r", content.get("key"))
        return [Problem("the form could not be checked because of an internal error; see the server log", "")]
    return problems
