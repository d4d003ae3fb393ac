"""One list of my requests (我的申请): drafts and submitted requests together, each with its amount,
status, current step and who it waits on; filtered by status and form, searched by text.

It replaces two overlapping lists (the records list and the submitted-requests list). One page is
three queries whatever it holds: the page's records, the count (up to a cap), and the current
steps; the amounts come from the stored values already read. Pages go on from a cursor
(``records.listing``), so a deep page costs what the first one costs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import ColumnElement, func, select, true

from ..definitions.models import DefinitionVersion
from ..extensions import db
from ..forms import catalogue
from ..org.models import User
from ..records import listing
from ..records.access import visible_branches
from ..records.models import STATUSES, Record
from ..records.queries import form_titles, text_matches
from .models import Process
from .queries import Page, current_steps
from .summary import DEFAULT_CURRENCY, amount_of


def has_process(record_id: int) -> bool:
    """Whether a route ever ran for the record (it was submitted at least once)."""
    return db.session.scalar(select(Process.id).where(Process.record_id == record_id).limit(1)) is not None


@dataclass
class MyRequest:
    record_id: int
    title: str
    form_key: str
    status: str
    created_at: datetime
    submitted_at: datetime | None
    form_title: str = ""
    amount: Decimal | None = None
    currency: str = DEFAULT_CURRENCY
    current: list[dict[str, Any]] = field(default_factory=list)
    owner_id: int | None = None
    owner_name: str = ""

    @property
    def is_draft(self) -> bool:
        return self.status == "draft"


@dataclass(frozen=True)
class Filters:
    status: str | None = None
    form_key: str | None = None
    q: str | None = None
    # "mine": the person's own requests; "all": every request they may see (an administrator: all).
    scope: str = "mine"

    @classmethod
    def read(cls, args: Any) -> Filters:
        status = args.get("status") or None
        return cls(
            scope="all" if args.get("scope") == "all" else "mine",
            status=status if status in STATUSES else None,
            form_key=(args.get("form") or "").strip()[:100] or None,
            q=(args.get("q") or "").strip()[:200] or None,
        )


def newest_key(scope: str = "mine") -> Any:
    """The order of my requests: one's own by submission, a draft by creation; with scope "all"
    by creation, like the records API (newest first, ties by id). Each is an index order: the
    owner's by an expression index, everything one may see by the indexes of ``records.listing``
    (ordering those by submission would sort all of a department's or an approver's records)."""
    return Record.created_at if scope == "all" else func.coalesce(Record.submitted_at, Record.created_at)


def my_requests(
    user: Any, filters: Filters, *, page: int = 1, per_page: int = 20, after: listing.After | None = None
) -> Page:
    """The user's own requests (or, with scope "all", every request they may see), newest first
    (``newest_key``): the page after ``after`` (a cursor's position), else
    page ``page``. ``Page.next_after`` is where the next page starts (None on the last); the
    count stops at the cap (``Page.capped``: more)."""
    branches: list[ColumnElement[bool]] | None
    if filters.scope == "all":
        found = visible_branches(user)
        branches = [true()] if found is None else found
    else:
        branches = [Record.owner_id == user.id]
    conditions: list[ColumnElement[bool]] = []
    if filters.status:
        conditions.append(Record.status == filters.status)
    if filters.form_key:
        conditions.append(Record.form_key == filters.form_key)
    if filters.q:
        conditions.append(text_matches(filters.q))
    newest = newest_key(filters.scope)
    offset = 0 if after is not None else (page - 1) * per_page
    found_rows = db.session.execute(
        listing.newest_of(
            branches,
            conditions,
            Record.id,
            Record.title,
            Record.form_key,
            Record.status,
            Record.created_at,
            Record.submitted_at,
            Record.definition_id,
            Record.data,
            Record.owner_id,
            newest.label("newest"),
            key=newest,
            after=after,
            limit=per_page + 1,
            offset=offset,
        )
    ).all()
    result = found_rows[:per_page]
    more = len(found_rows) > per_page and result
    next_after = listing.After(result[-1].newest, result[-1].id) if more else None
    total, capped = listing.count_of(branches, conditions)
    titles = form_titles() if result else {}
    current = current_steps([row.id for row in result])
    owners = {row.owner_id for row in result}
    names = (
        dict(db.session.execute(select(User.id, User.display_name).where(User.id.in_(owners))).all())
        if filters.scope == "all" and owners
        else {}
    )
    forms: dict[int, Any] = {}
    wanted = {row.definition_id for row in result}
    # The page's form versions in one statement (not one per form); each compiled once.
    versions = (
        {
            v.id: v
            for v in db.session.scalars(select(DefinitionVersion).where(DefinitionVersion.id.in_(wanted)))
        }
        if wanted
        else {}
    )
    rows = []
    for row in result:
        if row.definition_id not in forms:  # a form a missing plugin makes unavailable still lists
            forms[row.definition_id] = catalogue.form_or_unavailable(versions[row.definition_id])[0]
        form = forms[row.definition_id]
        amount, currency, _label = amount_of(form, row.data or {}) if form else (None, DEFAULT_CURRENCY, "")
        rows.append(
            MyRequest(
                record_id=row.id,
                title=row.title or _("Record #%(id)s", id=row.id),
                form_key=row.form_key,
                status=row.status,
                created_at=row.created_at,
                submitted_at=row.submitted_at,
                form_title=titles.get(row.form_key, row.form_key),
                amount=amount,
                currency=currency,
                current=current.get(row.id, []),
                owner_id=row.owner_id,
                owner_name=names.get(row.owner_id) or "",
            )
        )
    return Page(rows=rows, total=total, capped=capped, next_after=next_after)
