"""Compiling a route's actions on completion (``on_approved`` / ``on_rejected``) into ``RouteAction``.

Everything that can be known at publish time is checked here, each problem with its pointer: exactly
one of grant_role / revoke_role; a literal role or department that exists; a field reference that
names a top-level field of the right type (a role: choice or text, every choice an existing role;
whose: a user field; until: a date field; department: a department field; reason: a text field).
The workflow runs the compiled actions (workflow.route_actions).
"""

from __future__ import annotations

from typing import Any, Callable

from ..definitions.loader import escape_pointer_token
from .model import ActionKind, RouteAction

KINDS: tuple[ActionKind, ...] = ("grant_role", "revoke_role")
ROLE_FIELD_TYPES = ("choice", "text")
REASON_FIELD_TYPES = ("text", "long_text")


class _Checker:
    def __init__(self, problem: Callable[[str, str], None], form: Any, org: Any):
        self.problem = problem
        self.form = form
        self.org = org

    def field(self, key: str, types: tuple[str, ...], what: str, pointer: str) -> str | None:
        """``key`` when it names a top-level field of one of ``types``; else a problem and None."""
        if self.form is None:
            return key  # the form itself is at fault (reported elsewhere)
        model = self.form.field(key)
        if model is None or model.parent is not None:
            known = ", ".join(f.key for f in self.form.fields if f.type.name in types) or "none"
            self.problem(f'unknown field "{key}" for {what} (fields of that type: {known})', pointer)
            return None
        if model.type.name not in types:
            self.problem(
                f'field "{key}" is a {model.type.name} field; {what} needs a {" or ".join(types)} field',
                pointer,
            )
            return None
        return key

    def role(self, value: Any, pointer: str) -> tuple[str | None, str | None]:
        if isinstance(value, dict):
            here = f"{pointer}/field"
            key = self.field(value["field"], ROLE_FIELD_TYPES, "a role", here)
            if key is not None and self.form is not None and self.org is not None:
                model = self.form.field(key)
                if model.type.name == "choice":
                    for option in model.settings.get("options") or ():
                        if not self.org.role_exists(option):
                            self.problem(
                                f'field "{key}" offers "{option}", which is not a role; every option of a '
                                "field naming the role must be a role key",
                                here,
                            )
            return None, key
        if self.org is not None and not self.org.role_exists(value):
            self.problem(f'unknown role "{value}"', pointer)
        return value, None

    def action(self, spec: dict, pointer: str) -> RouteAction | None:
        kinds = [k for k in KINDS if k in spec]
        if len(kinds) != 1:
            named = ", ".join(kinds) if kinds else "none"
            self.problem(f"an action names exactly one of {', '.join(KINDS)} (here: {named})", pointer)
            return None
        kind = kinds[0]
        role, role_field = self.role(spec[kind], f"{pointer}/{kind}")
        to = spec.get("to", "submitter")
        to_field = (
            self.field(to["field"], ("user",), "whose role", f"{pointer}/to/field")
            if isinstance(to, dict)
            else None
        )
        until_field = None
        if "until" in spec:
            if kind != "grant_role":
                self.problem("until applies only to grant_role", f"{pointer}/until")
            else:
                until_field = self.field(spec["until"], ("date",), "until", f"{pointer}/until")
        department = department_field = None
        value = spec.get("department")
        if isinstance(value, dict):
            department_field = self.field(
                value["field"], ("department",), "a department", f"{pointer}/department/field"
            )
        elif value is not None:
            if self.org is not None and not self.org.department_exists(value):
                self.problem(f'unknown department "{value}"', f"{pointer}/department")
            department = value
        reason_field = None
        if "reason" in spec:
            if kind != "grant_role":
                self.problem("reason applies only to grant_role", f"{pointer}/reason")
            else:
                reason_field = self.field(spec["reason"], REASON_FIELD_TYPES, "a reason", f"{pointer}/reason")
        return RouteAction(
            kind=kind,
            role=role,
            role_field=role_field,
            to_field=to_field,
            until_field=until_field,
            department=department,
            department_field=department_field,
            reason_field=reason_field,
            pointer=pointer,
        )


def compile_actions(
    content: dict, problem: Callable[[str, str], None], form: Any, org: Any
) -> dict[str, tuple[RouteAction, ...]]:
    """``{"on_approved": (...), "on_rejected": (...)}`` from the route content; problems go to ``problem``."""
    checker = _Checker(problem, form, org)
    result: dict[str, tuple[RouteAction, ...]] = {}
    for name in ("on_approved", "on_rejected"):
        actions = []
        for index, spec in enumerate(content.get(name) or ()):
            action = checker.action(spec, f"/{escape_pointer_token(name)}/{index}")
            if action is not None:
                actions.append(action)
        result[name] = tuple(actions)
    return result
