"""The permission review report for an administrator: the people in their scope, filtered and paged,
and the same search exported as CSV or an .xlsx workbook (the export itself audited).

Scope: a full administrator reviews everybody; a delegated administrator (the administrator role
held for a department) the people of that department and below; anyone else nothing (404). A
person named in ``user=`` outside the scope is answered like one who does not exist (404).
The lines themselves are ``permissions.review``'s.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from flask import Response, stream_with_context
from flask_babel import gettext as _
from sqlalchemy import Select, func, or_, select

from .. import business_time
from ..audit import actions, trail
from ..extensions import db, transaction
from ..i18n import current_locale_tag
from ..input_limits import find_nul, row_id
from ..org.admin_scope import AdminScope
from ..org.models import User
from ..permissions import duties, review
from . import tables
from .records import MEDIA_TYPES, ExportError, _text

FORMATS = ("csv", "xlsx")
MAX_TEXT = 120
PER_PAGE = 20
CHUNK = 200  # people per batch of an export (their assignments in one statement)


class ReviewQueryError(ExportError):
    def __init__(self, message: str, name: str):
        super().__init__(422, message)
        self.name = name


class NotInScope(Exception):
    """The person asked for is outside the administrator's scope (or does not exist): 404."""


@dataclass(frozen=True)
class Query:
    form: str | None = None
    user: int | None = None
    q: str | None = None  # name search
    operation: str | None = None
    page: int = 1

    def filters(self) -> dict[str, str]:
        values = {
            "form": self.form,
            "user": str(self.user) if self.user else None,
            "q": self.q,
            "operation": self.operation,
        }
        return {key: value for key, value in values.items() if value}


def _text_arg(args: Any, name: str) -> str | None:
    value = args.get(name)
    if value is None:
        return None
    value = str(value).strip()
    if find_nul(value) is not None:
        raise ReviewQueryError(_("%(name)s must not contain the NUL character.", name=name), name)
    if len(value) > MAX_TEXT:
        raise ReviewQueryError(_("%(name)s is too long.", name=name), name)
    return value or None


def parse_query(args: Any) -> Query:
    """The report's filters from query parameters; ``ReviewQueryError`` names the first bad one."""
    form = _text_arg(args, "form")
    if form is not None and form not in review.published_forms():
        raise ReviewQueryError(_("There is no published form %(form)s.", form=form), "form")
    user_text = _text_arg(args, "user")
    user = row_id(user_text) if user_text is not None else None
    if user_text is not None and user is None:
        raise ReviewQueryError(_("user must be a user id."), "user")
    operation = _text_arg(args, "operation")
    if operation is not None and operation not in review.OPERATIONS:
        raise ReviewQueryError(_("Unknown operation %(operation)s.", operation=operation), "operation")
    page_text = _text_arg(args, "page")
    page = row_id(page_text) if page_text is not None else 1
    if page is None or page > 100000:
        raise ReviewQueryError(_("page must be a page number."), "page")
    return Query(form=form, user=user, q=_text_arg(args, "q"), operation=operation, page=page)


def people_statement(scope: AdminScope, query: Query) -> Select:
    """The ids of the people the report covers, by user name."""
    stmt = select(User.id).where(User.active.is_(True)).order_by(User.username, User.id)
    if not scope.everything:
        stmt = stmt.where(User.department_id.in_(sorted(scope.department_ids)))
    if query.user is not None:
        stmt = stmt.where(User.id == query.user)
    if query.q:
        needle = f"%{query.q.lower()}%"
        stmt = stmt.where(
            or_(func.lower(User.username).like(needle), func.lower(User.display_name).like(needle))
        )
    return stmt


def _check_user(scope: AdminScope, query: Query) -> None:
    if query.user is None:
        return
    person = db.session.get(User, query.user)
    if person is None or not scope.covers_user(person):
        raise NotInScope()


@dataclass
class Page:
    report: review.Review
    people: list[review.Person]
    total: int
    page: int
    pages: int


def search(scope: AdminScope, query: Query, size: int = PER_PAGE, conflicts: Any = None) -> Page:
    """One page of people (``size`` of them) and their lines."""
    _check_user(scope, query)
    stmt = people_statement(scope, query)
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    ids = list(db.session.scalars(stmt.limit(size).offset((query.page - 1) * size)))
    report = _report(ids, query, conflicts)
    return Page(report, report.people, total, query.page, max(1, -(-total // size)))


def declared_conflicts(ids: list[int]) -> list[review.ConflictRow]:
    """The people among ``ids`` holding both roles of a pair the permission definitions declare."""
    tag = current_locale_tag()
    return review.conflict_rows([(pair.label(tag), pair.roles) for pair in duties.declared_pairs()], ids)


def _report(ids: list[int], query: Query, conflicts: Any) -> review.Review:
    forms = [query.form] if query.form else None
    found = review.review(ids, forms, operation=query.operation)
    # A segregation-of-duties check: ``callable(ids) -> [ConflictRow]`` (default: the declared pairs).
    found.conflicts = list((conflicts or declared_conflicts)(ids))
    return found


# ---- export -------------------------------------------------------------------------------------


def columns() -> list[str]:
    return [
        _("Person"),
        _("Form"),
        _("Operation"),
        _("Scope"),
        _("Fields or steps"),
        _("Role"),
        _("Grant"),
        _("Limited to department"),
        _("Granted at (%(zone)s)", zone=business_time.offset_label()),
        _("Granted by"),
        _("Expires at"),
        _("Written in"),
    ]


def _local(moment: Any) -> Any:
    value = business_time.local(moment) if moment is not None else None
    return value.replace(tzinfo=None, microsecond=0) if value is not None else None


def line(row: review.ReviewRow) -> list[Any]:
    return [
        _text(row.username),
        _text(row.form),
        row.operation,
        _text(row.scope),
        _text(row.detail),
        _text(row.role),
        row.assignment_id,
        _text(row.department_limit),
        _local(row.granted_at),
        _text(row.granted_by),
        _local(row.expires_at),
        _text(row.source),
    ]


def conflict_line(row: review.ConflictRow) -> list[Any]:
    return [_text(row.username), _text(row.title), _text(", ".join(row.roles))]


def rows(scope: AdminScope, query: Query, conflicts: Any = None) -> Iterator[list[Any]]:
    """Every line of the search, ``CHUNK`` people at a time."""
    _check_user(scope, query)
    stmt = people_statement(scope, query)
    offset = 0
    while True:
        ids = list(db.session.scalars(stmt.limit(CHUNK).offset(offset)))
        if not ids:
            return
        report = _report(ids, query, conflicts)
        for row in report.rows:
            yield line(row)
        for conflict in report.conflicts:
            yield [conflict.username, "", _("conflict"), "", conflict.title, ", ".join(conflict.roles)]
        offset += CHUNK


def csv_chunks(scope: AdminScope, query: Query, conflicts: Any = None) -> Iterator[str]:
    return tables.csv_chunks(columns(), rows(scope, query, conflicts))


def xlsx_bytes(scope: AdminScope, query: Query, conflicts: Any = None) -> bytes:
    return tables.workbook(_("Permission review"), columns(), rows(scope, query, conflicts))


def response(user: Any, scope: AdminScope, query: Query, fmt: str, conflicts: Any = None) -> Response:
    """The download, audited (who exported which filters) before the first byte."""
    if fmt not in FORMATS:
        raise ExportError(422, _("Export as csv or xlsx."))
    _check_user(scope, query)
    body: Any = xlsx_bytes(scope, query, conflicts) if fmt == "xlsx" else None
    with transaction():
        trail.append(
            actions.PERMISSION_REVIEW_EXPORT, actor=user, details={"format": fmt, "filters": query.filters()}
        )
    if body is None:
        body = stream_with_context(csv_chunks(scope, query, conflicts))
    answer = Response(body, content_type=MEDIA_TYPES[fmt])
    stem = f"permission-review-{business_time.local_now():%Y%m%d-%H%M}"
    answer.headers["Content-Disposition"] = f'attachment; filename="{stem}.{fmt}"'
    answer.headers["Cache-Control"] = "no-store"
    return answer
