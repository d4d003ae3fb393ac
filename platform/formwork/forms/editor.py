"""The form page's state: what one rendering of the editor shows, and the live evaluation behind it.

``Editor`` holds the page's values (top-level key → value; a table → list of row dicts), each
table's DOM row indices in page order, the evaluated state (``state.evaluate_state``, the same
evaluator validation uses), errors and attached files. Field paths on the page use DOM row
indices (``lines[3].amount``); the evaluated state uses compact ones (``lines[1].amount``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from dataclasses import field as dc_field
from datetime import date
from functools import cached_property
from typing import Any

from flask import url_for
from flask_login import current_user
from sqlalchemy import select

from .. import business_time
from ..budgets.preview import BudgetPanel, budget_panel, budget_preview
from ..budgets.service import consumer_of_form
from ..db_types import utcnow
from ..definitions.models import DefinitionVersion
from ..extensions import db
from ..formatting import format_value
from ..i18n import current_locale_tag, localized
from ..input_limits import row_id
from ..org.models import Department, User
from ..records.models import Attachment, Record
from . import state as form_state
from .field_types import FieldValueError
from .model import FieldModel, FormModel
from .validation import ROW_MARKER

ROW_KEY = re.compile(r"^(?P<lines>[a-z][a-z0-9_]*)\[(?P<index>[0-9]+)\]\.(?P<key>[a-z][a-z0-9_]*)$")
_NON_ID = re.compile(r"[^A-Za-z0-9_]+")
MAX_ROW_INDEX = 100_000  # DOM row indices beyond this are not ours


def dom_id(path: str) -> str:
    """``lines[2].amount`` → ``lines-2-amount``: the stem of every id the field's markup uses."""
    return _NON_ID.sub("-", path).strip("-")


# ---------------------------------------------------------------- the editor's state


@dataclass
class Flags:
    visible: bool = True
    required: bool = False
    readonly: bool = False

    def code(self) -> str:
        return (
            ("v" if self.visible else "-") + ("r" if self.required else "-") + ("o" if self.readonly else "-")
        )


@dataclass
class Editor:
    """Everything one rendering of the form page needs."""

    version: DefinitionVersion
    form: FormModel
    values: dict[str, Any]  # top-level key → input value; lines → list of row dicts
    row_ids: dict[str, list[int]]  # lines key → DOM index of each row, in page order
    state: Any
    record: Record | None = None
    errors: dict[str, list[str]] = dc_field(default_factory=dict)  # field path (page indices) → messages
    summary: list[dict[str, str]] = dc_field(default_factory=list)
    client_token: str = ""
    messages: dict[str, str] = dc_field(default_factory=dict)  # lines key → row status message
    options_cache: dict[str, list[tuple[str, str]]] = dc_field(default_factory=dict)
    notice: str = ""  # shown above the form (e.g. the form changed since the page was rendered)
    read_errors: dict[str, list[str]] = dc_field(default_factory=dict)  # refusals while reading the post
    files: dict[int, Attachment] = dc_field(default_factory=dict)
    # Numbers typed that will not validate, by page path ("" where the input reads well): shown
    # under the input at once, and every computed value they feed says it is incomplete.
    live: dict[str, str] = dc_field(default_factory=dict)
    incomplete: set[str] = dc_field(default_factory=set)
    # The person's field rights on the record (``records.access.rights_of`` / ``rights_for_new``):
    # ``right(path).word`` is hidden, masked, read or write; None: every input field writable.
    rights: Any = None

    @property
    def action_url(self) -> str:
        if self.record is not None:
            return url_for("forms.edit_record", record_id=self.record.id)
        return url_for("forms.new_record", key=self.form.key)

    @property
    def evaluate_url(self) -> str:
        if self.record is not None:
            return url_for("forms.evaluate_record", record_id=self.record.id)
        return url_for("forms.evaluate_new", key=self.form.key)

    @property
    def upload_url(self) -> str:
        # The file is checked against the limits of the version this page shows.
        return url_for("forms.upload", key=self.form.key, definition=self.version.id)

    # -- per field ------------------------------------------------------------

    def access(self, path: str) -> str:
        """The person's right on the field at ``path``: ``hidden``, ``masked``, ``read`` or ``write``."""
        return "write" if self.rights is None else str(self.rights.right(path).word)

    def writable(self, path: str) -> bool:
        return self.access(path) == "write"

    def shown_columns(self, lines: FieldModel) -> list[str]:
        """Paths of the columns of ``lines`` this person may see (a hidden column has no heading)."""
        return [sub.path for sub in lines.fields if self.access(sub.path) != "hidden"]

    def flags(self, path: str, field: FieldModel) -> Flags:
        """Visible / required / read-only of the field instance at ``path`` (compact row index): the
        form's conditions, then the field rights (a hidden field is not shown, a field the person may
        not write is shown read-only)."""
        access = self.access(path)
        return Flags(
            visible=bool(self.state.is_visible(path)) and access != "hidden",
            required=bool(self.state.is_required(path)),
            readonly=bool(self.state.is_readonly(path)) or field.is_computed or access != "write",
        )

    def computed(self, path: str) -> Any:
        return self.state.computed.get(path)

    def value(self, field: FieldModel, row: dict[str, Any] | None = None) -> Any:
        source = self.values if row is None else row
        return source.get(field.key)

    def rows(self, lines: FieldModel) -> list[tuple[int, int, dict[str, Any]]]:
        """(compact index, DOM index, row values) for each row of ``lines``."""
        rows = self.values.get(lines.key) or []
        ids = self.row_ids.get(lines.key) or list(range(len(rows)))
        return [(i, ids[i], row) for i, row in enumerate(rows)]

    def field_errors(self, path: str) -> list[str]:
        return self.errors.get(path, [])

    def options(self, field: FieldModel) -> list[tuple[str, str]]:
        """(value, label) choices for select-like widgets, built once per request."""
        cached = self.options_cache.get(field.path)
        if cached is not None:
            return cached
        widget = field.type.widget
        if widget == "user":
            cached = self.options_cache.setdefault(
                "@users",
                [
                    (str(u.id), u.display_name or u.username)
                    for u in db.session.scalars(
                        select(User).where(User.active.is_(True)).order_by(User.display_name)
                    )
                ],
            )
        elif widget == "department":
            tag = current_locale_tag()
            every = self.options_cache.setdefault(
                "@departments",
                [
                    (str(d.id), d.name(tag))
                    for d in db.session.scalars(
                        select(Department).where(Department.active.is_(True)).order_by(Department.id)
                    )
                ],
            )
            # Only the departments this person may choose (the server refuses the others anyway).
            allowed = getattr(field.type, "allowed_ids", lambda *_: None)(field, current_user)
            cached = every if allowed is None else [(v, label) for v, label in every if int(v) in allowed]
        else:
            cached = [(value, localized(label)) for value, label in field.settings.get("options", {}).items()]
        self.options_cache[field.path] = cached
        return cached

    def display(self, field: FieldModel, value: Any) -> str:
        """A value shown as text (read-only fields): names for people and departments."""
        if field.type.widget in ("user", "department"):
            text = dict(self.options(field)).get(str(value), "") if value not in (None, "") else ""
        else:
            text = format_value(field, value)
        return text if self.rights is None else str(self.rights.mask_text(field.path, text))

    def attachment_list(self, value: Any) -> list[Attachment]:
        ids = [row_id(v) for v in (value or [])]
        return [self.files[i] for i in ids if i in self.files]

    @property
    def applicant(self) -> Any:
        """Who the request is for: the record's owner, or the person starting a new one."""
        return self.record.owner if self.record is not None else current_user

    @property
    def started_at(self) -> Any:
        return self.record.created_at if self.record is not None else utcnow()

    @property
    def total_field(self) -> FieldModel | None:
        """The form's first top-level computed amount (the total), repeated in the action bar."""
        for field in self.form.fields:
            result = field.settings.get("result") if field.is_computed else None
            if result is not None and result.name == "money":
                return field
        return None

    @cached_property
    def budget(self) -> BudgetPanel | None:
        """The budget panel of a form whose route checks a budget; None for any other form."""
        consumer = consumer_of_form(self.form.key)
        if consumer is None:
            return None
        values = self.state.values
        if consumer.department:
            field = self.form.field(consumer.department)
            department_id = values.get(consumer.department)
            if field is None or not isinstance(department_id, int):
                return BudgetPanel()
            allowed = getattr(field.type, "allowed_ids", lambda *_: None)(field, current_user)
            if allowed is not None and department_id not in allowed:
                return BudgetPanel()
        else:  # the request's own department
            source = self.record if self.record is not None else current_user
            department_id = source.department_id
        day = values.get(consumer.date) if consumer.date else None
        if consumer.amount in self.incomplete or self.access(consumer.amount) == "hidden":
            # A number typed that will not validate: the total is not known yet. A hidden total is
            # never shown, not even as what remains after it.
            amount = None
        else:
            amount = values.get(consumer.amount)
        preview = budget_preview(
            consumer,
            department_id=department_id,
            category=values.get(consumer.category),
            amount=amount,
            day=day if isinstance(day, date) else business_time.today(),
            exclude_record_id=self.record.id if self.record is not None else None,
        )
        category_field = self.form.field(consumer.category)
        labels = dict(self.options(category_field)) if category_field is not None else {}
        return budget_panel(preview, labels, current_locale_tag())

    def state_code(self) -> str:
        """The condition flags this rendering shows, posted back so ``evaluate`` swaps only what changed."""
        return "|".join(f"{path}={flags.code()}" for path, flags in sorted(conditional_flags(self).items()))


def conditional_flags(editor: Editor) -> dict[str, Flags]:
    """Flags of every instance of a conditional field, keyed by its page path (DOM row index)."""
    found: dict[str, Flags] = {}
    for field in editor.form.conditional:
        if field.parent is None:
            found[field.path] = editor.flags(field.path, field)
            continue
        lines = field.parent
        for compact, dom, _row in editor.rows(lines):
            found[f"{lines.key}[{dom}].{field.key}"] = editor.flags(
                f"{lines.key}[{compact}].{field.key}", field
            )
    return found


def _lenient(field: FieldModel, value: Any) -> Any:
    """A half-typed input as a runtime value; what cannot be read yet counts as empty."""
    if value is None:
        return None
    try:
        return field.type.coerce(value, field)
    except FieldValueError:
        return None


def page_runtime_values(form: FormModel, values: dict[str, Any]) -> dict[str, Any]:
    """Page values (posted strings or stored JSON) → runtime values for ``evaluate_state``.

    Lenient, unlike ``validation.runtime_values`` (stored JSON only): a value that does not
    parse yet is left out, so the page still evaluates while the person is typing."""
    data: dict[str, Any] = {}
    for field in form.fields:
        value = values.get(field.key)
        if value is None or field.is_computed:
            continue
        if field.is_lines:
            data[field.key] = [
                {sub.key: _lenient(sub, row.get(sub.key)) for sub in field.fields if not sub.is_computed}
                for row in (value if isinstance(value, list) else ())
                if isinstance(row, dict)
            ]
        else:
            data[field.key] = _lenient(field, value)
    return data


def evaluate(form: FormModel, values: dict[str, Any]) -> Any:
    """The one evaluator (``state.evaluate_state``) run on what the page currently holds."""
    return form_state.evaluate_state(
        form, page_runtime_values(form, values), context=form_state.context_for(current_user)
    )


# ---------------------------------------------------------------- initial values


def initial_values(form: FormModel, data: dict[str, Any] | None) -> dict[str, Any]:
    """Input values for a fresh page: a record's stored data, or the definition's defaults and min rows."""
    if data is not None:
        values = {k: (list(v) if isinstance(v, list) else v) for k, v in data.items()}
        for field in form.fields:
            if field.is_lines and isinstance(values.get(field.key), list):
                # Each stored row remembers its index, so removing a row on the page
                # cannot shift stored values onto the row after it.
                values[field.key] = [
                    {**row, ROW_MARKER: index} if isinstance(row, dict) else row
                    for index, row in enumerate(values[field.key])
                ]
        return values
    values = {}
    for field in form.fields:
        if field.is_lines:
            row = {sub.key: sub.to_json(sub.default) for sub in field.fields if sub.default is not None}
            values[field.key] = [dict(row) for _ in range(max(1, field.settings.get("min_rows") or 0))]
        elif field.default is not None:
            values[field.key] = field.to_json(field.default)
    return values


def new_row(lines: FieldModel) -> dict[str, Any]:
    return {sub.key: sub.to_json(sub.default) for sub in lines.fields if sub.default is not None}


def load_files(editor: Editor) -> None:
    """Attachments shown on the page, fetched in one query."""
    ids: set[int] = set()
    for field in editor.form.fields:
        if field.type.widget == "file":
            ids.update(_ids(editor.values.get(field.key)))
        elif field.is_lines:
            file_fields = [sub.key for sub in field.fields if sub.type.widget == "file"]
            if file_fields:
                for row in editor.values.get(field.key) or []:
                    for key in file_fields:
                        ids.update(_ids(row.get(key)))
    if ids:
        editor.files = {
            a.id: a
            for a in db.session.scalars(select(Attachment).where(Attachment.id.in_(ids)))
            if a.owner_id == current_user.id
            or (editor.record is not None and a.record_id == editor.record.id)
        }


def _ids(value: Any) -> list[int]:
    if not isinstance(value, list):
        return []
    return [found for v in value if (found := row_id(v)) is not None]
