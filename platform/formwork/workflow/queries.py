"""Reading approval state in SQL: my inbox, what I decided, what I handed on, what I submitted and
where each request stands, one task and the task just decided.

The read side of the workflow, shared by the browser pages (``workflow.views``) and the API
(``api.tasks``, ``api.processes``), so both list the same tasks in the same order:
``inbox``, ``decided_by``, ``handed_on_by``, ``submitted_by``, ``current_steps``, ``task_for``.
The trail is read by ``history``, the route diagram by ``route_diagram``.
Every list is one page in SQL (``LIMIT``/``OFFSET`` on an indexed order) and a fixed number
of queries whatever the page holds: the page's rows with their record and people in one
joined query, the counts in one aggregate, and the step names of the few route versions
involved from the compiled-route cache.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Sequence

from flask import g
from flask_babel import gettext as _
from sqlalchemy import and_, bindparam, case, func, or_, select
from sqlalchemy.orm import aliased

from ..db_types import utcnow
from ..definitions import store
from ..definitions.models import DefinitionVersion
from ..extensions import db
from ..forms import catalogue
from ..i18n import current_locale_tag, localized
from ..org.clock import as_utc
from ..org.models import Department, User
from ..records.access import can_see
from ..records.models import Record
from ..records.queries import form_titles, text_matches
from ..routes.store import compiled_route, current_route
from .labels import humanise
from .models import APPROVAL, OPEN, RUNNING, WAITING, Process, Task
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
    # Lists counted up to a cap and paged by cursor (my requests): more than ``total``, and
    # where the next page starts (None: this is the last).
    capped: bool = False
    next_after: Any = None


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
        conditions.append(text_matches(query.q))
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


# ---- one task --------------------------------------------------------------------------------


def task_for(user: Any, task_id: int) -> Task | None:
    """The task if ``user`` holds or decided it and may see its record; None otherwise (a 404)."""
    if not getattr(user, "is_authenticated", False):
        return None
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


def decided(task: Task) -> tuple[TaskRow, list[dict[str, Any]]]:
    """The task just decided as a list shows it, and the steps its request waits on now with who
    holds them (none once the request has ended).

    Built from the objects the decision itself loaded and changed (the task, its process and
    record, the route and form versions, the people involved; none expire on commit), so a
    decision that ends the request reads nothing more. While the process runs, one query
    reads its open steps and their holders, unless the decision's walk remembers them. Step
    names come from the route version the process runs on and the form title from the
    record's own form version (both compiled once per version).
    """
    record, process = task.record, task.process
    names = _names_in([process.route]) if process.route is not None else {}
    try:
        form_title = catalogue.compiled_form(record.definition).title(current_locale_tag())
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
    return row, _group_steps(current_rows, names).get(record.id, [])
