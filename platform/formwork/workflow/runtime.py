"""Walking a compiled route: activating steps, counting votes, moving on, returning, finishing.

All state is in the database: the ``Process`` row holds the position (``state``: step
statuses and rounds, parallel joins, branch choices, who has approved, sub-task links)
and ``Task`` / ``TrailEntry`` rows hold the work and the history. A ``Walker`` is built
for one transition, changes rows in the caller's transaction and keeps nothing.

How the route is walked
-----------------------
* Nodes run in order. A step whose ``when`` condition does not hold is skipped, with the
  trail entry ``skipped`` (reason "condition false"). A ``Branch`` runs its first case whose
  condition holds, else ``otherwise``. A ``Parallel`` starts all its branches; it is done
  when every branch is done (the join), then the walk continues after it.
* Conditions are evaluated once per transition through ``routes.conditions.holding``, on the
  record's data, with ``$user`` being the submitter (a route with no conditions evaluates nothing).

Approval modes (``n`` = people who got the step; each person is one vote)
---------------------------------------------------------------------------
* ``one`` — everyone resolved gets the task (usually one person); the **first decision,
  either way, settles the step** and the other tasks are cancelled.
* ``all`` (会签) — completes when all ``n`` approve; **one rejection** applies ``on_reject``.
* ``any`` (或签) — the first approval completes the step and cancels the others;
  a rejection only counts when **everyone has rejected** (then ``on_reject`` applies).
* ``k_of_n`` / ``percent`` (票签) — completes when ``k`` approve (``percent``: ``k`` =
  ⌈n·percent/100⌉, at least 1); rejects as soon as ``k`` can no longer be reached
  (rejections > n − k). When fewer than ``k`` people resolve, ``k`` becomes ``n``.
* A **return** is not a vote: whoever returns, in any mode, returns the whole request.

Decisions
---------
* reject and return **require a comment**; every other comment is optional.
* ``on_reject``: ``reject`` ends the request rejected; ``return_to_submitter`` returns it;
  ``return_to_step`` returns to ``return_to``.
* **Return to an earlier step** (on the path that led to the current one): open tasks of the
  returning part are cancelled, every step from the target onwards on that path runs again
  (their earlier approvals no longer count for "already approved"), steps of other parallel
  branches keep their outcome. The record keeps all its data.
* **Return to the submitter**: the record becomes ``returned`` and editable by its owner.
  **Resubmitting continues the same process from the start of its route** (same route
  version, a new round; all earlier approvals are void because the data may have changed).
  The trail keeps everything.
* **Withdraw**: only the submitter; by default only while nobody has acted (no task decided by a
  person; automatic approvals do not count). The route's ``withdraw`` setting may allow it while
  the request runs, or never (``service.withdraw_refusal``).
* **Nobody found**: ``no_approver: refuse`` refuses only in ``begin`` (every step reachable then is
  checked); a step reached later that finds nobody goes to the fallback, else the administrators.
* **Transfer** (转办): the task moves to another active user, who decides in its place
  (``intended_id`` keeps whom the route meant). **Delegate** (委派): the delegate answers
  (approve/reject is their advice), then the task reopens for the original assignee.
  **Recall** (收回): while the delegate has not decided, the person who delegated takes the
  task back: the delegate's task is cancelled (they are told) and the original task reopens.
* **Add signer before** (加签, 前加签): the signer decides first; their approval reopens the
  assignee's task, their rejection counts as this task's rejection. **After** (后加签): when
  the assignee approves, the signer gets the task and the vote counts when they approve
  (their rejection counts as this task's rejection).
* A person who already approved this request in this process is not asked again: their task
  is created already approved (``auto_approved``, "already approved at step X"). Only a decision
  on a task the route gave that person counts: one that reached them by transfer, escalation,
  delegation, an added signer or as an out-of-office stand-in settles its own step only (kept in
  ``state["handed"]``, trail ``not_auto_approved`` at the later step). After a decisive one
  (transfer, escalation, stand-in, signer after) a later step that names them goes to its other
  people, else its fallback, else the administrators — never skipped; after advice (delegate,
  signer before) they are simply asked again.
* Out of office: a task arriving while its person is away goes to the delegate (never to the
  submitter); ``intended_id`` keeps who was meant and the trail records both.
"""

from __future__ import annotations

import copy
import math
from contextlib import contextmanager
from datetime import timedelta
from typing import Any, Callable, Iterator, Sequence

from flask_babel import gettext as _
from sqlalchemy import bindparam, insert, inspect, select
from sqlalchemy.orm.attributes import flag_modified
from sqlalchemy.orm.util import identity_key

from ..db_types import utcnow
from ..extensions import db
from ..forms.state import context_for
from ..i18n import localized
from ..notifications import service as notifications_service
from ..org import directory
from ..org.clock import as_utc
from ..org.models import User
from ..permissions.model import Right
from ..records import access
from ..records.models import Record
from ..records.service import form_for_record
from ..routes import store as route_store
from ..routes.conditions import holding
from ..routes.facts import DUPLICATE_INVOICES, duplicate_invoice_claims
from ..routes.model import Branch, Parallel, RouteModel, Step
from ..rules import RulesEngineError
from . import approvers, route_actions
from .delegation import delegate_for, delegates_for, role_holders_with_absence
from .errors import InvalidDecision
from .models import (
    APPROVAL,
    APPROVED,
    CC,
    OPEN,
    REJECTED,
    RETURNED,
    RUNNING,
    WAITING,
    WITHDRAWN,
    Process,
    Task,
    TrailEntry,
)

READ = "read"  # a CC task its recipient has read
TOP = ""  # the sequence id of the route's top-level nodes
MAIN, TRANSFER, DELEGATE, BEFORE, AFTER = "main", "transfer", "delegate", "before", "after"


# --- the route's shape ----------------------------------------------------------------------------


class RouteIndex:
    """Where every node sits: sequences by id, each node's (sequence, index), each sequence's owner."""

    def __init__(self, route: RouteModel):
        self.seqs: dict[str, tuple[Any, ...]] = {}
        self.parent: dict[str, tuple[str, int]] = {}
        self.owner: dict[str, tuple[Any, int] | None] = {}
        self.nodes: dict[str, Any] = {}
        self._add(TOP, route.nodes, None)

    def _add(self, seq_id: str, nodes: tuple[Any, ...], owner: tuple[Any, int] | None) -> None:
        self.seqs[seq_id] = tuple(nodes)
        self.owner[seq_id] = owner
        for index, node in enumerate(nodes):
            self.parent[node.key] = (seq_id, index)
            self.nodes[node.key] = node
            if isinstance(node, Parallel):
                for j, branch in enumerate(node.branches):
                    self._add(f"{node.key}#{j}", branch, (node, j))
            elif isinstance(node, Branch):
                for c, case in enumerate(node.cases):
                    self._add(f"{node.key}#{c}", case.nodes, (node, c))
                self._add(f"{node.key}#else", node.otherwise, (node, -1))

    def path(self, key: str) -> list[tuple[str, int]]:
        """(sequence, index) pairs from the top down to the node."""
        chain = []
        seq_id, index = self.parent[key]
        while True:
            chain.append((seq_id, index))
            owner = self.owner[seq_id]
            if owner is None:
                break
            seq_id, index = self.parent[owner[0].key]
        return list(reversed(chain))

    def steps_under(self, node: Any) -> Iterator[Step]:
        if isinstance(node, Step):
            yield node
        elif isinstance(node, Parallel):
            for branch in node.branches:
                for child in branch:
                    yield from self.steps_under(child)
        elif isinstance(node, Branch):
            for case in node.cases:
                for child in case.nodes:
                    yield from self.steps_under(child)
            for child in node.otherwise:
                yield from self.steps_under(child)

    def nodes_under(self, node: Any) -> Iterator[Any]:
        """The node and every node nested in it."""
        yield node
        children: list[Any] = []
        if isinstance(node, Parallel):
            children = [child for branch in node.branches for child in branch]
        elif isinstance(node, Branch):
            children = [child for case in node.cases for child in case.nodes] + list(node.otherwise)
        for child in children:
            yield from self.nodes_under(child)

    def ordered_steps(self) -> list[Step]:
        steps: list[Step] = []
        for node in self.seqs[TOP]:
            steps.extend(self.steps_under(node))
        return steps


def route_index(route: RouteModel) -> RouteIndex:
    """The index of a compiled route, built once (compiled routes are cached per version)."""
    index = route.__dict__.get("_formwork_index")
    if index is None:
        index = RouteIndex(route)
        route.__dict__["_formwork_index"] = index
    return index


def thresholds(step: Step, n: int) -> tuple[int, int]:
    """(approvals that complete the step, rejections that reject it) for ``n`` voters."""
    n = max(n, 1)
    if step.mode == "all":
        return n, 1
    if step.mode == "any":
        return 1, n
    if step.mode in ("k_of_n", "percent"):
        if step.mode == "k_of_n":
            k = step.k or 1
        else:
            k = math.ceil(n * (step.percent or 100) / 100)
        k = min(max(k, 1), n)
        return k, n - k + 1
    return 1, 1  # one


# --- side effects ---------------------------------------------------------------------------------


def notifier() -> Callable[..., Any] | None:
    """The function that tells people (``notifications.service.notify``); a seam the tests replace
    to record what a transition says, or to silence it (None: nobody is told)."""
    return notifications_service.notify


# --- what a transition leaves open ---------------------------------------------------------------

_OPEN_HOLDERS = "_formwork_open_holders"  # a plain attribute on the Process object, never stored


def remember_open_holders(process: Process, rows: list[tuple[int, str, int, int, str]] | None) -> None:
    """Keep, on the process object, who holds its open steps after the transition just written
    (``Walker.open_holders``), so the decision's answer need not read it back."""
    setattr(process, _OPEN_HOLDERS, None if rows is None else (process.lock_version, rows))


def remembered_open_holders(process: Process) -> list[tuple[int, str, int, int, str]] | None:
    """The rows kept by ``remember_open_holders`` while the process is unchanged since, else None."""
    kept = getattr(process, _OPEN_HOLDERS, None)
    if kept is None or kept[0] != process.lock_version:
        return None
    return kept[1]


# --- the walker -----------------------------------------------------------------------------------


# Built once (it runs on most transitions): the process's approval tasks that are open or waiting.
_LIVE_TASKS = select(Task).where(
    Task.process_id == bindparam("process_id"), Task.kind == APPROVAL, Task.status.in_((OPEN, WAITING))
)


def empty_state(round_: int = 1) -> dict[str, Any]:
    return {
        "round": round_,
        "steps": {},
        "parallel": {},
        "branch": {},
        "approvals": [],
        "handed": [],
        "tasks": {},
        "after": {},
    }


class Walker:
    """One transition of one process: call one entry point, then ``save()``; the caller commits."""

    starting = False  # True while ``begin`` walks: only then may ``no_approver: refuse`` refuse

    def __init__(self, process: Process, route: RouteModel, *, actor: User | None = None):
        self.process = process
        self.route = route
        self.record = process.record
        self.submitter: User = self.record.owner
        self.actor = actor
        self.index = route_index(route)
        self.state: dict[str, Any] = copy.deepcopy(process.state) if process.state else empty_state(0)
        for key, value in empty_state(self.state.get("round", 0)).items():
            self.state.setdefault(key, value)
        self.now = utcnow()
        self._holding: set[str] | None = None
        self._holding_alerts = False  # whether ``_holding`` includes the alert rules
        self._form: Any = None
        self._context: dict[str, Any] | None = None
        self._trail: list[dict[str, Any]] = []  # written by ``save()`` in one statement
        self._notices: list[
            tuple[list[int | User], str, Task | None, dict[str, Any]]
        ] = []  # sent by ``save()``
        self._live: list[Task] | None = None  # the process's approval tasks once open or waiting
        self._holders: dict[int, User] = {}  # the people given a task in this transition, by id
        self._created: list[Task] = []  # the approval tasks made in this transition
        self.written: list[Task] = []  # every task made in this transition (approvals, copies)
        self.told: set[int] = set()  # the people made readers of the record in this transition

    # -- helpers

    @property
    def context(self) -> dict[str, Any]:
        if self._context is None:
            self._context = context_for(self.submitter)
        return self._context

    @property
    def form(self) -> Any:
        if self._form is None:
            self._form = form_for_record(self.record)
        return self._form

    def holding(self, *, alerts: bool = False) -> set[str]:
        """Rule names that hold for the record, evaluated once per transition.

        Alert rules are answered only when asked for (at the start): the facts only they read are
        then computed too, and skipped on every later transition.
        """
        if self._holding is None or (alerts and not self._holding_alerts):
            if not self.route.conditions and not self.route.alerts:
                self._holding = set()
            else:
                try:
                    self._holding = set(holding(self.route, self.record, context=self.context, alerts=alerts))
                except RulesEngineError as exc:
                    raise InvalidDecision(
                        _("The route's conditions could not be evaluated: %(reason)s", reason=exc.message)
                    ) from None
            self._holding_alerts = alerts
        return self._holding

    def save(self) -> None:
        """Write the position back; always an UPDATE, so the version check guards every transition.

        The transition's notifications are written here, and its trail entries inserted in one
        executemany: nothing reads them back during the transition, so writing them one by one
        through the ORM (each flush also writing the process row) is waste.
        """
        self.process.state = self.state
        flag_modified(self.process, "state")
        # Notifications go out once the position is final, so the process row is written once.
        rows: list[dict[str, Any]] = []
        notify = notifier() if self._notices else None
        if notify is not None:  # None: no notifications module installed, nobody to tell
            for ids, kind, task, extra in self._notices:
                notify(ids, kind, record=self.record, task=task, params=extra, into=rows)
        self._notices = []
        db.session.flush()
        if rows:  # every notification of the transition in one INSERT
            notifications_service.insert_notifications(rows)
        if self._trail:
            db.session.execute(insert(db.metadata.tables[TrailEntry.__tablename__]), self._trail)
            self._trail = []

    def open_holders(self) -> list[tuple[int, str, int, int, str]] | None:
        """``(record id, step key, route id, holder id, holder name)`` of every open approval task
        after this transition, oldest first — what ``queries.decision_json`` would otherwise read
        back — or None when the walk does not know them all or does not hold every holder."""
        tasks = self._live if self._live is not None else self._known_open()
        if tasks is None:
            return None
        rows = []
        for task in sorted(tasks, key=lambda t: (as_utc(t.created_at), t.id)):
            if task.status != OPEN:
                continue
            holder = self._holders.get(task.assignee_id) or db.session.identity_map.get(
                identity_key(User, task.assignee_id)
            )
            if holder is None or "display_name" in inspect(holder).unloaded:
                return None
            rows.append(
                (self.record.id, task.step_key, self.process.route_id, holder.id, holder.display_name)
            )
        return rows

    def trail(
        self,
        action: str,
        *,
        task: Task | None = None,
        step_key: str | None = None,
        actor: User | None = None,
        on_behalf_of: int | None = None,
        comment: str | None = None,
        attachment_ids: list[int] | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        self._trail.append(
            dict(
                process_id=self.process.id,
                record_id=self.record.id,
                task_id=task.id if task else None,
                step_key=step_key or (task.step_key if task else None),
                action=action,
                actor_id=actor.id if actor else None,
                on_behalf_of_id=on_behalf_of,
                comment=comment,
                attachment_ids=attachment_ids or None,
                details=details,
                at=self.now,
            )
        )

    def notify(
        self,
        people: Sequence[int | User],
        kind: str,
        *,
        task: Task | None = None,
        params: dict[str, Any] | None = None,
    ) -> None:
        """In-app and outbox notifications in this transaction, written by ``save()`` (skipped when
        notifications are not installed). ``people`` are ids or, where the walk holds them, the
        users themselves (then nobody is read again)."""
        by_id: dict[int, int | User] = {}
        for person in people:
            if person is not None:
                key = person.id if isinstance(person, User) else person
                if not isinstance(by_id.get(key), User):
                    by_id[key] = person
        ids = [by_id[key] for key in sorted(by_id)]
        if notifier() is None or not ids:
            return
        extra = dict(params or {})
        if self.actor is not None:
            extra.setdefault("actor", self.actor.display_name)
        self._notices.append((ids, kind, task, extra))

    def step_state(self, key: str) -> dict[str, Any]:
        return self.state["steps"].setdefault(key, {"status": "pending", "round": 0})

    def task_info(self, task: Task) -> tuple[str, int]:
        """(type, slot) of a task: its kind of work and the vote it stands for."""
        info = self.state["tasks"].get(str(task.id))
        if info is None:
            return MAIN, task.id
        return info["type"], info["slot"]

    def approved_at(self, user_id: int) -> str | None:
        for uid, step_key in self.state["approvals"]:
            if uid == user_id:
                return step_key
        return None

    def handed_approvals(self) -> dict[int, tuple[str, str, bool]]:
        """People whose only approvals so far came to them by hand-over: id → (step key, how, decisive).

        Such a decision never counts as "already approved" at a later step. A decisive one (it
        settled its step: transfer, escalation, stand-in, signer after) leaves the person out of
        a later step; advice (a delegate's opinion, a signer before) is asked again there (see
        ``approvers.resolve_step``'s ``excluded``)."""
        handed: dict[int, tuple[str, str, bool]] = {}
        for uid, step_key, how, decisive in self.state["handed"]:
            if self.approved_at(uid) is None and (uid not in handed or (decisive and not handed[uid][2])):
                handed[uid] = (step_key, how, decisive)
        return handed

    def how_handed(self, task: Task, task_type: str, actor: User) -> str | None:
        """How ``task`` reached ``actor`` when the route did not give it to them: transfer, delegate,
        add_signer or out_of_office; None for their own task."""
        if task_type == TRANSFER:
            return "transfer"
        if task_type == DELEGATE:
            return "delegate"
        if task_type in (BEFORE, AFTER):
            return "add_signer"
        if (task.intended_id or task.assignee_id) != actor.id:
            return "out_of_office"
        return None

    def step_tasks(self, step_key: str) -> list[Task]:
        known = self._known_open(step_key)
        if known is not None:
            return known
        return [task for task in self.open_tasks() if task.step_key == step_key]

    def _known_open(self, step_key: str | None = None) -> list[Task] | None:
        """The open tasks (of ``step_key``, or all) without reading them back, when every one of
        them was made in this transition; else None (``open_tasks`` reads them)."""
        if self._live is not None:
            return None
        known = self._open_by_state(step_key)
        if known is None or not set(known) <= {task.id for task in self._created}:
            return None
        return [
            t
            for t in self._created
            if (step_key is None or t.step_key == step_key) and t.status in (OPEN, WAITING)
        ]

    def _open_by_state(self, step_key: str | None = None) -> list[int] | None:
        """The ids of the open approval tasks (of ``step_key``, or of every step) as the position
        records them, or None when it cannot tell.

        While no task of the process is a sub-task (delegated, added signer, transferred: each is
        entered in ``state["tasks"]``), every approval task is one slot of its step, and a slot is
        open exactly while its active step holds no vote for it. Anything else is read back.
        """
        if self.state["tasks"]:
            return None
        found: list[int] = []
        for key, step in self.state["steps"].items():
            if step.get("status") != "active" or (step_key is not None and key != step_key):
                continue
            votes = step.get("votes") or {}
            found.extend(slot for slot in step.get("slots") or () if str(slot) not in votes)
        return found

    def open_tasks(self) -> list[Task]:
        """The process's open or waiting approval tasks, as they stand now in this transition.

        Read once per transition; tasks created since (``new_task``) are added, and statuses are
        read from the objects, which are the same ones the session holds.
        """
        if self._live is None:
            # No autoflush: the statuses changed in this transition are read from the objects
            # below, so writing them out first (a flush of its own) would change nothing.
            with db.session.no_autoflush:
                self._live = list(db.session.scalars(_LIVE_TASKS, {"process_id": self.process.id}))
        return [task for task in self._live if task.status in (OPEN, WAITING)]

    def cancel(self, tasks: list[Task]) -> None:
        for task in tasks:
            task.status = "cancelled"
            task.decided_at = self.now
            self.state["after"].pop(str(self.task_info(task)[1]), None)

    def new_task(
        self,
        step: Step,
        intended: User,
        *,
        kind: str = APPROVAL,
        parent: Task | None = None,
        task_type: str = MAIN,
        slot: int | None = None,
        meant: int | None = None,
        notify_kind: str = "task_assigned",
    ) -> Task:
        """Create a task for ``intended`` (or their out-of-office delegate) and tell the assignee."""
        assignee = intended
        if kind == APPROVAL:
            assignee = delegate_for(intended, self.now, avoid={self.submitter.id})
        task = self._add_task(step, intended, assignee, kind=kind, parent=parent, meant=meant)
        db.session.flush()
        self._task_added(
            task, intended, assignee, kind=kind, task_type=task_type, slot=slot, notify_kind=notify_kind
        )
        return task

    def _add_task(
        self,
        step: Step,
        intended: User,
        assignee: User,
        *,
        kind: str,
        parent: Task | None = None,
        meant: int | None = None,
    ) -> Task:
        """The new open task, added to the session (not flushed: its id comes with the next flush)."""
        due_at = remind_at = None
        if kind == APPROVAL and step.deadline is not None:
            due_at = self.now + timedelta(hours=step.deadline.hours)
            if step.deadline.remind_every_hours:
                remind_at = self.now + timedelta(hours=step.deadline.remind_every_hours)
        task = Task(
            process_id=self.process.id,
            record_id=self.record.id,
            step_key=step.key,
            round=self.step_state(step.key).get("round", 1) or 1,
            kind=kind,
            status=OPEN,
            assignee_id=assignee.id,
            intended_id=meant or intended.id,
            parent_task_id=parent.id if parent else None,
            created_at=self.now,
            due_at=due_at,
            remind_at=remind_at,
        )
        db.session.add(task)
        self.written.append(task)
        return task

    def _task_added(
        self,
        task: Task,
        intended: User,
        assignee: User,
        *,
        kind: str,
        task_type: str = MAIN,
        slot: int | None = None,
        notify_kind: str = "task_assigned",
    ) -> None:
        """What follows a new task once it has its id: the walk's bookkeeping, the trail, the notice."""
        if kind == APPROVAL:
            self._created.append(task)
            self._holders[assignee.id] = assignee
            if self._live is not None:
                self._live.append(task)
        if task_type != MAIN:
            self.state["tasks"][str(task.id)] = {
                "type": task_type,
                "slot": slot if slot is not None else task.id,
            }
        if assignee.id != intended.id:
            self.trail(
                "redirected_out_of_office",
                task=task,
                on_behalf_of=intended.id,
                details={"intended": intended.id, "delegate": assignee.id},
            )
        self.notify([assignee], "cc" if kind == CC else notify_kind, task=task)

    # -- starting

    def begin(self) -> None:
        """Start (or, after a return to the submitter, restart) the route from its first node."""
        self.state = empty_state(self.state.get("round", 0) + 1)
        self.starting = True
        self._check_forbidden()
        self._alerts()
        self._check_refused()
        if self.run(TOP, 0):
            self.finish(APPROVED)

    def _check_forbidden(self) -> None:
        """``forbid`` refuses at the start, even for a step reached only later."""
        for step in self.route.steps.values():
            if (step.self_approval or self.route.self_approval) == "forbid":
                approvers.resolve_step(
                    step, self.route, self.record, self.submitter, form=self.form, context=self.context
                )

    def _check_refused(self) -> None:
        """``no_approver: refuse`` refuses at the start only, so every step the request can reach
        (its conditions as they hold now) must find someone now; a step reached later that finds
        nobody goes to the fallback or the administrators instead (``approvers.resolve_step``)."""
        for step in self._reachable(self.index.seqs[TOP]):
            if (step.no_approver or self.route.no_approver) == "refuse":
                approvers.resolve_step(
                    step, self.route, self.record, self.submitter, form=self.form, context=self.context
                )

    def _reachable(self, nodes: tuple[Any, ...]) -> Iterator[Step]:
        for node in nodes:
            if isinstance(node, Step):
                if not node.when or node.when in self.holding():
                    yield node
            elif isinstance(node, Parallel):
                for branch in node.branches:
                    yield from self._reachable(branch)
            else:
                chosen = next(
                    (case.nodes for case in node.cases if case.when in self.holding()), node.otherwise
                )
                yield from self._reachable(chosen)

    def later_step_naming(self, person: User, current: Step) -> Step | None:
        """A step still to run (as the conditions hold now) whose approvers name ``person``, else None."""
        for step in self._reachable(self.index.seqs[TOP]):
            if step.key == current.key or self.step_state(step.key).get("status") not in (None, "pending"):
                continue
            named = approvers.resolve_specs(
                step.approvers, self.record, self.submitter, form=self.form, context=self.context
            )
            if any(user.id == person.id for _, user in named):
                return step
        return None

    def check_hand_over(self, task: Task, target: User) -> None:
        """With the route's ``hand_over: refuse``, refuse handing a decision (transfer, signer after)
        to someone a later step names: their one decision would stand for two control steps."""
        if self.route.hand_over != "refuse":
            return
        step = self.route.steps[task.step_key]
        later = self.later_step_naming(target, step)
        if later is not None:
            raise InvalidDecision(
                _(
                    "%(person)s approves a later step (%(step)s) of this request, so this task cannot "
                    "be handed to them; choose someone else.",
                    person=target.display_name or target.username,
                    step=localized(later.name) or later.key,
                )
            )

    def _alerts(self) -> None:
        if not self.route.alerts:
            return
        holding = self.holding(alerts=True)
        for alert in self.route.alerts:
            if alert.when not in holding:
                continue
            people = [
                u
                for _, u in approvers.resolve_specs(
                    alert.notify, self.record, self.submitter, form=self.form, context=self.context
                )
            ]
            details: dict[str, Any] = {"alert": alert.key, "users": [u.id for u in people]}
            params: dict[str, Any] = {"alert": alert.key, "message": alert.message}
            claims: dict[str, Any] = {}
            if "$" + DUPLICATE_INVOICES.name in (self.route.conditions.get(alert.when) or ""):
                # Name the invoice numbers and the other claims: "duplicate" alone sends people searching.
                path = (self.route.fact_settings.get(DUPLICATE_INVOICES.name) or {}).get("field")
                claims = duplicate_invoice_claims(self.record, path)
                details["invoices"] = {number: [i for i, _ in found] for number, found in claims.items()}
                params["invoices"] = "; ".join(
                    f"{number} (" + ", ".join(f"#{i}" for i, _ in found) + ")"
                    for number, found in claims.items()
                )
            self.trail("alert", details=details)
            # Whoever is alerted about a record may open it (and the claims it names), or the alert
            # would lead to a 404.
            told = [u.id for u in people]
            access.add_readers(self.record.id, told, f"alert:{alert.key}")
            self.told.update(told)
            for other in sorted({i for found in claims.values() for i, _title in found}):
                access.add_readers(other, told, f"alert:{alert.key}")
            if "invoices" in params and path:
                # The invoice numbers are field values: not in the text of whoever may not read them.
                blind = [u for u in people if not _reads_in_full(u, self.record, path)]
                seeing = [u for u in people if u not in blind]
                self.notify(seeing, "alert", params=params)
                self.notify(blind, "alert", params={k: v for k, v in params.items() if k != "invoices"})
            else:
                self.notify(people, "alert", params=params)

    # -- walking

    def run(self, seq_id: str, start: int) -> bool:
        """Enter the nodes of a sequence from ``start``; True when the whole sequence is done now."""
        nodes = self.index.seqs[seq_id]
        for index in range(start, len(nodes)):
            if self.process.status != RUNNING or not self.enter(nodes[index]):
                return False
        return self.process.status == RUNNING

    def enter(self, node: Any) -> bool:
        if isinstance(node, Step):
            return self.activate(node)
        if isinstance(node, Parallel):
            done: list[int] = []
            self.state["parallel"][node.key] = done
            for j in range(len(node.branches)):
                if self.run(f"{node.key}#{j}", 0):
                    done.append(j)
            return len(done) == len(node.branches)
        holding = self.holding()
        chosen = next((c for c, case in enumerate(node.cases) if case.when in holding), -1)
        self.state["branch"][node.key] = chosen
        self.trail("branch", step_key=node.key, details={"case": chosen})
        return self.run(f"{node.key}#{chosen if chosen >= 0 else 'else'}", 0)

    def continue_after(self, node: Any) -> None:
        seq_id, index = self.index.parent[node.key]
        if self.run(seq_id, index + 1):
            self.sequence_done(seq_id)

    def sequence_done(self, seq_id: str) -> None:
        if self.process.status != RUNNING:
            return
        owner = self.index.owner[seq_id]
        if owner is None:
            self.finish(APPROVED)
            return
        node, j = owner
        if isinstance(node, Parallel):
            done = self.state["parallel"].setdefault(node.key, [])
            if j not in done:
                done.append(j)
            if len(done) < len(node.branches):
                return
        self.continue_after(node)

    def activate(self, step: Step) -> bool:
        """Start a step: skip it, or create its tasks; True when it is already complete."""
        state = self.step_state(step.key)
        round_ = state.get("round", 0) + 1
        if step.when and step.when not in self.holding():
            self.state["steps"][step.key] = {"status": "skipped", "round": round_}
            self.trail("skipped", step_key=step.key, details={"reason": "condition false"})
            return True
        # Who approves depends on the organisation only, never on this transition's pending
        # changes: reading it without an autoflush lets them go out with the step's tasks below.
        # The holders of every role the step names, approvers and copies alike, are read at once,
        # each with whether they are away now.
        role_keys = sorted(
            {spec.value for spec in (*step.approvers, *step.cc) if spec.kind == "role" and spec.value}
        )
        cc: list[User] = []
        delegates: dict[int, User] = {}
        with db.session.no_autoflush, self._roles_known(role_keys) as known_away:
            resolution = approvers.resolve_step(
                step,
                self.route,
                self.record,
                self.submitter,
                form=self.form,
                context=self.context,
                at_start=self.starting,
                excluded=self.handed_approvals(),
            )
            if not resolution.skipped:
                cc = approvers.resolve_cc(
                    step, self.record, self.submitter, form=self.form, context=self.context
                )
                delegates = delegates_for(
                    [u for u in resolution.users if self.approved_at(u.id) is None],
                    self.now,
                    avoid={self.submitter.id},
                    known_away=known_away,
                )
        return self._activate_resolved(step, round_, resolution, cc, delegates)

    @contextmanager
    def _roles_known(self, role_keys: list[str]) -> Iterator[dict[int, bool] | None]:
        if not role_keys:
            yield None
            return
        rows = role_holders_with_absence(role_keys, self.now)
        with directory.role_holders_known(rows, role_keys):
            yield {user.id: bool(away) for user, _scope, _key, away in rows}

    def _activate_resolved(
        self, step: Step, round_: int, resolution: Any, cc: list[User], delegates: dict[int, User]
    ) -> bool:
        """``activate`` once its people are known: the step's tasks, copies, trail, and the vote count."""
        for action, details in resolution.notes:
            self.trail(action, step_key=step.key, details=details)
        if resolution.skipped:
            self.state["steps"][step.key] = {"status": "skipped", "round": round_}
            self.trail("skipped", step_key=step.key, details={"reason": "no approver"})
            return True
        need, reject_at = thresholds(step, len(resolution.users))
        state: dict[str, Any] = {
            "status": "active",
            "round": round_,
            "slots": [],
            "votes": {},
            "need": need,
            "reject_at": reject_at,
        }
        self.state["steps"][step.key] = state
        # Every task of the step is added first and written in one INSERT (one flush gives the ids);
        # then each is recorded in the order the approvers were resolved (copies and delegations
        # were read before, so no query's autoflush writes them piecemeal).
        added: list[tuple[Task, User, User | None, str | None]] = []  # task, intended, assignee, approved at
        for user in resolution.users:
            earlier = self.approved_at(user.id)
            if earlier is None:
                added.append(
                    (
                        self._add_task(step, user, delegates[user.id], kind=APPROVAL),
                        user,
                        delegates[user.id],
                        None,
                    )
                )
            else:
                task = Task(
                    process_id=self.process.id,
                    record_id=self.record.id,
                    step_key=step.key,
                    round=round_,
                    kind=APPROVAL,
                    status="approved",
                    assignee_id=user.id,
                    intended_id=user.id,
                    created_at=self.now,
                    decided_at=self.now,
                    decision="auto_approved",
                )
                db.session.add(task)
                self.written.append(task)
                added.append((task, user, None, earlier))
        copies = [(self._add_task(step, user, user, kind=CC), user) for user in cc]
        db.session.flush()
        for task, user, assignee, earlier in added:
            if assignee is not None:
                self._task_added(task, user, assignee, kind=APPROVAL)
            else:
                state["votes"][str(task.id)] = "approve"
                self.trail(
                    "auto_approved", task=task, details={"user": user.id, "already_approved_at": earlier}
                )
            state["slots"].append(task.id)
        for task, user in copies:
            self._task_added(task, user, user, kind=CC)
        if cc:
            self.trail("cc", step_key=step.key, details={"users": [u.id for u in cc]})
        return self.settle(step) == "approved"

    # -- votes

    def settle(self, step: Step) -> str | None:
        """Apply the mode to the votes so far: "approved", "rejected", or None (still waiting)."""
        state = self.state["steps"][step.key]
        votes = list(state["votes"].values())
        approvals, rejections = votes.count("approve"), votes.count("reject")
        if approvals >= state["need"]:
            outcome = "approved"
        elif rejections >= state["reject_at"]:
            outcome = "rejected"
        else:
            return None
        still_open = self.step_tasks(step.key)  # read while the step is active (see _open_by_state)
        state["status"] = outcome
        self.cancel(still_open)
        self.trail(
            f"step_{outcome}",
            step_key=step.key,
            details={"approvals": approvals, "rejections": rejections, "needed": state["need"]},
        )
        return outcome

    def vote(self, step: Step, slot: int, decision: str) -> None:
        self.state["steps"][step.key]["votes"][str(slot)] = decision
        outcome = self.settle(step)
        if outcome == "approved":
            self.continue_after(step)
        elif outcome == "rejected":
            self.apply_on_reject(step)

    def apply_on_reject(self, step: Step) -> None:
        if step.on_reject == "return_to_submitter":
            self.return_to_submitter()
        elif step.on_reject == "return_to_step" and step.return_to:
            self.return_to_step(step, step.return_to)
        else:
            self.finish(REJECTED)

    # -- decisions (the service has checked the task is open and the actor's)

    def _close(self, task: Task, status: str, decision: str, actor: User | None, comment: str | None) -> None:
        task.status = status
        task.decision = decision
        task.decided_at = self.now
        task.decided_by_id = actor.id if actor else None
        task.comment = comment

    def _reopen(self, task_id: int | None) -> None:
        parent = db.session.get(Task, task_id) if task_id else None
        if parent is not None and parent.status == WAITING:
            parent.status = OPEN
            self.notify([parent.assignee_id], "task_assigned", task=parent)

    def _on_behalf(self, task: Task, actor: User | None) -> int | None:
        meant = task.intended_id or task.assignee_id
        return meant if actor is None or meant != actor.id else None

    def approve(
        self, task: Task, actor: User | None, comment: str | None, attachment_ids: list[int] | None
    ) -> None:
        step = self.route.steps[task.step_key]
        task_type, slot = self.task_info(task)
        self._close(task, "approved", "approve", actor, comment)
        self.trail(
            "approve",
            task=task,
            actor=actor,
            on_behalf_of=self._on_behalf(task, actor),
            comment=comment,
            attachment_ids=attachment_ids,
        )
        if actor is not None:
            how = self.how_handed(task, task_type, actor)
            if how is None:
                self.state["approvals"].append([actor.id, step.key])
            else:
                self.state["handed"].append([actor.id, step.key, how, task_type not in (DELEGATE, BEFORE)])
        if task_type in (DELEGATE, BEFORE):
            self._reopen(task.parent_task_id)
            return
        pending = self.state["after"].get(str(slot))
        if pending:
            signer = db.session.get_one(User, pending.pop(0))
            if not pending:
                self.state["after"].pop(str(slot))
            self.new_task(step, signer, parent=task, task_type=AFTER, slot=slot)
            return
        self.vote(step, slot, "approve")

    def reject(
        self, task: Task, actor: User | None, comment: str | None, attachment_ids: list[int] | None
    ) -> None:
        step = self.route.steps[task.step_key]
        task_type, slot = self.task_info(task)
        self._close(task, "rejected", "reject", actor, comment)
        self.trail(
            "reject",
            task=task,
            actor=actor,
            on_behalf_of=self._on_behalf(task, actor),
            comment=comment,
            attachment_ids=attachment_ids,
        )
        if task_type == DELEGATE:
            self._reopen(task.parent_task_id)
            return
        if task_type == BEFORE and task.parent_task_id:
            parent = db.session.get(Task, task.parent_task_id)
            if parent is not None and parent.status == WAITING:
                self._close(parent, "rejected", "reject", actor, comment)
        self.state["after"].pop(str(slot), None)
        self.vote(step, slot, "reject")

    def return_request(
        self, task: Task, actor: User, comment: str, step_key: str | None, attachment_ids: list[int] | None
    ) -> None:
        step = self.route.steps[task.step_key]
        if step_key is not None:
            self.check_return_target(step, step_key)
        self._close(task, "returned", "return", actor, comment)
        self.trail(
            "return",
            task=task,
            actor=actor,
            on_behalf_of=self._on_behalf(task, actor),
            comment=comment,
            attachment_ids=attachment_ids,
            details={"to": step_key or "submitter"},
        )
        if step_key is None:
            self.return_to_submitter()
        else:
            self.return_to_step(step, step_key)

    def transfer(
        self, task: Task, actor: User | None, target: User, comment: str | None, *, action: str = "transfer"
    ) -> Task:
        step = self.route.steps[task.step_key]
        task_type, slot = self.task_info(task)
        self._close(task, "transferred", action, actor, comment)
        new_type = TRANSFER if task_type in (MAIN, TRANSFER) else task_type
        new = self.new_task(
            step,
            target,
            parent=db.session.get(Task, task.parent_task_id) if task.parent_task_id else None,
            task_type=new_type,
            slot=slot,
            meant=task.intended_id or task.assignee_id,
            notify_kind="escalated" if action == "escalate" else "transferred",
        )
        if new_type == TRANSFER and str(new.id) not in self.state["tasks"]:
            self.state["tasks"][str(new.id)] = {"type": TRANSFER, "slot": slot}
        self.trail(
            action,
            task=task,
            actor=actor,
            on_behalf_of=self._on_behalf(task, actor),
            comment=comment,
            details={"to": target.id, "task": new.id},
        )
        return new

    def delegate(self, task: Task, actor: User, target: User, comment: str | None) -> Task:
        step = self.route.steps[task.step_key]
        _, slot = self.task_info(task)
        task.status = WAITING
        new = self.new_task(step, target, parent=task, task_type=DELEGATE, slot=slot, notify_kind="delegated")
        self.trail(
            "delegate",
            task=task,
            actor=actor,
            on_behalf_of=self._on_behalf(task, actor),
            comment=comment,
            details={"to": target.id, "task": new.id},
        )
        return new

    def recall(
        self, task: Task, actor: User, comment: str | None, attachment_ids: list[int] | None = None
    ) -> Task:
        """Take a delegated (委派) task back before the delegate decides; returns the delegate's task."""
        pending = pending_delegate(task, self.state)
        if pending is None:
            raise InvalidDecision(_("There is nothing to take back: the task is not waiting for a delegate."))
        pending.status = "cancelled"
        pending.decision = "recalled"
        pending.decided_at = self.now
        task.status = OPEN
        self.trail(
            "recall",
            task=task,
            actor=actor,
            on_behalf_of=self._on_behalf(task, actor),
            comment=comment,
            attachment_ids=attachment_ids,
            details={"from": pending.assignee_id, "task": pending.id},
        )
        self.notify([pending.assignee_id], "recalled", task=pending)
        return pending

    def add_signer(
        self, task: Task, actor: User, target: User, position: str | None, comment: str | None
    ) -> Task | None:
        step = self.route.steps[task.step_key]
        _, slot = self.task_info(task)
        new = None
        if position == "before":
            task.status = WAITING
            new = self.new_task(step, target, parent=task, task_type=BEFORE, slot=slot)
        else:
            self.state["after"].setdefault(str(slot), []).append(target.id)
        self.trail(
            "add_signer",
            task=task,
            actor=actor,
            on_behalf_of=self._on_behalf(task, actor),
            comment=comment,
            details={"to": target.id, "position": position, "task": new.id if new else None},
        )
        return new

    # -- returning and finishing

    def return_to_submitter(self) -> None:
        self.cancel(self.open_tasks())
        for state in self.state["steps"].values():
            if state.get("status") == "active":
                state["status"] = "returned"
        self.process.status = RETURNED
        self.record.status = "returned"
        self.trail("returned", details={"to": "submitter"})
        self.notify([self.submitter], "returned")

    def check_return_target(self, step: Step, target_key: str) -> tuple[str, int, int]:
        """The common sequence and the two indices; refuses a target that is not earlier on the path."""
        if target_key not in self.route.steps:
            raise InvalidDecision(_('There is no step "%(step)s" in this route.', step=target_key))
        target_path, step_path = self.index.path(target_key), self.index.path(step.key)
        for (t_seq, t_index), (s_seq, s_index) in zip(target_path, step_path, strict=False):
            if t_seq != s_seq:
                break
            if t_index != s_index:
                if t_index < s_index and self.state["steps"].get(target_key, {}).get("status") != "skipped":
                    return t_seq, t_index, s_index
                break
        raise InvalidDecision(_('"%(step)s" is not an earlier step of this request.', step=target_key))

    def return_to_step(self, step: Step, target_key: str) -> None:
        seq_id, t_index, s_index = self.check_return_target(step, target_key)
        nodes = self.index.seqs[seq_id]
        reset: list[Any] = list(nodes[t_index + 1 : s_index + 1])
        # Inside the node holding the target: the target and whatever follows it, level by level.
        target_path = self.index.path(target_key)
        depth = next(i for i, (seq, _) in enumerate(target_path) if seq == seq_id)
        for level, (inner_seq, inner_index) in enumerate(target_path[depth + 1 :], start=depth + 1):
            inner = self.index.seqs[inner_seq]
            is_last = level == len(target_path) - 1
            reset.extend(inner[inner_index if is_last else inner_index + 1 :])
            owner = self.index.owner[inner_seq]
            if owner is not None and isinstance(owner[0], Parallel):
                done = self.state["parallel"].get(owner[0].key, [])
                if owner[1] in done:
                    done.remove(owner[1])
        if len(target_path) == depth + 1:
            reset.append(self.index.nodes[target_key])
        reset_steps = {s.key for node in reset for s in self.index.steps_under(node)}
        for node in reset:
            for inner in self.index.nodes_under(node):
                self.state["parallel"].pop(inner.key, None)
                self.state["branch"].pop(inner.key, None)
        self.cancel([t for t in self.open_tasks() if t.step_key in reset_steps])
        for key in reset_steps:
            if key in self.state["steps"]:
                self.state["steps"][key]["status"] = "pending"
        self.state["approvals"] = [a for a in self.state["approvals"] if a[1] not in reset_steps]
        self.state["handed"] = [a for a in self.state["handed"] if a[1] not in reset_steps]
        self.trail("returned", step_key=target_key, details={"to": target_key, "from": step.key})
        seq, index = self.index.parent[target_key]
        if self.run(seq, index):
            self.sequence_done(seq)

    def finish(self, status: str) -> None:
        waiting = self._known_open()
        if waiting is None:
            waiting = self.open_tasks()
        self.cancel(waiting)
        if status == WITHDRAWN:
            self.notify([t.assignee_id for t in waiting], "withdrawn")
        self.process.status = status
        self.process.finished_at = self.now
        self.record.status = status
        self.trail(status)
        # Granting or revoking a role: in this transaction, so it stands or falls with the decision.
        if status == APPROVED:
            route_actions.run(self, status, self.route.on_approved)
        elif status == REJECTED:
            route_actions.run(self, status, self.route.on_rejected)
        if status != WITHDRAWN:
            self.notify([self.submitter], status)


def pending_delegate(task: Task, state: dict[str, Any] | None) -> Task | None:
    """The open delegate (委派) task that ``task`` waits for, or None (not waiting, or for someone else)."""
    if task.status != WAITING or task.kind != APPROVAL:
        return None
    types = (state or {}).get("tasks") or {}
    children = db.session.scalars(
        select(Task).where(Task.parent_task_id == task.id, Task.status == OPEN, Task.kind == APPROVAL)
    )
    return next(
        (child for child in children if (types.get(str(child.id)) or {}).get("type") == DELEGATE), None
    )


def load_route(process: Process) -> RouteModel:
    """The compiled route version the process started with."""
    return route_store.compiled_route(process.route)


def _reads_in_full(user: Any, record: Record, path: str) -> bool:
    """Whether ``user``'s field rights (permission definitions) let them read ``path`` unmasked."""
    rights = access.rights_of(user, record)
    return rights is None or rights.right(path) >= Right.READ
