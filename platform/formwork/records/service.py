"""Creating and editing records: validate with the record's own definition version, then store.

The steps run in the caller's transaction; ``workflow.submission`` composes them with the start
of the route, so every write is one transaction: the record, its events and the claiming of its
attachments are committed together or not at all. A creation attempt may carry
a ``client_token``; sending the same token again (a double click, a retried
request, two threads racing) returns the first record instead of making a
second — the unique constraint on (owner, client_token) is the guarantee, the
lookup before inserting only saves work. The token is bound to the request that first carried
it (``request_digest``, a hash of method, form and body): the same token with another request
is refused (``TokenReused``, 422), never answered with a record the client did not ask for.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import dataclass
from typing import Any, Mapping

from flask_babel import gettext as _
from sqlalchemy import insert, select, update

from ..audit import actions, trail
from ..db_types import utcnow
from ..definitions import store
from ..definitions.models import DefinitionVersion
from ..extensions import db, rows_affected, transaction
from ..forms import catalogue
from ..forms.model import FormModel
from ..forms.state import context_for
from ..forms.validation import validate
from ..i18n import localized
from ..input_limits import one_line
from . import access
from .models import DRAFT, EDITABLE_STATUSES, SUBMITTED, Attachment, Record, RecordEvent
from .numbering import assign_voucher_number

log = logging.getLogger(__name__)

#: The history event of a write refused by the field rights: ``{"fields": [paths]}``, never values.
WRITE_REFUSED = "write_refused"

MAX_TITLE = 300
MAX_SEARCH_TEXT = 20000


class RecordError(Exception):
    """Base of the service's refusals; ``message`` is safe to show."""

    status = 400

    def __init__(self, message: str):
        self.message = message
        super().__init__(message)


class FormNotFound(RecordError):
    status = 404


class NotAllowed(RecordError):
    status = 403


class NotEditable(RecordError):
    status = 409


class ConflictError(RecordError):
    """Someone else changed the record since it was read (optimistic locking)."""

    status = 409


class TokenReused(RecordError):
    """The client token (Idempotency-Key) was first sent with another request."""

    status = 422


class ValidationFailed(RecordError):
    """The submission has errors: ``errors`` is ``[{"field": ..., "message": ...}]``."""

    status = 422

    def __init__(self, errors: list[dict[str, str]]):
        self.errors = errors
        super().__init__("; ".join(f"{e['field']}: {e['message']}" for e in errors[:5]))


class WriteRefused(ValidationFailed):
    """The request changes fields the person may not write on this record now (hidden, masked or
    read-only for them): nothing is stored. ``paths`` are the refused field paths."""

    def __init__(self, paths: list[str]):
        self.paths = paths
        super().__init__([{"field": path, "message": _("you may not change this field")} for path in paths])


# --- helpers -----------------------------------------------------------------------------------


def form_for_record(record: Record) -> FormModel:
    """The compiled form of the version the record was created with (never the current one)."""
    return catalogue.compiled_form(record.definition)


def _title(form: FormModel, data: Mapping[str, Any]) -> str | None:
    if not form.title_field:
        return None
    value = data.get(form.title_field)
    if value is None:
        return None
    field = form.field(form.title_field)
    options = field.settings.get("options") if field is not None else None
    if options and isinstance(value, str) and value in options:
        value = localized(options[value], "en")
    text = value if isinstance(value, str) else str(value)
    # The title field may be long text: a title is shown, and mailed, as one line.
    return one_line(text)[:MAX_TITLE]


def _search_text(form: FormModel, data: Mapping[str, Any]) -> str | None:
    """Every text value of the record (including line items), for the "my records" search."""
    parts: list[str] = []
    for field in form.fields:
        value = data.get(field.key)
        if value is None:
            continue
        if field.is_lines:
            for row in value:
                parts.extend(
                    row[sub.key]
                    for sub in field.fields
                    if sub.type.name in ("text", "long_text") and row.get(sub.key)
                )
        elif field.type.name in ("text", "long_text"):
            parts.append(value)
    text = "\n".join(parts)
    return text[:MAX_SEARCH_TEXT] or None


def changed_paths(form: FormModel, before: Mapping[str, Any] | None, after: Mapping[str, Any]) -> list[str]:
    """Field paths whose stored value differs: ``reason``, ``lines[1].amount``, ``lines`` (rows added or
    removed).
    """
    before = before or {}
    changed: list[str] = []
    for field in form.fields:
        old, new = before.get(field.key), after.get(field.key)
        if old == new:
            continue
        if field.is_lines and isinstance(old, list) and isinstance(new, list):
            if len(old) != len(new):
                changed.append(field.key)
            for index in range(min(len(old), len(new))):
                for sub in field.fields:
                    if old[index].get(sub.key) != new[index].get(sub.key):
                        changed.append(f"{field.key}[{index}].{sub.key}")
        else:
            changed.append(field.key)
    return changed


_STEP = re.compile(r"([^.\[]+)(?:\[(\d+)\])?")


def value_at(data: Mapping[str, Any] | None, path: str) -> Any:
    """The stored value at a field path of ``changed_paths`` (``reason``, ``lines[1].amount``), or None."""
    value: Any = data or {}
    for step in path.split("."):
        match = _STEP.fullmatch(step)
        if match is None or not isinstance(value, Mapping):
            return None
        value = value.get(match.group(1))
        if match.group(2) is not None:
            index = int(match.group(2))
            value = value[index] if isinstance(value, list) and index < len(value) else None
    return value


def _audit(action: str, record: Record, user: Any, changes: list[dict[str, Any]]) -> None:
    """The audit trail's entry of a write: each changed field path with its value before and after
    (shown masked to readers whose field rights mask it)."""
    trail.append(
        action,
        actor=user,
        object_type="record",
        object_id=record.id,
        department_id=record.department_id,
        details={"form": record.form_key, "status": record.status, "changes": changes},
    )


def _attachment_ids(form: FormModel, data: Mapping[str, Any]) -> list[int]:
    ids: list[int] = []
    for field in form.fields:
        value = data.get(field.key)
        if value is None:
            continue
        if field.type.name == "attachment":
            ids.extend(value)
        elif field.is_lines:
            for sub in field.fields:
                if sub.type.name == "attachment":
                    for row in value:
                        ids.extend(row.get(sub.key) or ())
    return ids


def _claim_attachments(record: Record, form: FormModel, data: Mapping[str, Any], user: Any) -> None:
    """Attach the referenced uploads to the record; a file claimed meanwhile by another record fails."""
    ids = sorted(set(_attachment_ids(form, data)))
    if not ids:
        return
    claimed = rows_affected(
        update(Attachment)
        .where(
            Attachment.id.in_(ids),
            Attachment.owner_id == user.id,
            (Attachment.record_id.is_(None)) | (Attachment.record_id == record.id),
        )
        .values(record_id=record.id)
        .execution_options(synchronize_session=False)
    )
    if claimed != len(ids):
        raise ValidationFailed(
            [{"field": "", "message": "an attached file is no longer available; upload it again"}]
        )


def _write_events(record: Record, user: Any, *events: tuple[str, dict | None]) -> None:
    """Append history rows in one executemany: nothing reads them back, so per-object ORM work is waste."""
    now = utcnow()
    db.session.execute(
        insert(RecordEvent),
        [
            {"record_id": record.id, "actor_id": user.id, "action": action, "changes": changes, "at": now}
            for action, changes in events
        ],
    )


def _refused(rights: Any, changed: list[str]) -> list[str]:
    """The changed paths ``rights`` (``records.access``; None: all writable) does not let be written."""
    return [] if rights is None or not changed else list(rights.refused_writes(changed))


def record_refusal(record: Record, user: Any, paths: list[str]) -> None:
    """Keep a refused write in the record's history, in a transaction of its own (nothing else is saved):
    who tried and which field paths, never the values sent."""
    with transaction():
        _write_events(record, user, (WRITE_REFUSED, {"fields": list(paths)}))
    log.warning("write refused: user %s on record %s sent %s", user.id, record.id, ", ".join(paths))


def find_by_token(user: Any, client_token: str, request_digest: str | None = None) -> Record | None:
    """The record this token made, when the request is the same one again; ``TokenReused`` when the
    token came with another request (a record made without a digest matches any request)."""
    record = db.session.scalar(
        select(Record).where(Record.owner_id == user.id, Record.client_token == client_token)
    )
    if (
        record is not None
        and request_digest is not None
        and record.request_digest is not None
        and record.request_digest != request_digest
    ):
        raise TokenReused(
            _(
                "This client token (Idempotency-Key) was already used for a different request; "
                "send a new token for a new record."
            )
        )
    return record


# --- public: the steps a submission is made of (``workflow.submission`` composes them) ------------


def request_digest(method: str, form_key: str, body: Any) -> str:
    """The fingerprint a client token is bound to: SHA-256 of the method, the form and the body
    (canonical JSON: sorted keys, decimals as written)."""
    canonical = json.dumps(
        {"method": method.upper(), "form": form_key, "body": body},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        default=str,
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass
class NewRecord:
    """A validated record not yet stored, with the form and version it was validated with."""

    record: Record
    form: FormModel
    version: DefinitionVersion


@dataclass
class Edit:
    """Validated new values for a stored record, not yet written."""

    record: Record
    form: FormModel
    data: dict[str, Any]
    changed: list[str]
    submit: bool


def prepare_new(
    form_key: str,
    raw: Any,
    user: Any,
    *,
    submit: bool,
    client_token: str | None = None,
    definition: DefinitionVersion | None = None,
    json_input: bool = False,
    request_digest: str | None = None,
) -> NewRecord:
    """Validate ``raw`` with the current published version of ``form_key`` (a draft unless ``submit``).

    Raises ``FormNotFound``, ``WriteRefused`` (a field the creator may not write, see
    ``access.rights_for_new``), ``ValidationFailed``; writes nothing. ``definition`` is the current
    version when the caller has just looked it up (saves a query); it must be of ``form_key``.
    ``json_input`` types values strictly by their JSON type (the API); without it they are
    read as a browser posts them.
    """
    version = definition if definition is not None else store.current("form", form_key)
    if version is None or version.kind != "form" or version.key != form_key:
        raise FormNotFound(_('There is no published form "%(form)s".', form=form_key))
    form = catalogue.compiled_form(version)
    result = validate(
        form,
        raw,
        previous=None,
        mode="submit" if submit else "draft",
        context=context_for(user),
        json_input=json_input,
    )
    refused = _refused(access.rights_for_new(user, version), result.changed)
    if refused:
        # No record exists to hold the event: the application log keeps the attempt (paths only).
        log.warning(
            "write refused: user %s creating a record of form %s (version %s) sent %s",
            user.id,
            form_key,
            version.version,
            ", ".join(refused),
        )
        raise WriteRefused(refused)
    if result.errors:
        raise ValidationFailed(result.errors)
    now = utcnow()
    record = Record(
        form_key=form_key,
        definition_id=version.id,
        form_version=version.version,
        data=result.data,
        status=SUBMITTED if submit else DRAFT,
        title=_title(form, result.data),
        search_text=_search_text(form, result.data),
        owner_id=user.id,
        department_id=user.department_id,
        client_token=client_token,
        request_digest=request_digest if client_token is not None else None,
        created_at=now,
        updated_at=now,
        submitted_at=now if submit else None,
    )
    return NewRecord(record, form, version)


def insert_new(new: NewRecord, user: Any) -> Record:
    """Store a prepared record with its history and its attachments, in the caller's transaction."""
    record = new.record
    submit = record.status == SUBMITTED
    if submit:
        # Numbered before the INSERT, so the number goes in with the row instead of an UPDATE after it.
        assign_voucher_number(record, new.version.content, record.created_at)
    db.session.add(record)
    db.session.flush()
    events: list[tuple[str, dict | None]] = [("created", {"fields": sorted(record.data)})]
    if submit:
        events.append(("submitted", None))
    _write_events(record, user, *events)
    _claim_attachments(record, new.form, record.data, user)
    changes = [{"path": key, "after": value} for key, value in sorted(record.data.items())]
    _audit(actions.RECORD_CREATE, record, user, changes)
    return record


def create_draft(
    form_key: str,
    raw: Any,
    user: Any,
    *,
    definition: DefinitionVersion | None = None,
    json_input: bool = False,
) -> Record:
    """Store a new draft (nothing to route) in its own transaction. Raises as ``prepare_new``."""
    new = prepare_new(form_key, raw, user, submit=False, definition=definition, json_input=json_input)
    with transaction():
        return insert_new(new, user)


def prepare_edit(
    record: Record,
    raw: Any,
    user: Any,
    *,
    submit: bool,
    lock_version: int | None = None,
    json_input: bool = False,
) -> Edit:
    """Validate an edit of a draft or returned record (owner only) with the record's own version.

    ``lock_version``, when given, is the version the editor saw; a different current
    version raises ``ConflictError``. Raises ``NotAllowed``, ``NotEditable``, ``ValidationFailed``;
    writes nothing — but for ``WriteRefused`` (a changed field the person may not write on the
    record in its state), which writes the ``write_refused`` event and nothing else.
    """
    if record.owner_id != user.id:
        raise NotAllowed(_("Only the owner can edit this record."))
    if record.status not in EDITABLE_STATUSES:
        raise NotEditable(_("Only drafts and returned records can be edited."))
    if lock_version is not None and lock_version != record.lock_version:
        raise ConflictError(_("The record was changed by someone else; reload the page and try again."))
    form = form_for_record(record)
    previous = record.data or {}
    result = validate(
        form,
        raw,
        previous=previous,
        mode="submit" if submit else "draft",
        context=context_for(user),
        record_id=record.id,
        json_input=json_input,
    )
    refused = _refused(access.rights_of(user, record), result.changed)
    if refused:
        record_refusal(record, user, refused)
        raise WriteRefused(refused)
    if result.errors:
        raise ValidationFailed(result.errors)
    return Edit(record, form, result.data, changed_paths(form, previous, result.data), submit)


def apply_edit(edit: Edit, user: Any) -> Record:
    """Write a prepared edit in the caller's transaction; a concurrent write raises ``StaleDataError``
    at the flush here, before any event is written."""
    record, data = edit.record, edit.data
    before = record.data or {}
    now = utcnow()
    record.data = data
    record.title = _title(edit.form, data)
    record.search_text = _search_text(edit.form, data)
    record.updated_at = now
    if edit.submit:
        record.status = SUBMITTED
        record.submitted_at = now
        assign_voucher_number(record, record.definition.content, now)
    _claim_attachments(record, edit.form, data, user)
    events: list[tuple[str, dict | None]] = []
    if edit.changed:
        events.append(("updated", {"fields": edit.changed}))
    if edit.submit:
        events.append(("submitted", None))
    db.session.flush()  # the record's version check happens here, before any event is written
    if events:
        _write_events(record, user, *events)
    if edit.changed or edit.submit:
        changes = [
            {"path": p, "before": value_at(before, p), "after": value_at(data, p)} for p in edit.changed
        ]
        _audit(actions.RECORD_CHANGE, record, user, changes)
    return record
