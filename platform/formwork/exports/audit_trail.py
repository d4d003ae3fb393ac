"""The audit trail as an administrator may read it: searched, paged, within their scope, with
record values masked as their field rights say, and exported as CSV or an .xlsx workbook.

**Scope.** A full administrator (the ``administrator`` role held without a department) reads
every entry. An administrator whose role is limited to departments reads the entries whose
object lies in those departments or below (``department_id``); entries of no department (a
sign-in under an unknown name, a publish, an export) are for full administrators only.
Anybody else reads nothing (the page and the API answer 404).

**Values.** A record's entry keeps each changed field's value before and after. A full
administrator reads them as stored (as they read every record). A department administrator
reads them as the permission definitions let them read the record itself
(``records.access.rights_by_definitions``, the reader exports use): a hidden field's values are
left out (``"hidden": true``), a masked one's are masked.

Searching is by person (the user name at the time, as typed or in lower case), action (a name,
or its first part with a dot: ``session.``), object (type, and id) and business days; newest
first, a page at a time, keyset on the id (``before``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from flask import Response, current_app, stream_with_context
from flask_babel import gettext as _
from sqlalchemy import Select, select

from .. import business_time
from ..audit import actions, trail
from ..audit.models import AuditEntry
from ..extensions import db, transaction
from ..i18n import current_locale_tag
from ..input_limits import find_nul, row_id
from ..org.models import Department
from ..permissions.masking import as_text
from ..permissions.model import Right
from ..permissions.subject import OrgTree
from ..records import access
from ..records.models import Record
from . import tables
from .records import MEDIA_TYPES, ExportError, _text

ADMINISTRATOR = access.ADMINISTRATOR
MAX_TEXT = 120
MAX_PAGE_SIZE = 200
CHUNK = 1000
OBJECT_TYPES = ("user", "record", "token", "form", "route", "permission")
FORMATS = ("csv", "xlsx")


class AuditQueryError(ExportError):
    """A search the trail cannot answer (422), naming the input at fault."""

    def __init__(self, message: str, name: str):
        super().__init__(422, message)
        self.name = name


@dataclass(frozen=True)
class Scope:
    """What one administrator reads: every entry (``departments`` None) or those of these departments."""

    departments: frozenset[int] | None

    @property
    def everything(self) -> bool:
        return self.departments is None


def _administrator_grants(user: Any) -> list[Any]:
    if user is None or not getattr(user, "is_authenticated", False):
        return []
    return [a for a in user.role_assignments if a.role.key == ADMINISTRATOR]


def reads_trail(user: Any) -> bool:
    """Whether ``user`` reads any of the trail (the menu's question: no department tree is read)."""
    return bool(_administrator_grants(user))


def scope_of(user: Any) -> Scope | None:
    """The administrator's scope; None when ``user`` administers nothing (they read no entry)."""
    held = _administrator_grants(user)
    if not held:
        return None
    if any(a.department_id is None for a in held):
        return Scope(None)
    return Scope(frozenset(OrgTree.load().subtree(a.department_id for a in held)))


@dataclass(frozen=True)
class Query:
    actor: str | None = None
    action: str | None = None
    object_type: str | None = None
    object_id: str | None = None
    since: date | None = None  # business days, both included
    until: date | None = None
    before: int | None = None  # keyset: entries with a smaller id

    def filters(self) -> dict[str, str]:
        """The search as query parameters (for links and the export), the cursor left out."""
        values = {
            "actor": self.actor,
            "action": self.action,
            "object_type": self.object_type,
            "object_id": self.object_id,
            "from": self.since.isoformat() if self.since else None,
            "to": self.until.isoformat() if self.until else None,
        }
        return {key: value for key, value in values.items() if value}


def _text_arg(args: Any, name: str) -> str | None:
    value = args.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise AuditQueryError(_("%(name)s must be text.", name=name), name)
    value = value.strip()
    if find_nul(value) is not None:
        raise AuditQueryError(_("%(name)s must not contain the NUL character.", name=name), name)
    if len(value) > MAX_TEXT:
        raise AuditQueryError(_("%(name)s is too long.", name=name), name)
    return value or None


def _date_arg(args: Any, name: str) -> date | None:
    value = _text_arg(args, name)
    if value is None:
        return None
    try:
        if not value.isascii():
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        raise AuditQueryError(_("%(name)s must be a date like 2026-05-01.", name=name), name) from None


def parse_query(args: Any) -> Query:
    """A search from query parameters (``actor``, ``action``, ``object_type``, ``object_id``, ``from``,
    ``to``, ``before``); ``AuditQueryError`` names the first bad one."""
    before_text = _text_arg(args, "before")
    before = row_id(before_text) if before_text is not None else None
    if before_text is not None and before is None:
        raise AuditQueryError(_("before must be an entry id."), "before")
    query = Query(
        actor=_text_arg(args, "actor"),
        action=_text_arg(args, "action"),
        object_type=_text_arg(args, "object_type"),
        object_id=_text_arg(args, "object_id"),
        since=_date_arg(args, "from"),
        until=_date_arg(args, "to"),
        before=before,
    )
    if query.since and query.until and query.since > query.until:
        raise AuditQueryError(_("The end of the period is before its start."), "to")
    return query


def statement(scope: Scope, query: Query) -> Select:
    """The entries ``query`` finds within ``scope``, newest first."""
    stmt = select(AuditEntry).order_by(AuditEntry.id.desc())
    if scope.departments is not None:
        stmt = stmt.where(AuditEntry.department_id.in_(sorted(scope.departments)))
    if query.actor:
        # User names are stored in lower case; a refused sign-in keeps the name as typed. Both
        # spellings are looked up in the index on (actor_label, id).
        stmt = stmt.where(AuditEntry.actor_label.in_(sorted({query.actor, query.actor.lower()})))
    if query.action:
        if query.action.endswith("."):
            stmt = stmt.where(AuditEntry.action.startswith(query.action, autoescape=True))
        else:
            stmt = stmt.where(AuditEntry.action == query.action)
    if query.object_type:
        stmt = stmt.where(AuditEntry.object_type == query.object_type)
    if query.object_id:
        stmt = stmt.where(AuditEntry.object_id == query.object_id)
    if query.since:
        stmt = stmt.where(AuditEntry.at >= business_time.day_start(query.since))
    if query.until:
        stmt = stmt.where(AuditEntry.at < business_time.day_end(query.until))
    if query.before:
        stmt = stmt.where(AuditEntry.id < query.before)
    return stmt


# ---- reading entries as the viewer may --------------------------------------------------------


@dataclass
class ShownEntry:
    """One entry as the viewer reads it (``details`` redacted for them)."""

    entry: AuditEntry
    details: Any
    department: str | None = None
    masked: bool = False  # some value was masked or left out for this reader

    def as_json(self) -> dict[str, Any]:
        entry = self.entry
        return {
            "id": entry.id,
            "at": business_time.iso_utc(entry.at),
            "actor_id": entry.actor_id,
            "actor": entry.actor_label,
            "address": entry.address,
            "action": entry.action,
            "object_type": entry.object_type,
            "object_id": entry.object_id,
            "department_id": entry.department_id,
            "details": self.details,
            "hash": entry.hash,
        }


@dataclass
class Page:
    entries: list[ShownEntry] = field(default_factory=list)
    next_before: int | None = None  # the cursor of the next (older) page; None on the last one


def page_size() -> int:
    return min(MAX_PAGE_SIZE, int(current_app.config.get("FORMWORK_PAGE_SIZE") or 20))


def search(user: Any, scope: Scope, query: Query, size: int | None = None) -> Page:
    size = size or page_size()
    rows = list(db.session.scalars(statement(scope, query).limit(size + 1)))
    more = len(rows) > size
    rows = rows[:size]
    return Page(shown(user, scope, rows), rows[-1].id if more and rows else None)


def shown(user: Any, scope: Scope, rows: list[AuditEntry]) -> list[ShownEntry]:
    """The entries with their details as ``user`` may read them, and their departments' names."""
    rights = _record_rights(user, scope, rows)
    names = _department_names({row.department_id for row in rows if row.department_id is not None})
    result = []
    for row in rows:
        details = json.loads(row.details) if row.details else None
        item = ShownEntry(row, details, names.get(row.department_id or 0))
        if row.object_type == "record" and row.object_id in rights:
            item.masked = _redact_changes(details, rights[row.object_id])
        result.append(item)
    return result


_HIDDEN = object()  # the record is out of the reader's sight: every value is left out


def _record_rights(user: Any, scope: Scope, rows: list[AuditEntry]) -> dict[str, Any]:
    """Field rights per record id (as text, as ``object_id`` holds it) of the record entries with
    values; nothing for a full administrator."""
    if scope.everything:
        return {}
    ids = {
        int(row.object_id)
        for row in rows
        if row.object_type == "record" and row.object_id and row.object_id.isdigit() and row.details
    }
    if not ids:
        return {}
    records = list(db.session.scalars(select(Record).where(Record.id.in_(sorted(ids)))))
    rights = access.rights_by_definitions(user, records)
    result: dict[str, Any] = {str(i): _HIDDEN for i in ids}  # a record gone: no values shown
    for record in records:
        found = rights.get(record.id)
        result[str(record.id)] = found if found is None or found.visible else _HIDDEN
    return result


def _redact_changes(details: Any, rights: Any) -> bool:
    """Redact ``details["changes"]`` in place for ``rights``; whether anything was masked or left out."""
    if rights is None or not isinstance(details, dict) or not isinstance(details.get("changes"), list):
        return False
    touched = False
    for item in details["changes"]:
        path = item.get("path") if isinstance(item, dict) else None
        if not isinstance(path, str):
            continue
        for side in ("before", "after"):
            if side not in item:
                continue
            value, state = _value_for(rights, path, item[side])
            if state == Right.HIDDEN:
                del item[side]
                item["hidden"] = True
            else:
                item[side] = value
            touched = touched or state != Right.READ
    return touched


def _value_for(rights: Any, path: str, value: Any) -> tuple[Any, Right]:
    if rights is _HIDDEN:
        return None, Right.HIDDEN
    right = rights.right(path)
    if right == Right.HIDDEN:
        return None, Right.HIDDEN
    if "." not in path and "[" not in path:  # a whole field: line items keep their readable columns
        redacted = rights.redact({path: value})
        return redacted.get(path), Right.MASKED if redacted.get(path) != value else Right.READ
    if right == Right.MASKED and value is not None:
        return rights.mask_text(path, as_text(value)), Right.MASKED
    return value, Right.READ


def _department_names(ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    tag = current_locale_tag()
    return {d.id: d.name(tag) for d in db.session.scalars(select(Department).where(Department.id.in_(ids)))}


# ---- export -------------------------------------------------------------------------------------


def action_label(action: str) -> str:
    label = actions.LABELS.get(action)
    return str(label) if label is not None else action


def _columns() -> list[str]:
    return [
        _("ID"),
        _("Time (%(zone)s)", zone=business_time.offset_label()),
        _("Person"),
        _("Address"),
        _("Action"),
        _("Object type"),
        _("Object"),
        _("Department"),
        _("Details"),
        _("Hash"),
    ]


def _row(item: ShownEntry) -> list[Any]:
    entry = item.entry
    local = business_time.local(entry.at)
    return [
        entry.id,
        local.replace(tzinfo=None, microsecond=0) if local else None,
        _text(entry.actor_label),
        entry.address,
        action_label(entry.action),
        entry.object_type,
        _text(entry.object_id),
        _text(item.department),
        _text(json.dumps(item.details, ensure_ascii=False, sort_keys=True))
        if item.details is not None
        else None,
        entry.hash,
    ]


def rows(user: Any, scope: Scope, query: Query) -> Iterator[list[Any]]:
    """Every entry the search finds, newest first, read ``CHUNK`` at a time (keyset on id)."""
    before = query.before
    while True:
        chunk = list(db.session.scalars(statement(scope, replace(query, before=before)).limit(CHUNK)))
        if not chunk:
            return
        for item in shown(user, scope, chunk):
            yield _row(item)
        before = chunk[-1].id


def csv_chunks(user: Any, scope: Scope, query: Query) -> Iterator[str]:
    return tables.csv_chunks(_columns(), rows(user, scope, query), CHUNK)


def xlsx_bytes(user: Any, scope: Scope, query: Query) -> bytes:
    return tables.workbook(_("Audit trail"), _columns(), rows(user, scope, query))


def response(user: Any, scope: Scope, query: Query, fmt: str) -> Response:
    """The download, itself an entry in the trail (who exported which search), committed before the
    first byte; CSV streamed, the workbook whole (``ExportError`` for an unknown format, too many rows)."""
    if fmt not in FORMATS:
        raise ExportError(422, _("Export as csv or xlsx."))
    body: Any = xlsx_bytes(user, scope, query) if fmt == "xlsx" else None
    with transaction():
        trail.append(actions.AUDIT_EXPORT, actor=user, details={"format": fmt, "filters": query.filters()})
    if body is None:
        body = stream_with_context(csv_chunks(user, scope, query))
    answer = Response(body, content_type=MEDIA_TYPES[fmt])
    stem = f"audit-{business_time.local_now():%Y%m%d-%H%M}"
    answer.headers["Content-Disposition"] = f'attachment; filename="{stem}.{fmt}"'
    answer.headers["Cache-Control"] = "no-store"
    return answer
