"""Reading records, for the pages and the API alike: the caller's records filtered, searched and
paged; a record's change events; what showing a record needs (its evaluated state and the names
its fields refer to); and the titles of the forms.

Every lookup starts from ``records.access``, so data scopes apply wherever a record is read.
"""

from __future__ import annotations

from typing import Any

from flask import g
from sqlalchemy import ColumnElement, Select, and_, func, or_, select

from ..definitions import store
from ..extensions import db
from ..forms import catalogue
from ..forms.model import schema_path
from ..forms.state import context_for, evaluate_state
from ..forms.validation import runtime_values
from ..i18n import current_locale_tag
from ..input_limits import row_id
from ..org.models import Department, User
from . import access
from .models import Attachment, Record, RecordEvent


def form_titles() -> dict[str, str]:
    """Form key → title of its current version in the interface language (also for unavailable
    forms), looked up once per request."""
    cached = g.get("_form_titles")
    if cached is None:
        tag = current_locale_tag()
        cached = g._form_titles = {v.key: catalogue.form_title(v, tag) for v in store.list_current("form")}
    return cached


def text_matches(q: str) -> ColumnElement[bool]:
    """A record whose title or searchable text contains ``q``, ignoring case; LIKE wildcards in ``q``
    are literal, so a search for "100%" means the text, not a pattern.

    The searchable text of a form with hidden or masked fields is not searched, only its title
    (``records.access.unsearchable_forms``): a value one may not see must not be findable."""
    in_text = Record.search_text.icontains(q, autoescape=True)
    unsearchable = access.unsearchable_forms()
    if unsearchable:
        in_text = and_(Record.form_key.not_in(unsearchable), in_text)
    return or_(Record.title.icontains(q, autoescape=True), in_text)


def records_matching(user: Any, form_key: str | None, status: str | None, q: str | None) -> Select:
    """The records ``user`` may see, filtered by form, status and text (order and page it after)."""
    stmt = access.visible_records(user)
    if form_key:
        stmt = stmt.where(Record.form_key == form_key)
    if status:
        stmt = stmt.where(Record.status == status)
    if q:
        stmt = stmt.where(text_matches(q))
    return stmt


def newest_page(stmt: Select, page: int, per_page: int) -> tuple[list[Record], int]:
    """One page of the records of ``stmt``, newest first, and how many there are in all."""
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    items = db.session.scalars(
        stmt.order_by(Record.created_at.desc(), Record.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return list(items), int(total or 0)


def events_of(record: Record, user: Any = None) -> list[RecordEvent]:
    """The record's changes (creation, edits, submission), oldest first.

    Given the reader, the fields they may not see are left out of each change (its field
    list, and any old/new values, which are masked for masked fields); the stored events
    are not touched (they are detached copies)."""
    events = list(
        db.session.scalars(
            select(RecordEvent)
            .where(RecordEvent.record_id == record.id)
            .order_by(RecordEvent.at, RecordEvent.id)
        )
    )
    rights = access.rights_of(user, record) if user is not None else None
    if rights is None:
        return events
    return [_redacted_event(event, rights) for event in events]


def _redacted_event(event: RecordEvent, rights: Any) -> RecordEvent:
    changes = event.changes
    if not isinstance(changes, dict):
        return event
    hidden = set(rights.hidden())
    shown: dict[str, Any] = {}
    for key, value in changes.items():
        if key == "fields" and isinstance(value, list):
            shown[key] = [f for f in value if not (isinstance(f, str) and _hides(hidden, f))]
        elif key in ("old", "new", "values") and isinstance(value, dict):
            shown[key] = rights.redact(value)
        else:
            shown[key] = value
    # A transient copy (never added to the session): the stored event stays as it was.
    copy = RecordEvent(
        id=event.id,
        record_id=event.record_id,
        actor_id=event.actor_id,
        action=event.action,
        changes=shown,
        comment=event.comment,
        at=event.at,
    )
    copy.actor = event.actor
    return copy


def _hides(hidden: set[str], path: str) -> bool:
    """A change at ``path`` is left out when its field, or its line-items field, is hidden."""
    return _top(path) in hidden or schema_path(path) in hidden


def _top(path: str) -> str:
    """``lines[2].amount`` → ``lines``: a hidden line-items field hides its columns' changes."""
    return path.split("[", 1)[0].split(".", 1)[0]


def referenced_names(form: Any, data: dict[str, Any]) -> dict[str, dict[int, str]]:
    """Display names of the users and departments a record's fields refer to, in two queries."""
    wanted: dict[str, set[int]] = {"user": set(), "department": set()}
    for field in form.fields:
        fields = field.fields if field.is_lines else [field]
        rows = (data.get(field.key) or []) if field.is_lines else [data]
        for sub in fields:
            if sub.type.widget in wanted:
                for row in rows:
                    found = row_id(row.get(sub.key))
                    if found is not None:
                        wanted[sub.type.widget].add(found)
    tag = current_locale_tag()
    names: dict[str, dict[int, str]] = {"user": {}, "department": {}}
    if wanted["user"]:
        names["user"] = {
            u.id: u.display_name for u in db.session.scalars(select(User).where(User.id.in_(wanted["user"])))
        }
    if wanted["department"]:
        names["department"] = {
            d.id: d.name(tag)
            for d in db.session.scalars(select(Department).where(Department.id.in_(wanted["department"])))
        }
    return names


def record_display(record: Record, user: Any = None) -> dict[str, Any]:
    """What showing a record read-only needs: its form, data, state, the names and files it refers to.

    Visibility and computed values come from the same evaluator as the form page, as the
    submitter saw them (the record's own state, not the reader's)."""
    form = catalogue.compiled_form(record.definition)
    data = record.data or {}
    state = evaluate_state(form, runtime_values(form, data), context=context_for(record.owner))
    files = {a.id: a for a in db.session.scalars(select(Attachment).where(Attachment.record_id == record.id))}
    rights = access.rights_of(user, record) if user is not None else None
    if rights is not None:  # the reader's field rights: hidden fields absent, masked ones masked
        data = rights.redact(data)
        hidden = set(rights.hidden())
        state.computed = {k: v for k, v in state.computed.items() if k not in hidden}
        files = {i: a for i, a in files.items() if _top(a.field_path) not in hidden}
    return {
        "record": record,
        "form": form,
        "data": data,
        "state": state,
        "names": referenced_names(form, data),
        "files": files,
    }
