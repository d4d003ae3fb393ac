"""Submission: save a record (a draft, or submitted onto its approval route) in one transaction.

The workflow owns it because submitting is where a record meets its route: the record's
storage (``records.service``) sits below and knows nothing of routes. A save is one
transaction — the record, its events, the claiming of its attachments, its voucher number and
the start of the route are committed together or not at all. A creation attempt may carry a
``client_token``: sending it again (a double click, a retried request, two threads racing)
returns the first record; the unique constraint on (owner, client_token) is the guarantee.
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from ..definitions.models import DefinitionVersion
from ..extensions import transaction
from ..records import service as records
from ..records.models import Record
from .errors import WorkflowError
from .models import Process
from .read_policy import note_new_record
from .service import start

__all__ = ["create_record", "create_record_once", "update_record"]


def _start(record: Record, user: Any, *, new: bool = False) -> Process | None:
    """Put a submitted record on its approval route in this same transaction (no route: it stays submitted).

    ``new``: the record was created in this transaction (no earlier process can exist)."""
    try:
        return start(record, user, new=new)
    except WorkflowError as exc:
        raise records.ValidationFailed([{"field": "", "message": exc.message}]) from None


def create_record(
    form_key: str,
    raw: Any,
    user: Any,
    *,
    submit: bool,
    client_token: str | None = None,
    definition: DefinitionVersion | None = None,
    json_input: bool = False,
    request_digest: str | None = None,
) -> Record:
    """Create a record of the current published version of ``form_key`` (a draft unless ``submit``).

    Raises ``FormNotFound``, ``ValidationFailed`` (also when the route cannot start). With
    ``client_token``, a repeated call (even a concurrent one) returns the first record.
    ``definition`` and ``json_input`` as in ``records.service.prepare_new``.
    """
    return create_record_once(
        form_key,
        raw,
        user,
        submit=submit,
        client_token=client_token,
        definition=definition,
        json_input=json_input,
        request_digest=request_digest,
    )[0]


def create_record_once(
    form_key: str,
    raw: Any,
    user: Any,
    *,
    submit: bool,
    client_token: str | None = None,
    definition: DefinitionVersion | None = None,
    json_input: bool = False,
    request_digest: str | None = None,
) -> tuple[Record, bool]:
    """As ``create_record``, with whether this call made the record (False: the token's earlier record).

    ``request_digest`` binds ``client_token`` to the request (``records.service.request_digest``):
    the token sent again with another request raises ``TokenReused``, even when two race."""
    if client_token is not None:
        existing = records.find_by_token(user, client_token, request_digest)
        if existing is not None:
            return existing, False
    new = records.prepare_new(
        form_key,
        raw,
        user,
        submit=submit,
        client_token=client_token,
        definition=definition,
        json_input=json_input,
        request_digest=request_digest,
    )
    try:
        with transaction():
            record = records.insert_new(new, user)
            if not submit or _start(record, user, new=True) is None:
                note_new_record(record, [], set())  # no route: nobody has a task on it or was told
    except IntegrityError:
        if client_token is not None:
            # Another request with the same token won the race: the same submission (or a refusal).
            existing = records.find_by_token(user, client_token, request_digest)
            if existing is not None:
                return existing, False
        raise
    return record, True


def update_record(
    record: Record,
    raw: Any,
    user: Any,
    *,
    submit: bool,
    lock_version: int | None = None,
    json_input: bool = False,
) -> Record:
    """Edit a draft or returned record (owner only), validated with the record's own version; with
    ``submit`` it goes on its route (a returned one continues its process). Commits.

    ``lock_version``, when given, is the version the editor saw; a different current
    version (or a concurrent write detected at commit) raises ``ConflictError``.
    Raises ``NotAllowed``, ``NotEditable``, ``ValidationFailed``, ``ConflictError``.
    """
    edit = records.prepare_edit(
        record, raw, user, submit=submit, lock_version=lock_version, json_input=json_input
    )
    try:
        with transaction():
            records.apply_edit(edit, user)
            if submit:
                _start(record, user)
    except StaleDataError:
        raise records.ConflictError(
            _("The record was changed by someone else; reload the page and try again.")
        ) from None
    return record
