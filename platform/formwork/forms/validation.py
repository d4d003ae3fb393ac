"""Server-side validation of a submission: the server, not the browser, decides what is stored.

``validate(form, raw, previous=..., mode=..., context=...)`` takes the posted data
(JSON values, or strings from an HTML form), the record's previous data (stored
JSON, or None for a new record) and returns ``ValidationResult(data, errors)``:

* ``data`` — the JSON-ready values to store (decimals as strings, dates ISO),
  computed values recomputed here, hidden fields dropped;
* ``errors`` — ``[{"field": "lines[2].amount", "message": "..."}]`` in the current
  locale; a form-level rule without a ``field`` reports at ``""``.

Posted keys are merged over the previous data (a key that is not posted keeps its
value; ``null`` clears it). Refused: fields the form does not have, writes to
read-only or computed fields (posting the value they already have is harmless),
wrong types and bounds in every mode; missing required values, too few rows,
failing cross-field rules only in ``submit`` mode (a draft may be incomplete).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any, Literal, Mapping

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext as _ln

from ..expressions import ExpressionError
from ..i18n import localized
from .field_types import FieldValueError, ValueContext, _current_locale
from .model import FieldModel, FormModel
from .state import FormState, evaluate_state

log = logging.getLogger(__name__)

Mode = Literal["draft", "submit"]
MAX_KEY_IN_MESSAGE = 80
#: However many rows a definition allows, a body with more than this is not looked at row by row.
HARD_MAX_ROWS = 1000


@dataclass
class ValidationResult:
    data: dict[str, Any]
    errors: list[dict[str, str]]
    state: FormState | None = None
    # The field paths the posted data changes (``reason``, ``lines[1].amount``; ``lines`` when rows are
    # added, removed or reordered), computed fields aside; a field not posted is not a change.
    changed: list[str] = dc_field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


class _Errors:
    """Collects errors, one per path (the first is the most specific)."""

    def __init__(self) -> None:
        self.items: list[dict[str, str]] = []
        self.paths: set[str] = set()

    def add(self, path: str, message: Any) -> None:
        if path in self.paths and path:
            return
        self.paths.add(path)
        self.items.append({"field": path, "message": str(message)})

    def __contains__(self, path: str) -> bool:
        return path in self.paths


def _same(field: FieldModel, a: Any, b: Any) -> bool:
    """Equal as stored (``1.50`` equals ``1.5``; an empty list equals nothing)."""
    if field.type.is_empty(a) and field.type.is_empty(b):
        return True
    if a is None or b is None:
        return False
    return field.to_json(a) == field.to_json(b)


def _short(key: Any) -> str:
    text = str(key)
    return text if len(text) <= MAX_KEY_IN_MESSAGE else text[:MAX_KEY_IN_MESSAGE] + "…"


def runtime_values(form: FormModel, stored: Mapping[str, Any] | None) -> dict[str, Any]:
    """Stored JSON data → runtime values (``Decimal``, ``date``...); unknown keys are ignored."""
    values: dict[str, Any] = {}
    if not stored:
        return values
    for field in form.fields:
        raw = stored.get(field.key)
        if raw is None or field.is_computed:
            continue
        if field.is_lines:
            rows = []
            for row in raw if isinstance(raw, list) else ():
                rows.append(
                    {
                        sub.key: sub.from_json(row.get(sub.key))
                        for sub in field.fields
                        if not sub.is_computed and row.get(sub.key) is not None
                    }
                )
            values[field.key] = rows
        else:
            values[field.key] = field.from_json(raw)
    return values


def defaults(form: FormModel) -> dict[str, Any]:
    return {f.key: f.default for f in form.fields if f.default is not None}


def _row_defaults(field: FieldModel) -> dict[str, Any]:
    return {sub.key: sub.default for sub in field.fields if sub.default is not None}


# Optional key in a posted row naming the stored row it continues.
ROW_MARKER = "_row"


class _Submission:
    def __init__(
        self,
        form: FormModel,
        raw: Any,
        previous: Mapping[str, Any] | None,
        mode: Mode,
        context: Any,
        record_id: int | None,
        json_input: bool = False,
    ):
        self.form = form
        self.raw = raw
        self.mode = mode
        self.json_input = json_input
        self.context = context
        user = (context or {}).get("user") if isinstance(context, Mapping) else None
        if isinstance(user, Mapping):
            user = user.get("id")
        self.value_context = ValueContext(
            user_id=user if isinstance(user, int) else None, record_id=record_id, form_key=form.key
        )
        self.errors = _Errors()
        self.base = runtime_values(form, previous) if previous is not None else defaults(form)
        self.is_new = previous is None
        self.values: dict[str, Any] = dict(self.base)
        # Posted values of read-only-capable and computed fields, checked once the state is known.
        self.posted: dict[str, tuple[FieldModel, Any, Any]] = {}
        # Paths whose posted value differs from the stored one (or could not be read at all).
        self.changed: dict[str, None] = {}

    # -- reading input -----------------------------------------------------------

    def read(self) -> None:
        for key, raw in self.raw.items():
            field = self.form.by_path.get(key) if isinstance(key, str) else None
            if field is None or field.parent is not None:
                self.errors.add(
                    _short(key), _l("field %(name)s does not exist in this form", name=_short(key))
                )
                continue
            if field.is_computed:
                self.posted[key] = (field, raw, None)
                continue
            if field.is_lines:
                self.read_rows(field, raw)
                continue
            if self.wrong_json_type(key, field, raw):
                self.changed[key] = None
                continue
            try:
                value = field.type.coerce(raw, field)
            except FieldValueError as exc:
                self.errors.add(key, exc.message)
                self.changed[key] = None
                continue
            self.posted[key] = (field, value, self.base.get(key))
            if not _same(field, value, self.base.get(key)):
                self.changed[key] = None
            self.values[key] = value

    def read_rows(self, field: FieldModel, raw: Any) -> None:
        try:
            rows = field.type.coerce(raw, field)
        except FieldValueError as exc:
            self.errors.add(field.key, exc.message)
            self.changed[field.key] = None
            return
        rows = rows or []
        limit = min(field.settings.get("max_rows") or HARD_MAX_ROWS, HARD_MAX_ROWS)
        if len(rows) > limit:
            # Refuse before touching the rows: an oversized body costs nothing more to refuse.
            self.errors.add(field.key, _ln("at most %(num)d row", "at most %(num)d rows", limit))
            self.changed[field.key] = None
            return
        previous_rows = self.base.get(field.key) or []
        new_rows: list[dict[str, Any]] = []
        origins: list[int | None] = []
        for index, raw_row in enumerate(rows):
            origins.append(self._origin_index(index, raw_row, previous_rows))
            before, raw_row = self._row_origin(field, index, raw_row, previous_rows)
            row: dict[str, Any] = dict(before) if before is not None else _row_defaults(field)
            for key, value in raw_row.items():
                path = f"{field.key}[{index}].{_short(key)}"
                sub = field.row_index.get(key) if isinstance(key, str) else None
                if sub is None:
                    self.errors.add(path, _l("field %(name)s does not exist in this form", name=path))
                    continue
                if sub.is_computed:
                    self.posted[path] = (sub, value, None)
                    continue
                if self.wrong_json_type(path, sub, value):
                    self.changed[path] = None
                    continue
                try:
                    typed = sub.type.coerce(value, sub)
                except FieldValueError as exc:
                    self.errors.add(path, exc.message)
                    self.changed[path] = None
                    continue
                old = before.get(key) if before is not None else sub.default
                self.posted[path] = (sub, typed, old)
                if not _same(sub, typed, old):
                    self.changed[path] = None
                row[key] = typed
            new_rows.append(row)
        if origins != list(range(len(previous_rows))):
            self.changed[field.key] = None  # rows added, removed or put in another order
        self.values[field.key] = new_rows

    @staticmethod
    def _origin_index(index: int, raw_row: Any, previous_rows: list[dict[str, Any]]) -> int | None:
        """The stored row a posted row continues (as ``_row_origin`` reads it); None for a new row."""
        if isinstance(raw_row, Mapping) and ROW_MARKER in raw_row:
            origin = raw_row[ROW_MARKER]
            valid = isinstance(origin, int) and not isinstance(origin, bool)
            return origin if valid and 0 <= origin < len(previous_rows) else None
        return index if index < len(previous_rows) else None

    def wrong_json_type(self, path: str, field: FieldModel, raw: Any) -> bool:
        """JSON input only: refuse a value of the wrong JSON type (a number for text...) at ``path``."""
        if not self.json_input or raw is None:
            return False
        problem = field.type.json_type_error(raw, field)
        if problem is None:
            return False
        self.errors.add(path, problem)
        return True

    def _row_origin(
        self, field: FieldModel, index: int, raw_row: dict[str, Any], previous_rows: list[dict[str, Any]]
    ) -> tuple[dict[str, Any] | None, dict[str, Any]]:
        """The stored row a posted row continues, and the row without the marker.

        A row may say which stored row it is with ``"_row": <stored index>`` (or ``null``
        for a new row); without it, rows match by position. The marker matters when a
        row in the middle was removed: the rows after it keep their own stored values
        (hidden and read-only columns are not posted) instead of their predecessor's.
        """
        if ROW_MARKER not in raw_row:
            return (previous_rows[index] if index < len(previous_rows) else None), raw_row
        raw_row = dict(raw_row)
        origin = raw_row.pop(ROW_MARKER)
        if origin is None:
            return None, raw_row
        if isinstance(origin, bool) or not isinstance(origin, int) or not 0 <= origin < len(previous_rows):
            self.errors.add(f"{field.key}[{index}]", _l("refers to a row that does not exist"))
            return None, raw_row
        return previous_rows[origin], raw_row

    # -- checks that need the state -----------------------------------------------

    def refuse_read_only_writes(self, state: FormState) -> bool:
        """Refuse changed values of read-only fields (restoring the old value); True if any was restored."""
        restored = False
        for path, (field, value, before) in self.posted.items():
            if field.is_computed or not state.is_readonly(path):
                continue
            if _same(field, value, before):
                continue
            self.errors.add(path, _l("%(name)s is read-only and cannot be changed", name=path))
            self._set(path, before)
            restored = True
        return restored

    def refuse_computed_writes(self, state: FormState) -> None:
        for path, (field, raw, _) in self.posted.items():
            if not field.is_computed:
                continue
            result_type = field.settings["result"]
            try:
                posted = None if raw is None or raw == "" else result_type.coerce(raw, field)
            except FieldValueError:
                posted = raw
            current = state.computed.get(path)
            if posted is None or _same(field, posted, current):
                continue  # a client echoing the value (or nothing) is harmless; it is recomputed anyway
            self.errors.add(path, _l("%(name)s is computed and cannot be set", name=path))

    def _set(self, path: str, value: Any) -> None:
        bracket = path.find("[")
        if bracket < 0:
            self.values[path] = value
            return
        parent, index = path[:bracket], int(path[bracket + 1 : path.index("]")])
        key = path[path.index("]") + 2 :]
        rows = self.values.get(parent) or []
        if index < len(rows):
            rows[index][key] = value

    def check_values(self, state: FormState) -> None:
        values = state.values
        submit = self.mode == "submit"
        vctx = self.value_context
        for field in self.form.fields:
            key = field.key
            if not state.is_visible(key):
                continue
            value = values.get(key)
            if field.is_lines:
                self.check_rows(field, value or [], state)
                continue
            if key in self.errors:
                continue
            if field.is_computed:
                if submit and field.path in state.errors:
                    self.errors.add(
                        key, _l("cannot be computed: %(reason)s", reason=state.errors[field.path])
                    )
                continue
            if field.type.is_empty(value):
                if submit and state.is_required(key):
                    self.errors.add(key, _l("this field is required"))
                continue
            for message in field.type.check(value, field, vctx):
                self.errors.add(key, message)
                break

    def check_rows(self, field: FieldModel, rows: list[dict[str, Any]], state: FormState) -> None:
        submit = self.mode == "submit"
        if field.key in self.errors:
            return
        if rows:
            for message in field.type.check(rows, field, self.value_context):
                self.errors.add(field.key, message)
                return
        low = field.settings.get("min_rows")
        if submit and low and len(rows) < low:
            self.errors.add(field.key, _ln("at least %(num)d row", "at least %(num)d rows", low))
        elif submit and not rows and state.is_required(field.key):
            self.errors.add(field.key, _l("add at least one row"))
        vctx = self.value_context
        for index, row in enumerate(rows):
            prefix = f"{field.key}[{index}]."
            for sub in field.fields:
                path = prefix + sub.key
                if path in self.errors or not state.is_visible(path):
                    continue
                value = row.get(sub.key)
                if sub.is_computed:
                    if submit and path in state.errors:
                        self.errors.add(path, _l("cannot be computed: %(reason)s", reason=state.errors[path]))
                    continue
                if sub.type.is_empty(value):
                    if submit and state.is_required(path):
                        self.errors.add(path, _l("this field is required"))
                    continue
                for message in sub.type.check(value, sub, vctx):
                    self.errors.add(path, message)
                    break

    def check_rules(self, state: FormState) -> None:
        """Cross-field rules, in the same round as the field errors (one submit shows everything).

        A rule whose ``field`` is a line-item column (``lines[*].date``) is reported on each row
        that breaks it, found by evaluating the rule on that row alone; a rule that only the rows
        together break (a sum) is reported at the column as a whole.
        """
        locale = _current_locale()
        for rule in self.form.validations:
            target = rule.field or ""
            if target and "[*]" not in target and target in self.errors:
                continue  # the field's own error is the more precise message
            if self._outcome(rule, state.values) is not False:
                continue
            message = localized(rule.message, locale or "en")
            rows = self._failing_rows(rule, state.values, target) if "[*]" in target else []
            for path in rows or [target]:
                self.errors.add(path, message)  # a row whose field has an error keeps that error

    def _outcome(self, rule: Any, values: Mapping[str, Any]) -> Any:
        try:
            return rule.rule.evaluate(values, None, self.context)
        except ExpressionError as exc:
            log.info("validation rule %s could not be evaluated: %s", rule.pointer, exc)
            return False

    def _failing_rows(self, rule: Any, values: Mapping[str, Any], target: str) -> list[str]:
        """``target`` with the index of each row that alone breaks ``rule`` (a row whose field has an
        error already keeps that error)."""
        lines_key = target.split("[", 1)[0]
        failing = []
        for index, row in enumerate(values.get(lines_key) or []):
            if self._outcome(rule, {**values, lines_key: [row]}) is False:
                failing.append(target.replace("[*]", f"[{index}]", 1))
        return failing

    # -- output --------------------------------------------------------------------

    def output(self, state: FormState) -> dict[str, Any]:
        data: dict[str, Any] = {}
        values = state.values
        for field in self.form.fields:
            value = values.get(field.key)
            if value is None or not state.is_visible(field.key):
                continue
            if field.is_lines:
                rows = []
                for row in value:
                    rows.append(
                        {
                            sub.key: sub.to_json(row[sub.key])
                            for sub in field.fields
                            if row.get(sub.key) is not None
                        }
                    )
                if rows:
                    data[field.key] = rows
            else:
                data[field.key] = field.to_json(value)
        return data


def validate(
    form: FormModel,
    raw: Any,
    *,
    previous: Mapping[str, Any] | None,
    mode: Mode,
    context: Any,
    record_id: int | None = None,
    json_input: bool = False,
) -> ValidationResult:
    """Validate posted ``raw`` data against ``form``; see the module docstring.

    ``context`` is the expression context (``forms.state.context_for(user)``); its user is
    the submitter, whose own uploads (or files already on ``record_id``) may be attached.
    ``json_input`` (the API) types values strictly by their JSON type: text must be a string,
    a boolean ``true``/``false``, a user an integer id, and so on; without it values are read
    as a browser posts them (strings), leniently.
    """
    if mode not in ("draft", "submit"):
        raise ValueError(f"mode must be 'draft' or 'submit', not {mode!r}")
    submission = _Submission(form, raw, previous, mode, context, record_id, json_input)
    if not isinstance(raw, Mapping):
        return ValidationResult(
            {}, [{"field": "", "message": str(_l("the data must be an object of field values"))}]
        )
    submission.read()
    state = evaluate_state(form, submission.values, context=context)
    if submission.refuse_read_only_writes(state):
        state = evaluate_state(form, submission.values, context=context)
    submission.refuse_computed_writes(state)
    submission.check_values(state)
    if mode == "submit":
        submission.check_rules(state)
    return ValidationResult(
        submission.output(state), submission.errors.items, state, list(submission.changed)
    )
