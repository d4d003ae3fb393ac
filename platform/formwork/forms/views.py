"""The generic form renderer: any published form as an HTML page, enhanced with htmx.

One page serves both a new record (``/forms/<key>/new``) and a draft being edited
(``/records/<id>/edit``). Without JavaScript it is a plain form: saving, submitting,
adding and removing line-item rows are ordinary posts that re-render the page. With
htmx, typing posts the form to ``.../evaluate``, where the server runs
``state.evaluate_state`` — the same evaluator validation uses — and answers with
out-of-band swaps of the computed outputs, messages and markings only (evaluate.html), so
an answer however late never replaces an input the person can type in.

The pages and their routes are here; what they are built from lives beside them: the page's
state (editor.py), numbers that will not validate (live_numbers.py), reading a post
(posted.py), row operations (rows.py) and the error summary (summary.py).

Input names are field paths (``reason``, ``lines[2].amount``); names starting with
``_`` are the renderer's own (``_rows.lines`` lists a table's rows in page order,
``_state`` the condition flags the page currently shows, ``_client_token`` makes a
double click create one record).
"""

from __future__ import annotations

import secrets
from typing import Any, Iterable

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from ..definitions import store
from ..definitions.models import DefinitionVersion
from ..extensions import db
from ..i18n import current_locale_tag, localized
from ..input_limits import MAX_ROW_ID, row_id, whole_number
from ..org.errors import api_error, is_api_request
from ..permissions.access import may_create
from ..records import access, attachments, service
from ..records.models import EDITABLE_STATUSES, Attachment, Record
from ..workflow import submission
from . import catalogue
from .editor import ROW_KEY, Editor, conditional_flags, dom_id, evaluate, initial_values, load_files
from .live_numbers import check_live
from .locked_fields import keep_stored_values
from .model import FormModel
from .posted import read_post
from .rows import apply_row_operation
from .summary import summarise

__all__ = ["available_forms", "dom_id", "forms_bp", "unavailable_response"]

forms_bp = Blueprint("forms", __name__)

# ---------------------------------------------------------------- loading


def _current_form(key: str) -> tuple[DefinitionVersion, FormModel]:
    version = store.current("form", key)
    if version is None:
        abort(404)
    return version, catalogue.compiled_form(version)


def _editable_record(record_id: int) -> tuple[Record, DefinitionVersion, FormModel]:
    record = access.get_visible(current_user, record_id)
    if record is None:
        abort(404)  # another user's record looks exactly like a missing one
    version = record.definition
    return record, version, catalogue.compiled_form(version)


def _can_edit(record: Record) -> bool:
    return record.owner_id == current_user.id and record.status in EDITABLE_STATUSES


# ---------------------------------------------------------------- rendering


def render_editor(editor: Editor, status: int = 200):
    load_files(editor)
    if editor.state is not None:
        check_live(editor)
    return render_template("forms/edit.html", editor=editor, form=editor.form), status


# ---------------------------------------------------------------- views: list and pages


@forms_bp.get("/forms")
@login_required
def index():
    return render_template("forms/index.html", forms=available_forms())


def available_forms() -> list[dict[str, Any]]:
    """The published forms a user may start (``create`` operation right), for the list and the
    home page.

    A form whose current version cannot be compiled here (a plugin it needs is not
    loaded) is listed with ``unavailable`` set to the reason instead of breaking the page.
    """
    items = []
    tag = current_locale_tag()
    for version in store.list_current("form"):
        if not may_create(current_user, version.key):
            continue
        _form, problem = catalogue.form_or_unavailable(version)
        items.append(
            {
                "key": version.key,
                "title": catalogue.form_title(version, tag),
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


def _may_create_or_403(key: str) -> None:
    if not may_create(current_user, key):
        abort(403, _("You may not create records of this form."))


def unavailable_response(exc: catalogue.FormUnavailable):
    """503 for a form that cannot be compiled here: a JSON error under /api, an error page elsewhere."""
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
    _may_create_or_403(key)
    rights = access.rights_for_new(current_user, version)
    values = initial_values(form, None)
    prefill(form, values, current_user, rights)
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
        rights=rights,
    )
    return render_editor(editor)


def prefill(form: FormModel, values: dict[str, Any], user: Any, rights: Any = None) -> None:
    """Top-level fields a new request starts filled in (``prefill`` in the definition): the value of
    the person's latest request of this form, or their own department — only fields they may write
    (``rights``), since the server would refuse the value anyway."""
    wanted = [
        field
        for field in form.fields
        if field.spec.get("prefill")
        and not field.is_computed
        and (rights is None or rights.right(field.path).word == "write")
    ]
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
    _may_create_or_403(key)
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
    raw, row_ids = read_post(catalogue.compiled_form(rendered), request.form, read_errors)
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
        rights=_rights(version, record),
    )
    keep_stored_values(editor, record.data if record is not None else None)
    _store_uploads(editor, raw)
    editor.state = evaluate(form, editor.values)
    summarise(editor, _read_refusals(read_errors, form))
    return render_editor(editor, 200 if request.headers.get("HX-Request") else 409)


@forms_bp.get("/records/<int:record_id>/edit")
@login_required
def edit_record(record_id: int):
    record, version, form = _editable_record(record_id)
    if not _can_edit(record):
        return redirect(url_for("records.detail", record_id=record.id))
    values = initial_values(form, record.data)
    row_ids = {f.key: list(range(len(values.get(f.key) or []))) for f in form.fields if f.is_lines}
    editor = Editor(
        version, form, values, row_ids, evaluate(form, values), record=record, rights=_rights(version, record)
    )
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
        rights=_rights(version, record),
    )
    keep_stored_values(editor, record.data if record is not None else None)
    return editor, raw


def _rights(version: DefinitionVersion, record: Record | None) -> Any:
    """The person's field rights on the record the page edits (or the one it would create)."""
    if record is None:
        return access.rights_for_new(current_user, version)
    return access.rights_of(current_user, record)


def _save(version: DefinitionVersion, form: FormModel, record: Record | None):
    editor, raw = _posted_editor(version, form, record)
    if editor.read_errors:
        # The page sent more than the form allows: say so per field, store nothing.
        editor.state = evaluate(form, editor.values)
        summarise(editor, _read_refusals(editor.read_errors, form))
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
            saved = submission.create_record(
                form.key,
                raw,
                current_user,
                submit=submit,
                client_token=editor.client_token or None,
                definition=version,
                request_digest=service.request_digest("POST", form.key, _posted_fields()),
            )
        else:
            saved = submission.update_record(
                record, raw, current_user, submit=submit, lock_version=_posted_lock_version()
            )
    except service.ValidationFailed as exc:
        db.session.rollback()
        editor.state = evaluate(form, editor.values)
        # Rows are shown again in compact order, so error paths and page paths agree.
        editor.row_ids = {k: list(range(len(ids))) for k, ids in editor.row_ids.items()}
        summarise(editor, exc.errors)
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
    match = ROW_KEY.match(page_path)
    if match is None:
        values[page_path] = [*(values.get(page_path) or []), str(attachment_id)]
        return
    ids = row_ids.get(match["lines"], [])
    index = int(match["index"])
    rows = values.get(match["lines"]) or []
    if index in ids and ids.index(index) < len(rows):
        row = rows[ids.index(index)]
        row[match["key"]] = [*(row.get(match["key"]) or []), str(attachment_id)]


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
    match = ROW_KEY.match(page_path)
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
    _may_create_or_403(key)
    # The page is evaluated with the version it shows, even if a newer one was published meanwhile.
    version = _rendered_version(key)
    if version is None:
        version, form = _current_form(key)
    else:
        form = catalogue.compiled_form(version)
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
    if row_id(request.args.get("record", "")) is None:  # a file for a record not created yet
        _may_create_or_403(key)
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
        return version, catalogue.compiled_form(version)
    definition_id = request.args.get("definition", "")
    if definition_id:
        version = _version_of_form(definition_id, key)
        return version, catalogue.compiled_form(version)
    return _current_form(key)
