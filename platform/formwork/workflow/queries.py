"""Reading approval state: my inbox, what I decided, what I submitted, a request's trail and route.

The read side of the workflow, shared by the browser pages (``workflow.views``), the API
(``api.tasks``, ``api.processes``, a record's history) and printed vouchers
(``documents.trail``), so all of them list the same tasks in the same order:
``inbox``, ``decided_by``, ``submitted_by``, ``trail``, ``visible_trail``, ``route_view``.
Every list is one page in SQL (``LIMIT``/``OFFSET`` on an indexed order) and a fixed number
of queries whatever the page holds: the page's rows with their record and people in one
joined query, the counts in one aggregate, and the step names of the few route versions
involved from the compiled-route cache.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Sequence

from babel.dates import format_timedelta
from flask import g, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, bindparam, case, func, or_, select
from sqlalchemy.orm import aliased

from ..db_types import utcnow
from ..definitions import store
from ..definitions.models import DefinitionVersion
from ..extensions import db
from ..forms import catalogue
from ..i18n import current_locale_tag, localized
from ..input_limits import row_id
from ..org.clock import as_utc
from ..org.models import Department, User
from ..records.access import can_see
from ..records.models import Attachment, Record
from ..routes.store import current_route
from .errors import InvalidDecision
from .models import APPROVAL, OPEN, RUNNING, WAITING, Process, Task, TrailEntry
from .runtime import BEFORE, DELEGATE, remembered_open_holders

SORTS = ("oldest", "newest", "due")


@dataclass(frozen=True)
class ListQuery:
    sort: str = "oldest"
    form_key: str | None = None
    q: str | None = None
    overdue: bool = False

    @property
    def filtered(self) -> bool:
        return bool(self.form_key or self.q or self.overdue)


@dataclass
class TaskRow:
    """One task as a list shows it (plain values, no lazy loads left to trigger)."""

    id: int
    status: str
    kind: str
    step_key: str
    round: int
    created_at: datetime
    due_at: datetime | None
    decided_at: datetime | None
    decision: str | None
    comment: str | None
    record_id: int
    record_title: str
    record_status: str
    form_key: str
    owner_id: int
    owner_name: str
    process_id: int
    route_id: int
    on_behalf_of: str | None = None
    step_name: str = ""
    form_title: str = ""
    summary: Any = None  # amount, department and alerts, for the pages that show them (``summary``)
    batchable: bool = False  # may be approved together with others (``batch``)

    @property
    def overdue(self) -> bool:
        return self.status == OPEN and self.due_at is not None and as_utc(self.due_at) < utcnow()

    @property
    def waited_seconds(self) -> int:
        end = as_utc(self.decided_at) if self.decided_at else utcnow()
        return max(0, int((end - as_utc(self.created_at)).total_seconds()))

    @property
    def waited(self) -> str:
        return humanise(timedelta(seconds=self.waited_seconds))


@dataclass
class Page:
    rows: list[Any]
    total: int
    counts: dict[str, int] = field(default_factory=dict)


def humanise(delta: timedelta) -> str:
    """``timedelta(days=3, hours=2)`` → "3 days" / "3天", in the interface language."""
    if delta < timedelta(minutes=1):
        return _("less than a minute")
    return format_timedelta(
        delta, granularity="minute", threshold=0.9, format="long", locale=str(get_locale() or "en")
    )


def _like(q: str) -> str:
    # Escape LIKE wildcards so a search for "100%" means the text, not a pattern.
    return "%" + q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


_Owner = aliased(User, name="owner")
_Intended = aliased(User, name="intended")

_ROW_COLUMNS = (
    Task.id,
    Task.status,
    Task.kind,
    Task.step_key,
    Task.round,
    Task.created_at,
    Task.due_at,
    Task.decided_at,
    Task.decision,
    Task.comment,
    Task.record_id,
    Record.title,
    Record.status,
    Record.form_key,
    Record.owner_id,
    _Owner.display_name,
    Task.process_id,
    Process.route_id,
)


def _rows_select(*conditions: Any):
    return (
        select(*_ROW_COLUMNS, _Intended.display_name, Task.assignee_id, Task.intended_id)
        .join(Record, Record.id == Task.record_id)
        .join(_Owner, _Owner.id == Record.owner_id)
        .join(Process, Process.id == Task.process_id)
        .outerjoin(_Intended, _Intended.id == Task.intended_id)
        .where(*conditions)
    )


def _to_rows(result: Any, *, names: bool = True) -> list[TaskRow]:
    rows = []
    for values in result:
        *base, intended_name, assignee_id, intended_id = values
        row = TaskRow(*base)
        row.record_title = row.record_title or _("Record #%(id)s", id=row.record_id)
        if intended_id is not None and intended_id != assignee_id:
            row.on_behalf_of = intended_name
        rows.append(row)
    if names:
        _add_names(rows)
    return rows


def form_titles() -> dict[str, str]:
    """Form key → title in the interface language, looked up once per request."""
    from ..records.views import form_titles as lookup

    cached = g.get("_inbox_form_titles")
    if cached is None:
        cached = g._inbox_form_titles = lookup()
    return cached


def _add_names(rows: list[Any]) -> None:
    """Step and form titles for a page of rows: one query for the route versions, cached compiles."""
    if not rows:
        return
    titles = form_titles()
    names = step_names({row.route_id for row in rows})
    for row in rows:
        row.form_title = titles.get(row.form_key, row.form_key)
        row.step_name = names.get((row.route_id, row.step_key), row.step_key)


def step_names(route_ids: set[int]) -> dict[tuple[int, str], str]:
    """(route version id, step key) → step name in the interface language."""
    if not route_ids:
        return {}
    return _names_in(db.session.scalars(select(DefinitionVersion).where(DefinitionVersion.id.in_(route_ids))))


def _names_in(versions: Any) -> dict[tuple[int, str], str]:
    from ..routes.store import compiled_route

    tag = current_locale_tag()
    names: dict[tuple[int, str], str] = {}
    for version in versions:
        try:
            route = compiled_route(version)
        except (
            Exception
        ):  # a list or a trail still shows, with step keys, when an old version no longer compiles
            continue
        for key, step in route.steps.items():
            names[(version.id, key)] = localized(step.name, tag) or key
    return names


# ---- my open tasks ---------------------------------------------------------------------------


def _mine_open(user: Any) -> tuple[Any, ...]:
    return (Task.assignee_id == user.id, Task.status == OPEN, Task.kind == APPROVAL)


def open_counts(user: Any) -> dict[str, int]:
    """``{"open": n, "overdue": m}`` for the user's open approval tasks, in one query (cached per request)."""
    cached = g.get("_inbox_counts")
    if cached is not None and cached[0] == user.id:
        return cached[1]
    now = utcnow()
    total, overdue = db.session.execute(
        select(func.count(), func.count(case((Task.due_at < now, 1)))).where(*_mine_open(user))
    ).one()
    counts = {"open": int(total or 0), "overdue": int(overdue or 0)}
    g._inbox_counts = (user.id, counts)
    return counts


def inbox(user: Any, query: ListQuery | None = None, *, page: int = 1, per_page: int = 20) -> Page:
    """One page of the user's open approval tasks, filtered and sorted, with the counts.

    ``query.sort``: ``oldest`` (default), ``newest``, ``due`` (deadline soonest first, then
    oldest); ``form_key`` and ``q`` (title and text, wildcards literal) filter, and so does
    ``overdue``. ``total`` counts every matching task, not just the page.
    """
    query = query or ListQuery()
    conditions = list(_mine_open(user))
    if query.form_key:
        conditions.append(Record.form_key == query.form_key)
    if query.q:
        needle = _like(query.q)
        conditions.append(
            or_(
                func.lower(Record.title).like(needle, escape="\\"),
                func.lower(Record.search_text).like(needle, escape="\\"),
            )
        )
    if query.overdue:
        conditions.append(and_(Task.due_at.is_not(None), Task.due_at < utcnow()))
    order: tuple[Any, ...]
    if query.sort == "newest":
        order = (Task.created_at.desc(), Task.id.desc())
    elif query.sort == "due":
        # Tasks with a deadline first, soonest first; those without after them, oldest first.
        order = (case((Task.due_at.is_(None), 1), else_=0), Task.due_at, Task.created_at, Task.id)
    else:
        order = (Task.created_at, Task.id)
    stmt = _rows_select(*conditions).order_by(*order).limit(per_page).offset((page - 1) * per_page)
    rows = _to_rows(db.session.execute(stmt))
    counts = open_counts(user)
    if query.form_key or query.q:
        total = db.session.scalar(
            select(func.count())
            .select_from(Task)
            .join(Record, Record.id == Task.record_id)
            .where(*conditions)
        )
    else:
        total = counts["overdue"] if query.overdue else counts["open"]
    return Page(rows=rows, total=int(total or 0), counts=counts)


def decided_by(user: Any, *, page: int = 1, per_page: int = 20) -> Page:
    """What the user decided (approved, rejected, returned, transferred...), latest first."""
    conditions = (Task.decided_by_id == user.id, Task.status != OPEN)
    stmt = (
        _rows_select(*conditions)
        .order_by(Task.decided_at.desc(), Task.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    rows = _to_rows(db.session.execute(stmt))
    total = db.session.scalar(select(func.count()).select_from(Task).where(*conditions))
    return Page(rows=rows, total=int(total or 0))


MAX_HANDED_ON = 100  # a person hands on a few tasks at a time; more is not listed


@dataclass
class HandedOn:
    """A task its holder handed on and waits for: delegated (委派, can be taken back) or a signer
    added before them (加签); listed under 已办 so it never vanishes for them."""

    row: TaskRow
    waiting_for: str
    kind: str  # "delegate" or "before"


def handed_on_by(user: Any) -> list[HandedOn]:
    """The user's tasks waiting for someone they asked, latest first."""
    Child = aliased(Task)
    Person = aliased(User)
    stmt = (
        select(Task.id, Person.display_name, Child.id)
        .join(Child, (Child.parent_task_id == Task.id) & (Child.status == OPEN))
        .join(Person, Person.id == Child.assignee_id)
        .where(Task.assignee_id == user.id, Task.status == WAITING)
        .order_by(Child.created_at.desc(), Task.id.desc())
        .limit(MAX_HANDED_ON)
    )
    waiting: dict[int, tuple[str, int]] = {}
    for task_id, name, child_id in db.session.execute(stmt):
        waiting.setdefault(task_id, (name, child_id))
    if not waiting:
        return []
    rows = _to_rows(db.session.execute(_rows_select(Task.id.in_(list(waiting)))))
    kinds: dict[int, str | None] = {}
    for process_state in db.session.scalars(
        select(Process.state).where(Process.id.in_({row.process_id for row in rows}))
    ):
        for task_id, info in ((process_state or {}).get("tasks") or {}).items():
            kinds[int(task_id)] = info.get("type")
    found = []
    for row in rows:
        name, child_id = waiting[row.id]
        kind = DELEGATE if kinds.get(child_id) == DELEGATE else BEFORE
        found.append(HandedOn(row=row, waiting_for=name, kind=kind))
    found.sort(key=lambda item: item.row.created_at, reverse=True)
    return found


def approvals_by_user(users: list[Any]) -> dict[int, list[str]]:
    """User id → the steps of the current routes they decide ("Expense claim: Finance review"), for
    the demo sign-in page: a department head decides head steps for their department's requests,
    a role holder the role's steps, a named user their own."""
    tag = current_locale_tag()
    heads: dict[int, str] = {}
    for head in db.session.scalars(select(Department).where(Department.head_id.is_not(None))):
        if head.head_id is not None:
            heads[head.head_id] = head.name(tag)
    roles: dict[str, set[int]] = {}
    for user in users:
        for assignment in user.role_assignments:
            roles.setdefault(assignment.role.key, set()).add(user.id)
    by_name = {user.username: user.id for user in users}
    found: dict[int, list[str]] = {user.id: [] for user in users}
    for version in store.list_current("form"):
        current = current_route(version.key)
        if current is None:
            continue
        form_title = catalogue.form_title(version, tag)
        for step in current[1].steps.values():
            step_name = localized(step.name, tag)
            for spec in step.approvers:
                if spec.kind == "department_head" and spec.department is None and spec.levels == 0:
                    for user_id, department in heads.items():
                        if user_id in found:
                            found[user_id].append(
                                _(
                                    "%(form)s: %(step)s (%(department)s)",
                                    form=form_title,
                                    step=step_name,
                                    department=department,
                                )
                            )
                    continue
                if spec.kind == "role":
                    holders = roles.get(spec.value or "", set())
                elif spec.kind == "user":
                    holders = {by_name[spec.value]} if spec.value in by_name else set()
                else:
                    continue
                for user_id in holders:
                    found[user_id].append(_("%(form)s: %(step)s", form=form_title, step=step_name))
    return {user_id: list(dict.fromkeys(items)) for user_id, items in found.items()}


def return_reason(record: Record) -> dict[str, Any] | None:
    """Why a returned request came back (who, when, their comment), for the top of its edit page."""
    if record is None or record.status != "returned":
        return None
    entry = db.session.scalars(
        select(TrailEntry)
        .where(TrailEntry.record_id == record.id, TrailEntry.action.in_(("return", "reject")))
        .order_by(TrailEntry.id.desc())
        .limit(1)
    ).first()
    if entry is None:
        return None
    return {
        "name": entry.actor.display_name if entry.actor is not None else _("The system"),
        "at": entry.at,
        "comment": entry.comment or "",
        "action": entry.action,
    }


# ---- one task --------------------------------------------------------------------------------


def task_for(user: Any, task_id: int) -> Task | None:
    """The task if ``user`` holds or decided it and may see its record; None otherwise (a 404)."""
    if not getattr(user, "is_authenticated", False):
        return None
    from ..records.access import can_see

    task = db.session.scalar(
        select(Task).where(
            Task.id == task_id, or_(Task.assignee_id == user.id, Task.decided_by_id == user.id)
        )
    )
    if task is None or not can_see(user, task.record):
        return None
    return task


def row_for(task: Task) -> TaskRow:
    rows = _to_rows(db.session.execute(_rows_select(Task.id == task.id)))
    return rows[0]


def active_users(exclude: int | None = None) -> list[dict[str, Any]]:
    """Active people for a picker: id and "Name (username)", by name."""
    stmt = (
        select(User.id, User.display_name, User.username)
        .where(User.active.is_(True))
        .order_by(User.display_name)
    )
    return [
        {"id": uid, "label": f"{name} ({username})"}
        for uid, name, username in db.session.execute(stmt)
        if uid != exclude
    ]


# ---- JSON ------------------------------------------------------------------------------------


def _iso(moment: datetime | None) -> str | None:
    return as_utc(moment).isoformat() if moment else None


def task_json(row: TaskRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "status": row.status,
        "kind": row.kind,
        "step": {"key": row.step_key, "name": row.step_name, "round": row.round},
        "record": {
            "id": row.record_id,
            "title": row.record_title,
            "form": row.form_key,
            "form_title": row.form_title,
            "status": row.record_status,
            "owner": {"id": row.owner_id, "display_name": row.owner_name},
        },
        "process_id": row.process_id,
        "on_behalf_of": row.on_behalf_of,
        "created_at": _iso(row.created_at),
        "due_at": _iso(row.due_at),
        "overdue": row.overdue,
        "waited_seconds": row.waited_seconds,
        "waited": row.waited,
        "decision": row.decision,
        "decided_at": _iso(row.decided_at),
        "comment": row.comment,
        "url": url_for("workflow.task", task_id=row.id),
    }


def task_detail_json(task: Task, user: Any) -> dict[str, Any]:
    from ..records.serialize import record_json

    body = task_json(row_for(task))
    body["record"]["data"] = record_json(task.record, user).get("data")
    body["type"] = task_type(task)
    body["actions"] = list(allowed_actions(task))
    if "return" in body["actions"]:
        body["return_steps"] = [{"key": key, "name": name} for key, name in return_targets(task)]
    body["trail"] = [trail_json(entry) for entry in trail(task.record)]
    return body


def decision_json(task: Task, user: Any) -> dict[str, Any]:
    """The decided task, its process and record as they stand after the decision.

    Built from the objects the decision itself loaded and changed (the task, its process and
    record, the route and form versions, the people involved; none expire on commit), so a
    decision that ends the request reads nothing more. While the process runs, one query
    reads its open steps and their holders. Step names come from the route version the
    process runs on and the form title from the record's own form version (both compiled
    once per version).
    """
    from ..forms.catalogue import compiled_form

    record, process = task.record, task.process
    names = _names_in([process.route]) if process.route is not None else {}
    try:
        form_title = compiled_form(record.definition).title(current_locale_tag())
    except Exception:  # a version that no longer compiles still names its form
        form_title = record.form_key
    intended = (
        db.session.get(User, task.intended_id) if task.intended_id not in (None, task.assignee_id) else None
    )
    row = TaskRow(
        task.id,
        task.status,
        task.kind,
        task.step_key,
        task.round,
        task.created_at,
        task.due_at,
        task.decided_at,
        task.decision,
        task.comment,
        record.id,
        record.title or _("Record #%(id)s", id=record.id),
        record.status,
        record.form_key,
        record.owner_id,
        record.owner.display_name,
        process.id,
        process.route_id,
        on_behalf_of=intended.display_name if intended is not None else None,
        step_name=names.get((process.route_id, task.step_key), task.step_key),
        form_title=form_title,
    )
    current_rows: Sequence[Any] = []
    if process.status == RUNNING:
        # The decision's walk knows who holds the open steps now; read them only when it does not.
        remembered = remembered_open_holders(process)
        current_rows = remembered if remembered is not None else _current_step_rows([record.id])
    return {
        "task": task_json(row),
        "process": {
            "id": process.id,
            "status": process.status,
            "current": _group_steps(current_rows, names).get(record.id, []),
        },
        "record": {"id": record.id, "status": record.status},
    }


# ---- where a request stands --------------------------------------------------------------------


def current_steps(record_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """Record id → the steps waiting now, each with who holds it (one query for all records)."""
    result = _current_step_rows(record_ids)
    return _group_steps(result, step_names({route_id for _r, _s, route_id, _u, _n in result}))


# Built once (every decision's answer and every list page run it); the ids bind as an expanding IN.
_CURRENT_STEPS = (
    select(Task.record_id, Task.step_key, Process.route_id, User.id, User.display_name)
    .join(Process, Process.id == Task.process_id)
    .join(User, User.id == Task.assignee_id)
    .where(
        Task.record_id.in_(bindparam("record_ids", expanding=True)),
        Task.status == OPEN,
        Task.kind == APPROVAL,
    )
    .order_by(Task.record_id, Task.created_at, Task.id)
)


def _current_step_rows(record_ids: list[int]) -> Sequence[Any]:
    if not record_ids:
        return []
    return db.session.execute(_CURRENT_STEPS, {"record_ids": list(record_ids)}).all()


def _group_steps(result: Sequence[Any], names: dict[tuple[int, str], str]) -> dict[int, list[dict[str, Any]]]:
    steps: dict[int, dict[str, dict[str, Any]]] = {}
    for record_id, step_key, route_id, holder_id, holder in result:
        entry = steps.setdefault(record_id, {}).setdefault(
            step_key,
            {
                "key": step_key,
                "name": names.get((route_id, step_key), step_key),
                "holders": [],
                "holder_ids": [],
            },
        )
        entry["holders"].append(holder)
        entry["holder_ids"].append(holder_id)
    return {record_id: list(by_step.values()) for record_id, by_step in steps.items()}


@dataclass
class RequestRow:
    record_id: int
    record_title: str
    form_key: str
    status: str
    submitted_at: datetime | None
    form_title: str = ""
    current: list[dict[str, Any]] = field(default_factory=list)


def submitted_by(user: Any, *, status: str | None = None, page: int = 1, per_page: int = 20) -> Page:
    """The user's submitted records (not drafts), latest submitted first, each with its current steps."""
    conditions = [Record.owner_id == user.id, Record.status != "draft"]
    if status:
        conditions.append(Record.status == status)
    stmt = (
        select(Record.id, Record.title, Record.form_key, Record.status, Record.submitted_at)
        .where(*conditions)
        .order_by(Record.submitted_at.desc(), Record.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    rows = [
        RequestRow(rid, title or _("Record #%(id)s", id=rid), form_key, st, submitted)
        for rid, title, form_key, st, submitted in db.session.execute(stmt)
    ]
    total = db.session.scalar(select(func.count()).select_from(Record).where(*conditions))
    if rows:
        titles = form_titles()
        current = current_steps([row.record_id for row in rows])
        for row in rows:
            row.form_title = titles.get(row.form_key, row.form_key)
            row.current = current.get(row.record_id, [])
    return Page(rows=rows, total=int(total or 0))


def request_json(row: RequestRow) -> dict[str, Any]:
    return {
        "record": {
            "id": row.record_id,
            "title": row.record_title,
            "form": row.form_key,
            "form_title": row.form_title,
        },
        "status": row.status,
        "submitted_at": _iso(row.submitted_at),
        "current": [
            {
                "step": {"key": step["key"], "name": step["name"]},
                "holders": [
                    {"id": uid, "display_name": name}
                    for uid, name in zip(step["holder_ids"], step["holders"], strict=True)
                ],
            }
            for step in row.current
        ],
    }


# ---- the trail -------------------------------------------------------------------------------

# What a trail entry's action (or a step's or request's outcome) is called; anything else is
# shown as its action name. Pages, the decision notice and printed vouchers all use these.
ACTION_LABELS: dict[str, Any] = {
    "approve": _l("Approved"),
    "approved": _l("Approved"),
    "reject": _l("Rejected"),
    "rejected": _l("Rejected"),
    "return": _l("Returned"),
    "returned": _l("Returned"),
    "transfer": _l("Transferred"),
    "transferred": _l("Transferred"),
    "delegate": _l("Delegated"),
    "delegated": _l("Delegated"),
    "add_signer": _l("Added a signer"),
    "comment": _l("Commented"),
    "withdraw": _l("Withdrawn"),
    "withdrawn": _l("Withdrawn"),
    "submit": _l("Submitted"),
    "submitted": _l("Submitted"),
    "start": _l("Started"),
    "started": _l("Started"),
    "skip": _l("Skipped"),
    "skipped": _l("Skipped"),
    "auto_approve": _l("Approved automatically"),
    "auto_approved": _l("Approved automatically"),
    "auto_reject": _l("Rejected automatically"),
    "cc": _l("Copied"),
    "alert": _l("Alert"),
    "branch": _l("Route chosen"),
    "step_approved": _l("Step approved"),
    "step_rejected": _l("Step rejected"),
    "redirected_out_of_office": _l("Sent to the stand-in"),
    "recall": _l("Taken back"),
    "recalled": _l("Taken back"),
    "fallback": _l("Sent to the fallback approvers"),
    "sent_to_administrators": _l("No approver found; sent to administrators"),
    "not_auto_approved": _l("Not approved automatically: the earlier decision was handed over"),
    "escalated": _l("Escalated"),
    "reminded": _l("Reminder sent"),
    "cancelled": _l("Cancelled"),
}


def action_label(action: str | None) -> str:
    """An action or outcome in words, in the interface language."""
    if not action:
        return ""
    return str(ACTION_LABELS.get(action, action.replace("_", " ")))


@dataclass
class TrailRow:
    id: int
    at: datetime
    action: str
    actor_name: str
    actor_id: int | None
    on_behalf_of_name: str | None
    on_behalf_of_id: int | None
    step_key: str | None
    step_name: str | None
    comment: str | None
    task_id: int | None
    details: dict[str, Any]
    files: list[Attachment] = field(default_factory=list)
    target_name: str | None = None
    outcome: str | None = None  # the step's own word for an approval (the cashier's: paid)

    @property
    def at_iso(self) -> str:
        return as_utc(self.at).isoformat()

    @property
    def badge(self) -> str:
        return {
            "approve": "approved",
            "approved": "approved",
            "reject": "rejected",
            "rejected": "rejected",
            "return": "returned",
            "returned": "returned",
            "withdraw": "withdrawn",
            "withdrawn": "withdrawn",
        }.get(self.action, "pending")


def trail(record: Record) -> list[TrailRow]:
    """The record's approval trail, oldest first: three queries whatever its length."""
    actor = aliased(User, name="actor")
    behalf = aliased(User, name="behalf")
    result = db.session.execute(
        select(TrailEntry, actor.display_name, behalf.display_name, Process.route_id)
        .join(Process, Process.id == TrailEntry.process_id)
        .outerjoin(actor, actor.id == TrailEntry.actor_id)
        .outerjoin(behalf, behalf.id == TrailEntry.on_behalf_of_id)
        .where(TrailEntry.record_id == record.id)
        .order_by(TrailEntry.at, TrailEntry.id)
    ).all()
    if not result:
        return []
    names = step_names({route_id for *_rest, route_id in result})
    outcomes = _outcomes({route_id for *_rest, route_id in result})
    file_ids = {found for entry, *_ in result for i in (entry.attachment_ids or []) if (found := row_id(i))}
    files = (
        {a.id: a for a in db.session.scalars(select(Attachment).where(Attachment.id.in_(file_ids)))}
        if file_ids
        else {}
    )
    # Transfers, delegations and added signers name a person in ``details["to"]``; returns a step key.
    people_ids = {
        (entry.details or {}).get("to")
        for entry, *_ in result
        if isinstance((entry.details or {}).get("to"), int)
        and not isinstance((entry.details or {}).get("to"), bool)
    }
    people = (
        dict(db.session.execute(select(User.id, User.display_name).where(User.id.in_(people_ids))).all())
        if people_ids
        else {}
    )
    rows = []
    for entry, actor_name, behalf_name, route_id in result:
        details = entry.details or {}
        target = details.get("to")
        if isinstance(target, int) and not isinstance(target, bool):
            target_name = people.get(target)
        elif target == "submitter":
            target_name = _("the submitter")
        elif isinstance(target, str):
            target_name = names.get((route_id, target), target)
        else:
            target_name = None
        rows.append(
            TrailRow(
                id=entry.id,
                at=entry.at,
                action=entry.action,
                actor_name=actor_name or _("System"),
                actor_id=entry.actor_id,
                on_behalf_of_name=behalf_name
                if entry.on_behalf_of_id and entry.on_behalf_of_id != entry.actor_id
                else None,
                on_behalf_of_id=entry.on_behalf_of_id,
                step_key=entry.step_key,
                step_name=names.get((route_id, entry.step_key), entry.step_key) if entry.step_key else None,
                comment=entry.comment,
                task_id=entry.task_id,
                details=details,
                files=[files[found] for i in (entry.attachment_ids or []) if (found := row_id(i)) in files],
                target_name=target_name,
                outcome=outcomes.get((route_id, entry.step_key or ""))
                if entry.action in _APPROVALS
                else None,
            )
        )
    return rows


_APPROVALS = ("approve", "approved", "step_approved", "auto_approved")


def _outcomes(route_ids: set[int]) -> dict[tuple[int, str], str]:
    """(route version, step key) → the step's outcome word in the interface language, where it has one."""
    from ..routes.store import compiled_route

    tag = current_locale_tag()
    found: dict[tuple[int, str], str] = {}
    for route_id in route_ids:
        # Usually held already: ``step_names`` has just read the same versions.
        version = db.session.get(DefinitionVersion, route_id)
        if version is None:
            continue
        try:
            steps = compiled_route(version).steps
        except Exception:  # a version that no longer compiles keeps the plain words
            continue
        for key, step in steps.items():
            if step.outcome:
                found[(version.id, key)] = localized(step.outcome, tag)
    return found


def visible_trail(user: Any, record: Record) -> list[TrailRow] | None:
    """``trail(record)`` for someone allowed to see the record, else None."""
    return trail(record) if can_see(user, record) else None


def trail_json(row: TrailRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "kind": "approval",
        "at": row.at_iso,
        "action": row.action,
        "outcome": row.outcome,
        "actor": None if row.actor_id is None else {"id": row.actor_id, "display_name": row.actor_name},
        "on_behalf_of": None
        if row.on_behalf_of_name is None
        else {"id": row.on_behalf_of_id, "display_name": row.on_behalf_of_name},
        "step": None if row.step_key is None else {"key": row.step_key, "name": row.step_name},
        "comment": row.comment,
        "task_id": row.task_id,
        "details": row.details,
        "attachments": [
            {
                "id": f.id,
                "filename": f.filename,
                "size": f.size,
                "download_url": url_for("api.download_attachment", attachment_id=f.id),
            }
            for f in row.files
        ],
    }


# ---- the route diagram -----------------------------------------------------------------------

MODE_LABELS = {
    "all": lambda step: _("everyone must approve"),
    "any": lambda step: _("any one approves"),
    "k_of_n": lambda step: _("%(k)s must approve", k=step.k),
    "percent": lambda step: _("%(p)s per cent must approve", p=step.percent),
}
STEP_STATES = ("pending", "active", "approved", "rejected", "returned", "skipped")
END_STATES = {
    "approved": "approved",
    "rejected": "rejected",
    "withdrawn": "withdrawn",
    "returned": "returned",
    "cancelled": "cancelled",
}


def route_view(record: Record, process: Process | None = None) -> dict[str, Any] | None:
    """The record's route as nested nodes with their states, for ``_route_diagram.html`` and the API.

    A step's state comes from the process position (pending, active, returned, approved,
    rejected, skipped); a branch says which case was taken; parallel branches are listed side
    by side. None when the record never entered a route. Three queries: the process, the
    route version (compiled once per version), the tasks.
    """
    from .service import compiled_route, current_process

    process = process or current_process(record)
    if process is None:
        return None
    route = compiled_route(process.route)
    state = process.state or {}
    steps_state = state.get("steps", {})
    branch_state = state.get("branch", {})
    tag = current_locale_tag()
    holders: dict[str, list[str]] = {}
    deciders: dict[str, list[str]] = {}
    for step_key, status, decision, assignee, decider in db.session.execute(
        select(Task.step_key, Task.status, Task.decision, User.display_name, _Intended.display_name)
        .join(User, User.id == Task.assignee_id)
        .outerjoin(_Intended, _Intended.id == Task.decided_by_id)
        .where(Task.process_id == process.id, Task.kind == APPROVAL)
        .order_by(Task.created_at, Task.id)
    ):
        if status in (OPEN, "waiting"):
            holders.setdefault(step_key, []).append(assignee)
        elif decision in ("approve", "reject", "return") and decider:
            names = deciders.setdefault(step_key, [])
            if decider not in names:
                names.append(decider)

    from .route_forecast import forecast

    ahead = forecast(record, process, route, steps_state)

    def convert(node: Any) -> dict[str, Any]:
        from ..routes.model import Branch, Parallel

        if isinstance(node, Parallel):
            return {
                "type": "parallel",
                "key": node.key,
                "branches": [[convert(n) for n in branch] for branch in node.branches],
            }
        if isinstance(node, Branch):
            chosen = branch_state.get(node.key)
            cases = [
                {
                    # The case's own words; a case without a name is numbered, never shown as code.
                    "label": localized(case.name, tag) if case.name else _("Case %(n)s", n=index + 1),
                    "condition": route.conditions.get(case.when, case.when),
                    "taken": None if chosen is None else chosen == index,
                    "nodes": [convert(n) for n in case.nodes],
                }
                for index, case in enumerate(node.cases)
            ]
            cases.append(
                {
                    "label": _("Otherwise"),
                    "taken": None if chosen is None else chosen == -1,
                    "nodes": [convert(n) for n in node.otherwise],
                }
            )
            return {"type": "branch", "key": node.key, "cases": cases}
        status = steps_state.get(node.key, {}).get("status", "pending")
        status = status if status in STEP_STATES else "pending"
        mode = MODE_LABELS.get(node.mode)
        guess = ahead.get(node.key)
        will_skip = status == "pending" and guess is not None and guess.skipped
        return {
            "type": "step",
            "key": node.key,
            "name": localized(node.name, tag) or node.key,
            "state": "skipped" if will_skip else status,
            "forecast": will_skip,  # skipped because the values decide it, not yet by the route
            "mode": node.mode,
            "mode_label": mode(node) if mode else None,
            "people": holders.get(node.key, []) if status == "active" else deciders.get(node.key, []),
            # Who will decide a step still ahead, as the organisation stands now.
            "expected": guess.expected if guess is not None and status == "pending" else [],
            "copied": guess.copied if guess is not None else [],
            # A conditional step says when it runs, so "not yet" is not read as "certainly next".
            "condition": route.conditions.get(node.when, node.when) if node.when else None,
            # ... in the words the route gives it (never the expression).
            "condition_label": localized(node.when_label, tag) if node.when and node.when_label else None,
            "outcome_label": localized(node.outcome, tag) if node.outcome and status == "approved" else None,
        }

    end_state = END_STATES.get(process.status, "pending")
    return {
        "process_id": process.id,
        "route": route.key,
        "title": localized(route.title, tag) or route.key,
        "version": process.route.version if process.route else None,
        "status": process.status,
        "nodes": [convert(node) for node in route.nodes],
        "end_state": end_state,
        "end_label": _("End") if end_state == "pending" else action_label(process.status),
    }


def return_targets(task: Task) -> list[tuple[str, str]]:
    """Earlier steps this task may return the request to (on the path that led to it)."""
    from .runtime import Walker, load_route

    process = task.process
    route = load_route(process)
    walker = Walker(process, route)
    step = route.steps.get(task.step_key)
    if step is None:
        return []
    tag = current_locale_tag()
    targets = []
    for candidate in walker.index.ordered_steps():
        if candidate.key == step.key:
            continue
        try:
            walker.check_return_target(step, candidate.key)
        except InvalidDecision:
            continue
        targets.append((candidate.key, localized(candidate.name, tag) or candidate.key))
    return targets


ALL_ACTIONS = ("approve", "reject", "return", "transfer", "delegate", "add_signer", "comment")
OPINION_ACTIONS = ("approve", "reject", "comment")
RECALL = "recall"  # on a task waiting for its delegate: take it back
DECISION_ACTIONS = ALL_ACTIONS + (RECALL,)  # every action of POST /api/tasks/<id>/decision


def task_type(task: Task) -> str:
    """How the task came about: ``main`` (from the route), ``transfer``, ``delegate`` (asked for
    advice), ``before`` / ``after`` (an added signer)."""
    info = ((task.process.state or {}).get("tasks") or {}).get(str(task.id)) or {}
    return info.get("type", "main")


def allowed_actions(task: Task) -> tuple[str, ...]:
    """What the holder of an open task may do: someone asked for an opinion (a delegate, or a
    signer added before the holder) approves, rejects or comments; everyone else may do all.
    A task waiting for its delegate (委派) may be taken back (``recall``) until they decide."""
    from .runtime import BEFORE, DELEGATE, pending_delegate

    if task.status == WAITING:
        return (RECALL,) if pending_delegate(task, task.process.state) is not None else ()
    if task.status != OPEN:
        return ()
    if task.kind != APPROVAL:
        return ("comment",)  # a copy for information (抄送) is read, not decided
    return OPINION_ACTIONS if task_type(task) in (DELEGATE, BEFORE) else ALL_ACTIONS


def can_withdraw(record: Record) -> bool:
    """Whether the submitter may still take the request back (running, and ``withdraw`` allows it)."""
    from .models import RUNNING
    from .runtime import load_route
    from .service import current_process, withdraw_refusal

    process = current_process(record)
    return (
        process is not None
        and process.status == RUNNING
        and withdraw_refusal(process, load_route(process)) is None
    )
