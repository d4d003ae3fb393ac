"""The generic form renderer: any published form as an HTML page, enhanced with htmx.

One page serves both a new record (``/forms/<key>/new``) and a draft being edited
(``/records/<id>/edit``). Without JavaScript it is a plain form: saving, submitting,
adding and removing line-item rows are ordinary posts that re-render the page. With
htmx, typing posts the form to ``.../evaluate``, where the server runs
``state.evaluate_state`` — the same evaluator validation uses — and answers with
out-of-band swaps of just the computed outputs and the fields whose visible /
required / read-only state changed, so the input being typed in is never replaced.

Input names are field paths (``reason``, ``lines[2].amount``); names starting with
``_`` are the renderer's own (``_rows.lines`` lists a table's rows in page order,
``_state`` the condition flags the page currently shows, ``_client_token`` makes a
double click create one record).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from dataclasses import field as dc_field
from datetime import date
from functools import cached_property
from typing import Any, Iterable

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from .. import business_time
from ..budgets.preview import BudgetPanel, budget_panel, budget_preview
from ..budgets.service import consumer_of_form
from ..db_types import utcnow
from ..definitions import store
from ..definitions.models import DefinitionVersion
from ..extensions import db
from ..i18n import localized
from ..input_limits import MAX_ROW_ID, row_id, whole_number
from ..org.models import Department, User
from ..records import access, attachments, service
from ..records.models import DRAFT, Attachment, Record
from ..web.formatting import format_value
from . import state as form_state
from .field_types import FieldValueError
from .model import FieldModel, FormModel, schema_path
from .validation import HARD_MAX_ROWS, ROW_MARKER

forms_bp = Blueprint("forms", __name__)

EDITABLE_STATUSES = (DRAFT, "returned")
_ROW_KEY = re.compile(r"^(?P<lines>[a-z][a-z0-9_]*)\[(?P<index>[0-9]+)\]\.(?P<key>[a-z][a-z0-9_]*)$")
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

    def flags(self, path: str, field: FieldModel) -> Flags:
        """Visible / required / read-only of the field instance at ``path`` (compact row index)."""
        return Flags(
            visible=bool(self.state.is_visible(path)),
            required=bool(self.state.is_required(path)),
            readonly=bool(self.state.is_readonly(path)) or field.is_computed,
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
            tag = _locale_tag()
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
            return dict(self.options(field)).get(str(value), "") if value not in (None, "") else ""
        return format_value(field, value)

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
        if consumer.amount in self.incomplete:
            amount = None  # a number typed that will not validate: the total is not known yet
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
        return budget_panel(preview, labels, _locale_tag())

    def state_code(self) -> str:
        """The condition flags this rendering shows, posted back so ``evaluate`` swaps only what changed."""
        return "|".join(f"{path}={flags.code()}" for path, flags in sorted(conditional_flags(self).items()))


def _locale_tag() -> str:
    from ..i18n import current_locale_tag

    return current_locale_tag()


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


def runtime_values(form: FormModel, values: dict[str, Any]) -> dict[str, Any]:
    """Page values (posted strings or stored JSON) → runtime values for ``evaluate_state``."""
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
        form, runtime_values(form, values), context=form_state.context_for(current_user)
    )


# ---------------------------------------------------------------- numbers that will not validate

NUMBER_WIDGETS = ("money", "decimal", "integer")


def _unreadable(field: FieldModel, raw: Any) -> str:
    """Why ``raw`` typed into ``field`` will not validate ("" when it reads, or is empty)."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return ""
    try:
        field.type.coerce(raw, field)
    except FieldValueError as exc:
        return str(exc.message)
    return ""


def _reads(expression: Any, lines: FieldModel | None) -> set[str]:
    """Schema paths an expression reads; a row's bare names are prefixed with their table."""
    paths = set()
    for ref in getattr(expression, "references", ()) or ():
        path = schema_path(ref)
        if lines is not None and path.split(".", 1)[0] in lines.row_index:
            path = f"{lines.key}.{path}"
        paths.add(path)
    return paths


def _feeds(read: set[str], bad: set[str]) -> bool:
    return any(b == r or b.startswith(r + ".") for r in read for b in bad)


def check_live(editor: Editor) -> None:
    """Fill ``editor.live`` and ``editor.incomplete`` from the values the page holds.

    A half-typed number counts as empty in the live evaluation (``_lenient``), so a total would
    silently leave it out; instead the input is marked at once and the total says it is incomplete.
    """
    live: dict[str, str] = {}
    for field in editor.form.fields:
        if field.is_lines:
            for compact, dom, row in editor.rows(field):
                for sub in field.fields:
                    if sub.type.widget in NUMBER_WIDGETS and not sub.is_computed:
                        if editor.state is None or editor.state.is_visible(
                            f"{field.key}[{compact}].{sub.key}"
                        ):
                            live[f"{field.key}[{dom}].{sub.key}"] = _unreadable(sub, row.get(sub.key))
        elif field.type.widget in NUMBER_WIDGETS and not field.is_computed:
            if editor.state is None or editor.state.is_visible(field.key):
                live[field.key] = _unreadable(field, editor.values.get(field.key))
    editor.live = live
    bad = {path for path, message in live.items() if message}
    if not bad:
        editor.incomplete = set()
        return
    bad_schema = {schema_path(path) for path in bad}
    bad_rows = {(m["lines"], int(m["index"]), m["key"]) for m in map(_ROW_KEY.match, bad) if m}
    incomplete: set[str] = set()
    for field in editor.form.computed_order:
        lines = field.parent
        read = _reads(field.expression, lines)
        if lines is None:
            if _feeds(read, bad_schema | {schema_path(p) for p in incomplete}):
                incomplete.add(field.key)
            continue
        for _compact, dom, _row in editor.rows(lines):
            row_bad = {
                f"{lines.key}.{key}"
                for (table, index, key) in bad_rows
                if table == lines.key and index == dom
            }
            row_incomplete = {
                f"{lines.key}.{p.rsplit('.', 1)[-1]}"
                for p in incomplete
                if p.startswith(f"{lines.key}[{dom}].")
            }
            if _feeds(read, row_bad | row_incomplete):
                incomplete.add(f"{lines.key}[{dom}].{field.key}")
    editor.incomplete = incomplete


# ---------------------------------------------------------------- reading a posted form


def _last(values: list[str]) -> str:
    return values[-1] if values else ""


def _field_input(field: FieldModel, posted: MultiDict, name: str) -> tuple[bool, Any]:
    """(present, raw value) of one field instance in the post; absent when not rendered as an input."""
    if name not in posted:
        return False, None
    widget = field.type.widget
    if widget in ("checkboxes", "file"):
        # A hidden empty input marks the field as rendered, so "nothing chosen" is an answer.
        return True, [v for v in posted.getlist(name) if v != ""]
    if widget == "checkbox":
        return True, _last(posted.getlist(name))  # hidden "false", then the box's "true" when ticked
    return True, posted.get(name, "")


def row_limit(lines: FieldModel) -> int:
    """The most rows of ``lines`` a posted page may carry: the form's ``max_rows``, at most the hard cap."""
    return min(lines.settings.get("max_rows") or HARD_MAX_ROWS, HARD_MAX_ROWS)


def read_post(
    form: FormModel, posted: MultiDict, errors: dict[str, list[str]] | None = None
) -> tuple[dict[str, Any], dict[str, list[int]]]:
    """Raw field values from a posted page, and each line-item table's DOM row indices in page order.

    Only inputs the page rendered are read: hidden, read-only and computed fields have
    none, so they are never "written" and the server keeps their values. A table that
    sends more rows than it allows is read no further than its limit, and the refusal
    is added to ``errors`` (page path → messages) so the caller can show it instead of
    saving a silently shortened table.
    """
    raw: dict[str, Any] = {}
    row_ids: dict[str, list[int]] = {}
    for field in form.fields:
        if field.is_computed:
            continue
        if field.is_lines:
            marker = f"_rows.{field.key}"
            if marker not in posted:
                continue
            ids: list[int] = []
            seen: set[int] = set()
            limit = row_limit(field)
            for value in posted.getlist(marker):
                dom = whole_number(value, 0, MAX_ROW_INDEX)
                if dom is None:
                    continue
                if dom in seen:
                    continue
                if len(ids) >= limit:
                    if errors is not None:
                        errors.setdefault(field.key, []).append(
                            _("At most %(n)s rows; the page sent more. Remove rows and try again.", n=limit)
                        )
                    break
                seen.add(dom)
                ids.append(dom)
            rows = []
            for dom in ids:
                row: dict[str, Any] = {}
                origin = posted.get(f"{field.key}[{dom}].{ROW_MARKER}")
                if origin is not None:
                    # Which stored row this one continues ("" for a row added on the page).
                    row[ROW_MARKER] = whole_number(origin, 0, MAX_ROW_INDEX)
                for sub in field.fields:
                    if sub.is_computed:
                        continue
                    present, value = _field_input(sub, posted, f"{field.key}[{dom}].{sub.key}")
                    if present:
                        row[sub.key] = value
                rows.append(row)
            raw[field.key] = rows
            row_ids[field.key] = ids
            continue
        present, value = _field_input(field, posted, field.key)
        if present:
            raw[field.key] = value
    return raw, row_ids


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


# ---------------------------------------------------------------- loading


def _current_form(key: str) -> tuple[DefinitionVersion, FormModel]:
    version = store.current("form", key)
    if version is None:
        abort(404)
    return version, store.compiled_form(version)


def _editable_record(record_id: int) -> tuple[Record, DefinitionVersion, FormModel]:
    record = access.get_visible(current_user, record_id)
    if record is None:
        abort(404)  # another user's record looks exactly like a missing one
    version = record.definition
    return record, version, store.compiled_form(version)


def _can_edit(record: Record) -> bool:
    return record.owner_id == current_user.id and record.status in EDITABLE_STATUSES


# ---------------------------------------------------------------- rendering


def render_editor(editor: Editor, status: int = 200):
    load_files(editor)
    if editor.state is not None:
        check_live(editor)
    return render_template("forms/edit.html", editor=editor, form=editor.form), status


CHOSEN_WIDGETS = ("select", "user", "department", "checkboxes", "checkbox", "date", "datetime")


def required_message(field: FieldModel) -> str:
    """A missing value said as what to do (请选择费用类别), instead of a generic "required"."""
    label = localized(field.label)
    if _locale_tag().startswith("en") and label[:1].isupper() and not label[1:2].isupper():
        label = label[:1].lower() + label[1:]  # "Choose category.", but "Enter VAT number."
    widget = field.type.widget
    if widget in CHOSEN_WIDGETS:
        return _("Choose %(label)s.", label=label)
    if widget == "file":
        return _("Attach %(label)s.", label=label)
    return _("Enter %(label)s.", label=label)


def _summary(editor: Editor, errors: Iterable[dict[str, Any]]) -> None:
    """Per-field messages keyed by page path, and the error summary linking to each field."""
    required = str(_l("this field is required"))
    for error in errors:
        path = str(error.get("field") or "")
        message = str(error.get("message") or "")
        page_path = _page_path(path, editor.row_ids)
        field = editor.form.field(path) if path else None
        if field is not None and message == required and not field.is_lines:
            message = required_message(field)
        editor.errors.setdefault(page_path, []).append(message)
        label = localized(field.label) if field is not None else _("Form")
        row = re.search(r"\[([0-9]+)\]", path)
        if row and field is not None and field.parent is not None:
            label = _(
                "%(lines)s, row %(n)s: %(field)s",
                lines=localized(field.parent.label),
                n=int(row.group(1)) + 1,
                field=label,
            )
        anchor = ("f-" + dom_id(page_path)) if field is not None else "form-errors"
        editor.summary.append({"anchor": anchor, "label": label, "message": message})


def _page_path(path: str, row_ids: dict[str, list[int]]) -> str:
    """Data path (compact row index) → page path (DOM row index)."""
    match = re.match(r"^([a-z][a-z0-9_]*)\[([0-9]+)\](.*)$", path)
    if not match:
        return path
    ids = row_ids.get(match.group(1))
    index = int(match.group(2))
    if ids and index < len(ids):
        return f"{match.group(1)}[{ids[index]}]{match.group(3)}"
    return path


# ---------------------------------------------------------------- views: list and pages


@forms_bp.get("/forms")
@login_required
def index():
    return render_template("forms/index.html", forms=available_forms())


def available_forms() -> list[dict[str, Any]]:
    """The published forms a user may start, for the list and the home page.

    A form whose current version cannot be compiled here (a plugin it needs is not
    loaded) is listed with ``unavailable`` set to the reason instead of breaking the page.
    """
    items = []
    tag = _locale_tag()
    for version in store.list_current("form"):
        _form, problem = store.form_or_unavailable(version)
        items.append(
            {
                "key": version.key,
                "title": store.form_title(version, tag),
                "version": version.version,
                "description": localized(version.content.get("description")),
                "unavailable": problem.reason() if problem is not None else None,
                "order": version.content.get("order"),
            }
        )
    # In the order the definitions give (the everyday forms first), never by character code alone.
    return sorted(
        items, key=lambda item: (item["order"] is None, item["order"] or 0, item["title"].casefold())
    )


def unavailable_response(exc: store.FormUnavailable):
    """503 for a form that cannot be compiled here: a JSON error under /api, an error page elsewhere."""
    from ..org.errors import api_error, is_api_request

    if is_api_request():
        response = api_error(503, exc.message())
        response.headers["Retry-After"] = "3600"
        return response
    body = render_template("errors/error.html", code=503, title=_("Form unavailable"), message=exc.message())
    return body, 503


@forms_bp.get("/forms/<key>/new")
@login_required
def new_record(key: str):
    version, form = _current_form(key)
    values = initial_values(form, None)
    prefill(form, values, current_user)
    row_ids = {
        k: list(range(len(v)))
        for k, v in values.items()
        if isinstance(v, list) and (field := form.field(k)) is not None and field.is_lines
    }
    editor = Editor(
        version,
        form,
        values,
        row_ids,
        evaluate(form, values),
        client_token=secrets.token_urlsafe(24),
    )
    return render_editor(editor)


def prefill(form: FormModel, values: dict[str, Any], user: Any) -> None:
    """Top-level fields a new request starts filled in (``prefill`` in the definition): the value of
    the person's latest request of this form, or their own department."""
    wanted = [field for field in form.fields if field.spec.get("prefill") and not field.is_computed]
    if not wanted:
        return
    last = None
    if any(field.spec["prefill"] == "last" for field in wanted):
        last = db.session.scalars(
            select(Record.data)
            .where(Record.owner_id == user.id, Record.form_key == form.key)
            .order_by(Record.created_at.desc(), Record.id.desc())
            .limit(1)
        ).first()
    for field in wanted:
        if field.spec["prefill"] == "last" and last and last.get(field.key) not in (None, ""):
            values[field.key] = last[field.key]
        elif field.spec["prefill"] == "my_department" and user.department_id is not None:
            values[field.key] = user.department_id


@forms_bp.post("/forms/<key>/new")
@login_required
def create_record(key: str):
    version, form = _current_form(key)
    rendered = _rendered_version(key)
    if rendered is not None and rendered.id != version.id:
        # A newer version was published after this page was shown. A new record always
        # gets the current version, so show that one with everything the user typed.
        notice = _(
            "This form was changed (version %(new)s was published) while you were filling it in. "
            "Your entries are kept; check them against the new version and save again.",
            new=version.version,
        )
        return _show_other_version(rendered, version, form, None, notice)
    return _save(version, form, None)


def _rendered_version(key: str) -> DefinitionVersion | None:
    """The form version the posted page was rendered with (``_definition``); None for a page without it.

    A value that is not a version of this form is refused (400): the page belongs to something else.
    """
    value = request.form.get("_definition", "")
    return _version_of_form(value, key) if value != "" else None


def _version_of_form(value: str, key: str) -> DefinitionVersion:
    """The version of form ``key`` whose id a page sent as ``value``; 400 for anything else."""
    version_id = row_id(value)
    version = store.get(version_id) if version_id is not None else None
    if version is None or version.kind != "form" or version.key != key:
        abort(400, _("This page was made for another form. Reload it and try again."))
    return version


def _read_refusals(read_errors: dict[str, list[str]], form: FormModel) -> list[dict[str, str]]:
    """``read_post``'s refusals as summary errors (for fields ``form`` has)."""
    return [
        {"field": path, "message": message}
        for path, messages in read_errors.items()
        for message in messages
        if form.field(path)
    ]


def _show_other_version(
    rendered: DefinitionVersion,
    version: DefinitionVersion,
    form: FormModel,
    record: Record | None,
    notice: str,
):
    """Read the post with the version it was rendered from, show it with ``version``; nothing is saved."""
    read_errors: dict[str, list[str]] = {}
    raw, row_ids = read_post(store.compiled_form(rendered), request.form, read_errors)
    values = dict(record.data) if record is not None else initial_values(form, None)
    values.update(raw)
    for field in form.fields:
        if field.is_lines and (
            field.key not in row_ids or len(row_ids[field.key]) != len(values.get(field.key) or [])
        ):
            row_ids[field.key] = list(range(len(values.get(field.key) or [])))
    editor = Editor(
        version,
        form,
        values,
        row_ids,
        None,
        record=record,
        client_token=(request.form.get("_client_token") or "")[:64],
        notice=notice,
    )
    _store_uploads(editor, raw)
    editor.state = evaluate(form, editor.values)
    _summary(editor, _read_refusals(read_errors, form))
    return render_editor(editor, 200 if request.headers.get("HX-Request") else 409)


@forms_bp.get("/records/<int:record_id>/edit")
@login_required
def edit_record(record_id: int):
    record, version, form = _editable_record(record_id)
    if not _can_edit(record):
        return redirect(url_for("records.detail", record_id=record.id))
    values = initial_values(form, record.data)
    row_ids = {f.key: list(range(len(values.get(f.key) or []))) for f in form.fields if f.is_lines}
    editor = Editor(version, form, values, row_ids, evaluate(form, values), record=record)
    return render_editor(editor)


@forms_bp.post("/records/<int:record_id>/edit")
@login_required
def update_record(record_id: int):
    record, version, form = _editable_record(record_id)
    if not _can_edit(record):
        flash(_("This record can no longer be edited."), "error")
        return _redirect(url_for("records.detail", record_id=record.id))
    rendered = _rendered_version(record.form_key)
    if rendered is not None and rendered.id != version.id:
        # A record keeps the version it was created with; a page of another version is not its editor.
        notice = _(
            "This page showed version %(shown)s of the form, but this record uses version %(own)s. "
            "Your entries are kept; check them and save again.",
            shown=rendered.version,
            own=version.version,
        )
        return _show_other_version(rendered, version, form, record, notice)
    return _save(version, form, record)


def _redirect(url: str):
    if request.headers.get("HX-Request"):
        # htmx would follow a 302 inside the page; ask it to navigate instead.
        return Response(status=204, headers={"HX-Redirect": url})
    return redirect(url, code=303)


def _posted_editor(version: DefinitionVersion, form: FormModel, record: Record | None) -> tuple[Editor, dict]:
    read_errors: dict[str, list[str]] = {}
    raw, row_ids = read_post(form, request.form, read_errors)
    previous = dict(record.data) if record is not None else initial_values(form, None)
    values = dict(previous)
    values.update(raw)
    for field in form.fields:
        if field.is_lines and field.key not in row_ids:
            row_ids[field.key] = list(range(len(values.get(field.key) or [])))
    editor = Editor(
        version,
        form,
        values,
        row_ids,
        None,
        record=record,
        client_token=(request.form.get("_client_token") or "")[:64],
        read_errors=read_errors,
    )
    return editor, raw


def _save(version: DefinitionVersion, form: FormModel, record: Record | None):
    editor, raw = _posted_editor(version, form, record)
    if editor.read_errors:
        # The page sent more than the form allows: say so per field, store nothing.
        editor.state = evaluate(form, editor.values)
        _summary(editor, _read_refusals(editor.read_errors, form))
        return render_editor(editor, 200 if request.headers.get("HX-Request") else 422)
    _store_uploads(editor, raw)
    operation = request.form.get("_op")
    if operation:
        # A row button pressed without JavaScript: apply it and show the page again.
        apply_row_operation(editor, operation)
        editor.state = evaluate(form, editor.values)
        return render_editor(editor)
    submit = request.form.get("_action") == "submit"
    try:
        if record is None:
            saved = service.create_record(
                form.key,
                raw,
                current_user,
                submit=submit,
                client_token=editor.client_token or None,
                definition=version,
                request_digest=service.request_digest("POST", form.key, _posted_fields()),
            )
        else:
            saved = service.update_record(
                record, raw, current_user, submit=submit, lock_version=_posted_lock_version()
            )
    except service.ValidationFailed as exc:
        db.session.rollback()
        editor.state = evaluate(form, editor.values)
        # Rows are shown again in compact order, so error paths and page paths agree.
        editor.row_ids = {k: list(range(len(ids))) for k, ids in editor.row_ids.items()}
        _summary(editor, exc.errors)
        return render_editor(editor, 200 if request.headers.get("HX-Request") else 422)
    except service.RecordError as exc:
        # Changed or submitted elsewhere meanwhile: keep what the user typed on the page and say why.
        db.session.rollback()
        editor.state = evaluate(form, editor.values)
        flash(exc.message, "error")
        return render_editor(editor, 200 if request.headers.get("HX-Request") else exc.status)
    if submit:
        flash(_("Submitted."), "success")
        return _redirect(url_for("records.detail", record_id=saved.id))
    flash(_("Draft saved."), "success")
    return _redirect(url_for("forms.edit_record", record_id=saved.id))


def _posted_fields() -> list[list[str]]:
    """The posted form as the request its client token is bound to (the token and CSRF token aside)."""
    return sorted([name, value] for name, value in request.form.items(multi=True) if name not in _NOT_BOUND)


_NOT_BOUND = frozenset({"csrf_token", "_client_token"})


def _posted_lock_version() -> int | None:
    """The record version the page was rendered from; a newer stored version means a conflict."""
    value = request.form.get("_lock_version", "")
    return whole_number(value, 0, MAX_ROW_ID)


def _store_uploads(editor: Editor, raw: dict[str, Any]) -> None:
    """Files chosen without JavaScript arrive with the form; store them and add their ids."""
    for name, upload in request.files.items(multi=True):
        if not name.startswith("_upload.") or not upload or not upload.filename:
            continue
        page_path = name[len("_upload.") :]
        field = editor.form.field(page_path)
        if field is None or field.type.widget != "file":
            continue
        try:
            attachment = attachments.store_upload(
                upload, current_user, editor.form.key, field.path, definition=editor.version
            )
        except attachments.UploadRefused as exc:
            editor.errors.setdefault(page_path, []).append(exc.message)
            continue
        _append_id(raw, page_path, attachment.id, editor.row_ids)
        _append_id(editor.values, page_path, attachment.id, editor.row_ids)


def _append_id(
    values: dict[str, Any], page_path: str, attachment_id: int, row_ids: dict[str, list[int]]
) -> None:
    match = _ROW_KEY.match(page_path)
    if match is None:
        values[page_path] = [*(values.get(page_path) or []), str(attachment_id)]
        return
    ids = row_ids.get(match["lines"], [])
    index = int(match["index"])
    rows = values.get(match["lines"]) or []
    if index in ids and ids.index(index) < len(rows):
        row = rows[ids.index(index)]
        row[match["key"]] = [*(row.get(match["key"]) or []), str(attachment_id)]


# ---------------------------------------------------------------- rows


def apply_row_operation(editor: Editor, operation: str) -> tuple[str, str, int | None] | None:
    """``add:lines`` or ``remove:lines:<dom index>``; min/max rows are respected with a message.

    Returns (kind, lines key, DOM index) of what was done, or None when nothing changed.
    """
    parts = operation.split(":")
    lines = editor.form.field(parts[1]) if len(parts) >= 2 else None
    if lines is None or not lines.is_lines or lines.parent is not None:
        return None
    rows = list(editor.values.get(lines.key) or [])
    ids = list(editor.row_ids.get(lines.key) or [])
    low = lines.settings.get("min_rows") or 0
    high = lines.settings.get("max_rows")
    if parts[0] == "add":
        if high is not None and len(rows) >= high:
            editor.messages[lines.key] = _("At most %(n)s rows.", n=high)
            return None
        dom = (max(ids) + 1) if ids else 0
        rows.append(new_row(lines))
        ids.append(dom)
        editor.messages[lines.key] = _("Row %(n)s added.", n=len(rows))
        result = ("add", lines.key, dom)
    elif parts[0] == "remove" and len(parts) == 3 and whole_number(parts[2], 0, MAX_ROW_INDEX) is not None:
        dom = int(parts[2])
        if dom not in ids:
            return None
        if len(rows) <= low:
            editor.messages[lines.key] = _("At least %(n)s rows are needed.", n=low)
            return None
        position = ids.index(dom)
        del rows[position]
        del ids[position]
        editor.messages[lines.key] = _("Row %(n)s removed.", n=position + 1)
        result = ("remove", lines.key, dom)
    else:
        return None
    editor.values[lines.key] = rows
    editor.row_ids[lines.key] = ids
    return result


# ---------------------------------------------------------------- htmx: evaluate, rows, uploads


def _evaluate_response(version: DefinitionVersion, form: FormModel, record: Record | None):
    editor, _raw = _posted_editor(version, form, record)
    if editor.read_errors:
        abort(400, "; ".join(m for messages in editor.read_errors.values() for m in messages))
    operation = request.form.get("_op")
    done = apply_row_operation(editor, operation) if operation else None
    editor.state = evaluate(form, editor.values)
    check_live(editor)
    shown = _parse_state_code(request.form.get("_state", ""))
    trigger = request.headers.get("HX-Trigger-Name")
    changed = []
    for path, flags in conditional_flags(editor).items():
        # Never replace the input being typed in; it keeps its own state until the next change.
        before, now = shown.get(path), flags.code()
        if before != now and path != trigger:
            item = _lookup(editor, path)
            # Still shown and still editable: only the label changes, the input typed in stays.
            item["markings_only"] = before is not None and before[0] == now[0] == "v" and before[2] == now[2]
            changed.append(item)
    load_files(editor)
    row_change = None
    if done is not None:
        row_change = {"kind": done[0], "lines": form.field(done[1]), "dom": done[2]}
    elif operation:
        # Refused (min/max rows): still update the row controls so the message is announced.
        lines = form.field(operation.split(":")[1]) if ":" in operation else None
        if lines is not None and lines.is_lines:
            row_change = {"kind": "refused", "lines": lines, "dom": None}
    return render_template(
        "forms/evaluate.html",
        editor=editor,
        form=form,
        changed=changed,
        row_change=row_change,
    )


def _lookup(editor: Editor, page_path: str) -> dict[str, Any]:
    """What the templates need to render the field instance at a page path again."""
    match = _ROW_KEY.match(page_path)
    field = editor.form.field(page_path)
    if match is None:
        return {"field": field, "lines": None}
    ids = editor.row_ids.get(match["lines"], [])
    compact = ids.index(int(match["index"]))
    row = (editor.values.get(match["lines"]) or [])[compact]
    return {
        "field": field,
        "lines": field.parent if field else None,
        "compact": compact,
        "dom": int(match["index"]),
        "row": row,
    }


def _parse_state_code(code: str) -> dict[str, str]:
    shown = {}
    for item in code.split("|")[:5000]:
        path, _sep, flags = item.partition("=")
        if path:
            shown[path] = flags
    return shown


@forms_bp.post("/forms/<key>/evaluate")
@login_required
def evaluate_new(key: str):
    # The page is evaluated with the version it shows, even if a newer one was published meanwhile.
    version = _rendered_version(key)
    if version is None:
        version, form = _current_form(key)
    else:
        form = store.compiled_form(version)
    return _evaluate_response(version, form, None)


@forms_bp.post("/records/<int:record_id>/evaluate")
@login_required
def evaluate_record(record_id: int):
    record, version, form = _editable_record(record_id)
    if not _can_edit(record):
        abort(409)
    return _evaluate_response(version, form, record)


@forms_bp.post("/forms/<key>/upload")
@login_required
def upload(key: str):
    """One file chosen in an attachment field: store it, answer with the field's updated file list."""
    version, form = _current_form_any_version(key)
    page_path = request.args.get("field", "")
    field = form.field(page_path)
    if field is None or field.type.widget != "file":
        abort(404)
    ids = [str(number) for v in request.form.getlist(page_path) if (number := row_id(v)) is not None]
    error = None
    upload_file = request.files.get(f"_upload.{page_path}")
    if upload_file and upload_file.filename:
        try:
            attachment = attachments.store_upload(
                upload_file, current_user, form.key, field.path, definition=version
            )
            ids.append(str(attachment.id))
        except attachments.UploadRefused as exc:
            error = exc.message
    found: Iterable[Attachment] = (
        db.session.scalars(select(Attachment).where(Attachment.id.in_([int(i) for i in ids]))) if ids else []
    )
    files = [a for a in found if a.owner_id == current_user.id]
    editor = Editor(version, form, {}, {}, None)
    return render_template(
        "forms/upload.html", editor=editor, field=field, path=page_path, files=files, error=error
    )


def _current_form_any_version(key: str) -> tuple[DefinitionVersion, FormModel]:
    """Uploads are checked against the field the page shows: the record's version when given,
    else the version the page was rendered with (``definition``), else the current one."""
    record_id = row_id(request.args.get("record", ""))
    if record_id is not None:
        record = access.get_visible(current_user, record_id)
        if record is None or record.form_key != key:
            abort(404)
        version = record.definition
        return version, store.compiled_form(version)
    definition_id = request.args.get("definition", "")
    if definition_id:
        version = _version_of_form(definition_id, key)
        return version, store.compiled_form(version)
    return _current_form(key)
