"""Checking a permission definition before it is published: what the schema cannot see.

``lint(content, ...)`` returns every ``Problem`` (pointer, and line when ``lines`` is given),
like the checks of forms and routes:

- the shape (JSON Schema) and the filters (parsed and type-checked against the form);
- unknown roles, departments, fields (against the compiled form) and route steps;
- rights that cannot hold: a mask on line items or attachments, write on a computed field,
  field names in a definition for every form;
- a required field that nobody who fills the form in may write (the owner of a draft, with
  each role that may create);
- a route step whose approvers would see none of the record's fields.
"""

from __future__ import annotations

import difflib
from typing import Any, Collection, Iterable, Mapping

from ..definitions.problems import DefinitionError, Problem
from .field_rights import Standing, field_right
from .model import (
    APPROVER,
    BUILTIN_ROLES,
    OWNER,
    UNMASKABLE_TYPES,
    Policy,
    PolicySet,
    Right,
    compile_policy,
)
from .scopes import Basis
from .subject import Holding


def _hint(name: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    return f' (did you mean "{close[0]}"?)' if close else ""


def lint(
    content: Any,
    *,
    form: Any = None,
    route: Any = None,
    roles: Collection[str] | None = None,
    departments: Collection[str] | None = None,
    companions: Iterable[Policy] = (),
    functions: Mapping[str, Any] | None = None,
    lines: Mapping[str, int] | None = None,
    source: str | None = None,
) -> list[Problem]:
    """Every problem in a permission definition.

    ``form``: the compiled form it is for (``forms.model.FormModel``; None for ``form: "*"``
    or when that form does not exist — then that is the problem). ``route``: the form's
    compiled route (anything with ``steps``: key → step with ``approvers``), None if it has
    none. ``roles`` and ``departments``: the keys and codes that exist (None: not checked,
    a warning says so). ``companions``: the other current permission policies, which
    combine with this one (a ``form: "*"`` policy's create grants count for every form).
    """
    problems: list[Problem] = []
    form_key = content.get("form") if isinstance(content, dict) else None
    if isinstance(content, dict) and form_key not in (None, "*") and form is None:
        problems.append(Problem(f"unknown form {form_key!r}: publish the form first", "/form"))
        return _locate(problems, lines, source)
    try:
        policy = compile_policy(content, form=form, functions=functions, lines=lines, source=source)
    except DefinitionError as exc:
        return _locate(exc.problems, lines, source)
    problems += _references(policy, content, form, route, roles, departments)
    if not problems:
        policies = PolicySet.of(policy.form if not policy.for_every_form else "*", [*companions, policy])
        if form is not None:
            problems += _unwritable_required(policy, policies, form)
            if route is not None:
                problems += _blind_steps(policy, policies, form, route)
    return _locate(problems, lines, source)


def _locate(problems: list[Problem], lines: Mapping[str, int] | None, source: str | None) -> list[Problem]:
    located = []
    for problem in problems:
        line = problem.line
        if line is None and lines:
            probe = problem.pointer
            while probe and probe not in lines:
                probe = probe.rsplit("/", 1)[0]
            line = lines.get(probe) if probe else None
        located.append(problem.located(problem.source or source, line))
    return sorted(located, key=lambda p: (p.line or 0, p.pointer))


def _references(
    policy: Policy,
    content: dict,
    form: Any,
    route: Any,
    roles: Collection[str] | None,
    departments: Collection[str] | None,
) -> list[Problem]:
    problems: list[Problem] = []
    known_roles = None if roles is None else set(roles) | BUILTIN_ROLES

    def role(name: str, pointer: str) -> None:
        if known_roles is not None and name not in known_roles:
            problems.append(Problem(f'unknown role "{name}"{_hint(name, known_roles)}', pointer))

    def department(code: str, pointer: str) -> None:
        if departments is not None and code not in departments:
            problems.append(Problem(f'unknown department "{code}"{_hint(code, departments)}', pointer))

    if roles is None or departments is None:
        problems.append(
            Problem("roles and departments could not be checked: no organisation was given", "", warning=True)
        )
    for index, spec in enumerate(content.get("grants") or ()):
        here = f"/grants/{index}"
        role(spec["role"], f"{here}/role")
        if "department" in spec:
            department(spec["department"], f"{here}/department")
        scope = spec.get("scope")
        if isinstance(scope, dict):
            for j, code in enumerate(scope["departments"]):
                department(code, f"{here}/scope/departments/{j}")
        for j, code in enumerate(spec.get("except_departments") or ()):
            department(code, f"{here}/except_departments/{j}")
    steps = dict(getattr(route, "steps", None) or {})
    for index, spec in enumerate(content.get("field_rules") or ()):
        here = f"/field_rules/{index}"
        for j, name in enumerate(spec["roles"]):
            role(name, f"{here}/roles/{j}")
        for j, path in enumerate(spec["fields"]):
            if path == "*":
                continue
            if form is None:
                problems.append(
                    Problem(
                        "a definition for every form names only * in fields; name fields in the form's own",
                        f"{here}/fields/{j}",
                    )
                )
                continue
            field_model = form.field(path)
            if field_model is None:
                known = [f.path for f in form.all_fields()]
                problems.append(
                    Problem(
                        f'unknown field "{path}" in form {form.key}{_hint(path, known)}', f"{here}/fields/{j}"
                    )
                )
                continue
            type_name = field_model.type.name
            if spec["right"] == "masked" and type_name in UNMASKABLE_TYPES:
                problems.append(
                    Problem(
                        f"a {type_name} field cannot be masked; hide it or let it be read", f"{here}/right"
                    )
                )
            if spec["right"] == "write" and field_model.is_computed:
                problems.append(
                    Problem(f"{path} is computed and can never be written; give read", f"{here}/right")
                )
        for j, step in enumerate(spec.get("steps") or ()):
            if form is not None and route is None:
                problems.append(
                    Problem(f"form {form.key} has no route, so it has no step {step!r}", f"{here}/steps/{j}")
                )
            elif route is not None and step not in steps:
                problems.append(
                    Problem(
                        f'unknown step "{step}" in the route of {policy.form}{_hint(step, steps)}',
                        f"{here}/steps/{j}",
                    )
                )
    return problems


def _unwritable_required(policy: Policy, policies: PolicySet, form: Any) -> list[Problem]:
    """A required field the person filling the form in (owner of a draft) may not write."""
    creators = [g for g in policies.grants if "create" in g.operations]
    if not creators:
        return [
            Problem(f"nobody may create {form.key} records: no grant has create", "/grants", warning=True)
        ]
    problems = []
    for field_model in form.all_fields():
        if field_model.is_computed or not (field_model.required or field_model.required_when is not None):
            continue
        best: Any = None
        for grant in creators:
            place = Standing(status="draft", bases=(Basis(grant, Holding(grant.role)),), owner=True)
            right = field_right(policies, place, field_model)
            if best is None or right.right > best.right:
                best = right
        if best is not None and best.right < Right.WRITE:
            rule = best.decided_by.rule if best.decided_by is not None else None
            pointer = rule.origin.pointer if rule is not None and rule.origin.key == policy.key else ""
            problems.append(
                Problem(
                    f"{field_model.path} is required, but nobody who fills the form in may write it "
                    f"(in a draft they get {best.right.word})",
                    pointer,
                )
            )
    return problems


def _blind_steps(policy: Policy, policies: PolicySet, form: Any, route: Any) -> list[Problem]:
    """A step whose approvers would see none of the record's fields."""
    problems = []
    for key in route.steps:
        place = Standing(status="in_review", approver_steps=frozenset({key}), current_steps=frozenset({key}))
        rights = [field_right(policies, place, f) for f in form.fields]
        if rights and all(r.right == Right.HIDDEN for r in rights):
            rule = next(
                (
                    r.decided_by.rule
                    for r in rights
                    if r.decided_by is not None
                    and r.decided_by.rule is not None
                    and r.decided_by.rule.origin.key == policy.key
                ),
                None,
            )
            problems.append(
                Problem(
                    f"the approvers of step {key} would see none of the record's fields "
                    f"(as {APPROVER}, not {OWNER}); they must see what they decide",
                    rule.origin.pointer if rule is not None else "",
                )
            )
    return problems
