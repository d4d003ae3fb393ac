"""The live state of a form for some data: computed values and per-field visible/required/read-only.

One function, ``evaluate_state``, serves the renderer, the htmx round trip and
the validator, so the browser and the server can never disagree. Everything it
runs was compiled once per definition version (``forms.model``); here we only
evaluate.

Hidden fields are not required and their values are dropped. Dropping a value
can change other conditions (and computed values), so evaluation repeats until
nothing more is dropped — at most once per conditional field, and in the common
case (no hidden field holds a value) exactly once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from dataclasses import field as dc_field
from datetime import date, datetime, timezone
from typing import Any, Mapping

from ..expressions import ExpressionError
from ..input_limits import whole_number
from .model import FieldModel, FormModel

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FieldState:
    visible: bool
    required: bool
    readonly: bool


@dataclass
class FormState:
    """Computed values and conditions for one set of form data.

    ``values`` are runtime values (``Decimal``, ``date``...) with computed values filled in
    and hidden fields' values removed (set to ``None``). ``visible`` / ``required`` /
    ``readonly`` hold the outcome for every *conditional* field path (``lines[1].amount``);
    ask ``field_state(path)`` for any path, conditional or not. ``computed`` maps each
    computed path to its value; ``errors`` maps a path to a message when a computed value
    could not be evaluated (division by zero...).
    """

    form: FormModel
    values: dict[str, Any]
    visible: dict[str, bool] = dc_field(default_factory=dict)
    required: dict[str, bool] = dc_field(default_factory=dict)
    readonly: dict[str, bool] = dc_field(default_factory=dict)
    computed: dict[str, Any] = dc_field(default_factory=dict)
    errors: dict[str, str] = dc_field(default_factory=dict)

    def is_visible(self, path: str) -> bool:
        visible = self.visible.get(path)
        if visible is not None:
            return visible
        parent = _parent_path(path)
        return self.is_visible(parent) if parent else True

    def is_required(self, path: str) -> bool:
        if not self.is_visible(path):
            return False
        required = self.required.get(path)
        if required is not None:
            return required
        field = self.form.field(path)
        return bool(field and field.required)

    def is_readonly(self, path: str) -> bool:
        readonly = self.readonly.get(path)
        if readonly is not None:
            return readonly
        field = self.form.field(path)
        return bool(field and field.readonly)

    def value(self, path: str) -> Any:
        """The value at ``path`` (``total``, ``lines[1].amount``) after computing; None when absent."""
        bracket = path.find("[")
        if bracket < 0:
            return self.values.get(path)
        rows = self.values.get(path[:bracket]) or ()
        close = path.find("]", bracket)
        index_text = path[bracket + 1 : close]
        index = whole_number(index_text, 0, len(rows) - 1)
        if index is None:
            return None
        row = rows[index]
        return row.get(path[close + 2 :]) if close + 1 < len(path) else row

    def field_state(self, path: str) -> FieldState:
        return FieldState(self.is_visible(path), self.is_required(path), self.is_readonly(path))


def _parent_path(path: str) -> str | None:
    """``lines[1].amount`` → ``lines``; a top-level path has no parent."""
    bracket = path.find("[")
    return path[:bracket] if bracket > 0 else None


class UserContext(Mapping[str, Any]):
    """``$user`` for expressions: id, username, department, roles — roles loaded only when read.

    Most forms never look at ``$user.roles``; loading role assignments for every
    submission would cost two queries for nothing.
    """

    __slots__ = ("_user", "_roles")
    KEYS = ("id", "username", "department", "roles")

    def __init__(self, user: Any):
        self._user = user
        self._roles: list[str] | None = None

    def __getitem__(self, key: str) -> Any:
        if key == "id":
            return self._user.id
        if key == "username":
            return self._user.username
        if key == "department":
            return self._user.department_id
        if key == "roles":
            if self._roles is None:
                self._roles = sorted(self._user.role_keys())
            return self._roles
        raise KeyError(key)

    def __iter__(self):
        return iter(self.KEYS)

    def __len__(self) -> int:
        return len(self.KEYS)


def context_for(user: Any, *, today: date | None = None) -> dict[str, Any]:
    """The ``$`` names for expressions: ``$user`` (id, username, department, roles), ``$today``, ``$now``."""
    now = datetime.now(timezone.utc)
    user_value = None
    if user is not None and getattr(user, "id", None) is not None:
        user_value = UserContext(user)
    # The server's calendar day, as the expression language's own default for $today.
    return {"user": user_value, "today": today or date.today(), "now": now}


def _evaluate(expression: Any, values: Mapping[str, Any], row: Mapping[str, Any] | None, context: Any) -> Any:
    return expression.evaluate(values, row, context)


def _condition(expression: Any, values: Mapping[str, Any], row: Any, context: Any) -> bool:
    """A condition is true only when it evaluates to true; null and runtime errors count as false."""
    try:
        return expression.evaluate(values, row, context) is True
    except ExpressionError as exc:
        log.debug("condition %r failed: %s", expression.source, exc)
        return False


def blank_values(form: FormModel, data: Mapping[str, Any]) -> dict[str, Any]:
    """Every field present (missing ones ``None``); rows copied so evaluation never mutates input."""
    values: dict[str, Any] = {}
    for field in form.fields:
        value = data.get(field.key)
        if field.is_lines and value:
            keys = [sub.key for sub in field.fields]
            value = [{key: row.get(key) for key in keys} for row in value]
        values[field.key] = value
    return values


def _compute(
    form: FormModel, values: dict[str, Any], state: FormState, context: Any, hidden: set[str]
) -> None:
    computed = state.computed
    errors = state.errors
    for field in form.computed_order:
        normalise = field.type.normalise  # type: ignore[attr-defined]
        if field.parent is None:
            if field.key in hidden:
                values[field.key] = None
                continue
            try:
                value = normalise(_evaluate(field.expression, values, None, context), field)
            except ExpressionError as exc:
                value = None
                errors[field.path] = exc.message
            values[field.key] = value
            computed[field.path] = value
        else:
            rows = values.get(field.parent.key) or ()
            for index, row in enumerate(rows):
                path = f"{field.parent.key}[{index}].{field.key}"
                if path in hidden:
                    row[field.key] = None
                    continue
                try:
                    value = normalise(_evaluate(field.expression, values, row, context), field)
                except ExpressionError as exc:
                    value = None
                    errors[path] = exc.message
                row[field.key] = value
                computed[path] = value


def _apply_conditions(
    form: FormModel,
    values: dict[str, Any],
    state: FormState,
    context: Any,
    field: FieldModel,
    row: Any,
    path: str,
) -> bool:
    """Evaluate one field's conditions at ``path``; return whether it is visible."""
    visible = True
    if field.visible_when is not None:
        visible = _condition(field.visible_when, values, row, context)
        state.visible[path] = visible
    if not visible:
        return False
    if field.required_when is not None:
        state.required[path] = field.required or _condition(field.required_when, values, row, context)
    if field.readonly_when is not None:
        state.readonly[path] = field.readonly or _condition(field.readonly_when, values, row, context)
    return True


def evaluate_state(form: FormModel, data: Mapping[str, Any], *, context: Any) -> FormState:
    """Computed values and visible/required/read-only for ``data`` (runtime values, not JSON)."""
    values = blank_values(form, data)
    hidden: set[str] = set()
    state = FormState(form, values)
    for _ in range(len(form.conditional) + 2):
        state.visible.clear()
        state.required.clear()
        state.readonly.clear()
        state.computed.clear()
        state.errors.clear()
        _compute(form, values, state, context, hidden)
        now_hidden: set[str] = set()
        for field in form.conditional:
            if field.parent is None:
                if not _apply_conditions(form, values, state, context, field, None, field.key):
                    now_hidden.add(field.key)
            else:
                parent_key = field.parent.key
                if parent_key in now_hidden:
                    continue
                for index, row in enumerate(values.get(parent_key) or ()):
                    path = f"{parent_key}[{index}].{field.key}"
                    if not _apply_conditions(form, values, state, context, field, row, path):
                        now_hidden.add(path)
        dropped = _drop_hidden(form, values, now_hidden)
        hidden = now_hidden
        if not dropped:
            break
    return state


def _drop_hidden(form: FormModel, values: dict[str, Any], hidden: set[str]) -> bool:
    """Set hidden fields' values to None; True when a value was actually removed."""
    dropped = False
    for path in hidden:
        bracket = path.find("[")
        if bracket < 0:
            if values.get(path) not in (None, []):
                dropped = True
            values[path] = None
        else:
            parent = path[:bracket]
            index = int(path[bracket + 1 : path.index("]")])
            key = path[path.index("]") + 2 :]
            rows = values.get(parent) or ()
            if index < len(rows) and rows[index].get(key) is not None:
                rows[index][key] = None
                dropped = True
    return dropped
