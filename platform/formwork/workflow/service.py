"""The workflow's public actions: start on submit, decide on a task, withdraw, read a copy, due work.

Every decision locks the process row (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite
serialises writers) and re-reads the task after the lock, so two people deciding the same
step at the same moment — or one person clicking twice — give exactly one transition: the
loser gets ``TaskClosed`` ("already decided"). The process row's ``lock_version`` is bumped on
every transition as a second guard (a stale write is retried, then refused).
The rules of the walk are documented in ``runtime``.
"""

from __future__ import annotations

from typing import Any, Callable

from flask_babel import gettext as _
from sqlalchemy import bindparam, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import aliased
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from ..audit import actions, trail
from ..db_types import utcnow
from ..definitions.models import DefinitionVersion
from ..extensions import db, transaction
from ..org.models import User
from ..records.attachments import decision_field
from ..records.models import Attachment, Record
from ..routes import store as route_store
from ..routes.model import RouteModel
from . import approvers, read_policy
from .errors import InvalidDecision, NotYourTask, StartRefused, TaskClosed, WorkflowError
from .models import APPROVAL, CC, OPEN, RETURNED, RUNNING, WAITING, WITHDRAWN, Process, Task
from .runtime import AFTER, BEFORE, DELEGATE, READ, Walker, load_route, remember_open_holders

ACTIONS = (
    "approve",
    "reject",
    "return",
    "transfer",
    "delegate",
    "add_signer",
    "comment",
    "withdraw",
    "recall",
)
COMMENT_REQUIRED = ("reject", "return", "comment")
MAX_COMMENT = 4000
MAX_ATTACHMENTS = 20
MAX_ATTEMPTS = 3  # a stale write (another transition committed meanwhile) is retried this often

__all__ = [
    "ACTIONS",
    "start",
    "decide",
    "withdraw",
    "withdraw_refusal",
    "mark_read",
    "auto_decide",
    "escalate",
    "route_version_for",
    "compiled_route",
    "current_process",
    "WorkflowError",
    "NotYourTask",
    "TaskClosed",
    "InvalidDecision",
    "StartRefused",
]


# --- the routes area's functions --------------------------------------------------------------------


def route_version_for(form_key: str) -> DefinitionVersion | None:
    """The current route version attached to the form, or None (the form has no route)."""
    return route_store.route_for_form(form_key)


def compiled_route(version: DefinitionVersion) -> RouteModel:
    return route_store.compiled_route(version)


# --- helpers ---------------------------------------------------------------------------------------


def current_process(record: Record) -> Process | None:
    """The record's latest process (a record has one; it runs again after a return)."""
    return db.session.scalar(
        select(Process).where(Process.record_id == record.id).order_by(Process.id.desc()).limit(1)
    )


def _lock_process(process_id: int) -> Process:
    return db.session.execute(
        select(Process)
        .where(Process.id == process_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()


def _comment_required(action: str) -> str:
    """What to write when ``action`` needs a comment, said for that action."""
    texts = {
        "reject": _("A comment is required to reject: say why."),
        "return": _("A comment is required to return the request: say what to change."),
    }
    return texts.get(action, _("A comment is required: write one."))


def _clean_comment(comment: Any) -> str | None:
    if comment is None:
        return None
    if not isinstance(comment, str):
        raise InvalidDecision(_("A comment must be text."))
    comment = comment.strip()
    if len(comment) > MAX_COMMENT:
        raise InvalidDecision(_("A comment can be at most %(n)s characters.", n=MAX_COMMENT))
    return comment or None


def _claim_attachments(ids: Any, user: User, record: Record) -> list[int] | None:
    """Attach the decider's own uploads for a decision on this record (``attachments.decision_field``).

    A file uploaded for a form field, for another record, or by someone else is "not available".
    """
    if not ids:
        return None
    if (
        not isinstance(ids, list)
        or len(ids) > MAX_ATTACHMENTS
        or any(isinstance(i, bool) or not isinstance(i, int) for i in ids)
    ):
        raise InvalidDecision(_("Attach at most %(n)s files.", n=MAX_ATTACHMENTS))
    wanted = sorted(set(ids))
    found = list(
        db.session.scalars(
            select(Attachment).where(
                Attachment.id.in_(wanted),
                Attachment.owner_id == user.id,
                Attachment.field_path == decision_field(record.id),
                (Attachment.record_id.is_(None)) | (Attachment.record_id == record.id),
            )
        )
    )
    if len(found) != len(wanted):
        raise InvalidDecision(_("An attached file is not available; upload it again."))
    for attachment in found:
        attachment.record_id = record.id
    return wanted


def _target_user(to_user_id: Any, task: Task, walker: Walker) -> User:
    if isinstance(to_user_id, bool) or not isinstance(to_user_id, int):
        raise InvalidDecision(_("Choose a person."))
    target = db.session.get(User, to_user_id)
    if target is None or not target.active:
        raise InvalidDecision(_("The person is no longer active; choose someone else."))
    if target.id == task.assignee_id:
        raise InvalidDecision(_("The task is already theirs; choose someone else."))
    step = walker.route.steps[task.step_key]
    if target.id == walker.submitter.id and (step.self_approval or walker.route.self_approval) != "allow":
        raise InvalidDecision(_("The submitter cannot approve their own request; choose someone else."))
    return target


def _load_task(task_id: Any, user: User) -> Task:
    """The caller's own task; anything else (missing, someone else's, an invisible record) is NotYourTask."""
    if (
        isinstance(task_id, bool)
        or not isinstance(task_id, int)
        or user is None
        or getattr(user, "id", None) is None
    ):
        raise NotYourTask()
    task = db.session.get(Task, task_id)
    if task is None or task.assignee_id != user.id or not _may_see(user, task):
        raise NotYourTask()
    return task


def _may_see(user: User, task: Task) -> bool:
    """``can_see`` for the task's own assignee (the callers have matched ``task.assignee_id``):
    holding a task on a record is what makes the record visible, so no role or task lookup is
    needed. Refused: an anonymous caller, and an account that has left (``active`` false) — a
    session or token opened before they left, or a caller in Python, acts on nothing."""
    return (
        bool(getattr(user, "is_authenticated", False))
        and bool(getattr(user, "active", False))
        and task.record_id is not None
    )


_route_version = aliased(DefinitionVersion, name="route_version")
_form_version = aliased(DefinitionVersion, name="form_version")
_submitter = aliased(User, name="submitter")
# Built once: the statement runs on every decision, and building it costs more than running it.
_LOCK_TASK = (
    select(Task, Process, Record, _submitter, _route_version, _form_version)
    .join(Process, Process.id == Task.process_id)
    .join(Record, Record.id == Task.record_id)
    .join(_submitter, _submitter.id == Record.owner_id)
    .outerjoin(_route_version, _route_version.id == Process.route_id)
    .outerjoin(_form_version, _form_version.id == Record.definition_id)
    .where(Task.id == bindparam("task_id"), Task.assignee_id == bindparam("user_id"))
    .with_for_update(of=[Task, Process])
    .execution_options(populate_existing=True)
)


def _lock_task(task_id: Any, user: User) -> tuple[Task, Process, Record]:
    """The caller's own task and its process, both locked and read fresh in one statement.

    Locking the task row together with the process means the values seen are the newest
    committed ones after any wait (what a separate re-read after the lock gave). The same
    statement reads what the transition and its answer go on to use — the record, its
    submitter, the route version and the record's form version (their rows are not locked).
    They are linked to the task and process as loaded relationships: the session's identity
    map holds objects only weakly, so a lazy load after the commit would read them again.
    """
    if (
        isinstance(task_id, bool)
        or not isinstance(task_id, int)
        or user is None
        or getattr(user, "id", None) is None
    ):
        raise NotYourTask()
    row = db.session.execute(_LOCK_TASK, {"task_id": task_id, "user_id": user.id}).first()
    if row is None or not _may_see(user, row[0]):
        raise NotYourTask()
    task, process, record, owner, route, form = row
    set_committed_value(task, "process", process)
    set_committed_value(task, "record", record)
    set_committed_value(process, "record", record)
    set_committed_value(process, "route", route)
    set_committed_value(record, "owner", owner)
    set_committed_value(record, "definition", form)
    return task, process, record


# --- public actions --------------------------------------------------------------------------------


def start(record: Record, user: User, *, new: bool = False) -> Process | None:
    """Put a just-submitted record on its route, in the caller's transaction (the caller commits).

    Returns None when the form has no route (the record stays ``submitted``). A returned record
    continues its own process from the start of the route version it began with. Raises
    ``StartRefused`` / ``InvalidDecision`` when the route cannot start; nothing is then kept
    once the caller rolls back. ``new``: the record was created in this transaction, so it has
    no process to look for.
    """
    process = None if new else current_process(record)
    if process is not None and process.status == RUNNING:
        raise InvalidDecision(_("The request is already under review."))
    if process is not None and process.status == RETURNED:
        resumed = True
        route = load_route(process)
        process.status = RUNNING
        process.finished_at = None
    else:
        resumed = False
        version = route_version_for(record.form_key)
        if version is None:
            return None
        route = compiled_route(version)
        process = Process(
            record_id=record.id, route_id=version.id, status=RUNNING, state={}, started_by_id=user.id
        )
        process.record = record
        db.session.add(process)
        db.session.flush()
    record.status = "in_review"
    walker = Walker(process, route, actor=user)
    walker.trail(
        "resubmitted" if resumed else "submitted",
        actor=user,
        details={"route": route.key, "route_version": process.route.version if process.route else None},
    )
    walker.begin()
    walker.save()
    db.session.flush()
    if new:
        read_policy.note_new_record(record, walker.written, walker.told)
    return process


def decide(
    task_id: int,
    user: User,
    action: str,
    *,
    comment: str | None = None,
    attachment_ids: list[int] | None = None,
    to_user_id: int | None = None,
    step_key: str | None = None,
    position: str | None = None,
    respond: Callable[[Task], Any] | None = None,
) -> Task:
    """Act on one of the caller's open tasks and commit; returns the task acted on.

    ``respond(task)``, when given, runs once the transition is written and before the commit,
    so an answer that describes the outcome is read in the decision's own transaction (and
    the request opens no second one). Raises ``NotYourTask`` (404), ``TaskClosed`` (409
    "already decided"), ``InvalidDecision`` (422).
    """
    if action not in ACTIONS:
        raise InvalidDecision(
            _(
                'Unknown action "%(action)s"; use one of: %(actions)s.',
                action=action,
                actions=", ".join(ACTIONS),
            )
        )
    if action == "withdraw":
        task = _load_task(task_id, user)
        withdraw(task.record, user)
        if respond is not None:
            respond(task)
        return task
    comment = _clean_comment(comment)
    if action in COMMENT_REQUIRED and not comment:
        raise InvalidDecision(_comment_required(action))
    if action == "add_signer" and position not in ("before", "after"):
        raise InvalidDecision(_("Choose where the added signer signs: before or after you."), "position")
    for _attempt in range(MAX_ATTEMPTS):
        try:
            with transaction():
                task = _decide_once(
                    task_id,
                    user,
                    action,
                    comment=comment,
                    attachment_ids=attachment_ids,
                    to_user_id=to_user_id,
                    step_key=step_key,
                    position=position,
                )
                if respond is not None:
                    respond(task)
            return task
        except StaleDataError:
            pass  # another transition of this process committed first (rolled back): look again
        except OperationalError as exc:
            if not _is_lock_conflict(exc):
                raise
            # SQLite refuses a second writer outright when both started reading first: look again
    raise TaskClosed(_("The request changed meanwhile; reload the page and try again."))


def _is_lock_conflict(exc: OperationalError) -> bool:
    return "database is locked" in str(exc.orig) or "deadlock detected" in str(exc.orig)


def _decide_once(
    task_id: int,
    user: User,
    action: str,
    *,
    comment: str | None,
    attachment_ids: Any,
    to_user_id: Any,
    step_key: Any,
    position: str | None,
) -> Task:
    # Read after the lock: the other click may have decided it.
    task, process, record = _lock_task(task_id, user)
    if task.status != OPEN or process.status != RUNNING:
        # Taking back a delegated task (委派) acts on one's own task while it waits for the delegate.
        if not (action == "recall" and task.status == WAITING and process.status == RUNNING):
            raise TaskClosed()
    elif action == "recall":
        raise InvalidDecision(_("There is nothing to take back: the task is not waiting for a delegate."))
    if task.kind == CC and action != "comment":
        raise InvalidDecision(_("A copy for your information cannot be decided; mark it read."))
    route = load_route(process)
    step = route.steps.get(task.step_key)
    if action == "approve" and not comment and step is not None and step.approve_comment == "required":
        raise InvalidDecision(_("This step needs a comment to approve."), "comment")
    walker = Walker(process, route, actor=user)
    task_type, _slot = walker.task_info(task)
    if action in ("return", "transfer", "delegate", "add_signer") and task_type in (DELEGATE, BEFORE):
        raise InvalidDecision(_("You were asked for your opinion: approve, reject or comment."))
    if action == "add_signer" and position == "before" and task_type == AFTER:
        raise InvalidDecision(_("A signer added after someone cannot add a signer before themselves."))
    if step_key is not None and (action != "return" or not isinstance(step_key, str)):
        raise InvalidDecision(_("A step to go back to is only given when returning the request."))
    files = _claim_attachments(attachment_ids, user, record)
    if action == "approve":
        walker.approve(task, user, comment, files)
    elif action == "reject":
        walker.reject(task, user, comment, files)
    elif action == "return":
        walker.return_request(task, user, comment or "", step_key, files)
    elif action == "transfer":
        target = _target_user(to_user_id, task, walker)
        walker.check_hand_over(task, target)
        walker.transfer(task, user, target, comment)
    elif action == "delegate":
        walker.delegate(task, user, _target_user(to_user_id, task, walker), comment)
    elif action == "add_signer":
        target = _target_user(to_user_id, task, walker)
        if position == "after":
            walker.check_hand_over(task, target)
        walker.add_signer(task, user, target, position, comment)
    elif action == "recall":
        walker.recall(task, user, comment, files)
    else:  # comment: the trail only, no change of state
        walker.trail("comment", task=task, actor=user, comment=comment, attachment_ids=files)
    if action != "comment":
        walker.state["acted"] = True
    walker.save()
    db.session.flush()
    remember_open_holders(process, walker.open_holders())
    _audit_decision(task, record, user, action, to_user_id=to_user_id, step_key=step_key)
    return task


def _audit_decision(task: Task, record: Record, user: User | None, action: str, **extra: Any) -> None:
    """A decision in the audit trail, filed under its record (the comment stays in the request's trail)."""
    trail.append(
        actions.TASK_DECIDE,
        actor=user,
        object_type="record",
        object_id=record.id,
        department_id=record.department_id,
        details={
            "decision": action,
            "task": task.id,
            "step": task.step_key,
            **{key: value for key, value in extra.items() if value is not None},
        },
    )


def withdraw(record: Record, user: User) -> Process:
    """The submitter takes the request back while nobody has acted on it; commits."""
    try:
        with transaction():
            if user is None or record.owner_id != getattr(user, "id", None):
                raise InvalidDecision(_("Only the submitter can withdraw a request."))
            process = current_process(record)
            if process is None:
                raise InvalidDecision(_("The request is not under review."))
            process = _lock_process(process.id)
            if process.status != RUNNING:
                raise InvalidDecision(_("The request is not under review."))
            route = load_route(process)
            refusal = withdraw_refusal(process, route)
            if refusal:
                raise InvalidDecision(refusal)
            walker = Walker(process, route, actor=user)
            walker.trail("withdraw", actor=user)
            walker.finish(WITHDRAWN)
            walker.save()
    except StaleDataError:
        raise InvalidDecision(_("The request changed meanwhile; reload the page and try again.")) from None
    return process


def withdraw_refusal(process: Process, route: RouteModel) -> str | None:
    """Why the submitter may not withdraw this running request now (the route's ``withdraw``), or None."""
    policy = getattr(route, "withdraw", "until_first_decision")
    if policy == "never":
        return _("This route does not allow withdrawing a request.")
    if policy == "until_first_decision" and (process.state or {}).get("acted"):
        return _("The request can no longer be withdrawn: someone has already acted on it.")
    return None


def mark_read(task_id: int, user: User) -> Task:
    """Mark one's CC copy as read (no decision is possible on it); commits."""
    task = _load_task(task_id, user)
    if task.kind != CC:
        raise InvalidDecision(_("Only a copy for your information can be marked read."))
    if task.status == OPEN:
        task.status = READ
        task.decided_at = utcnow()
        db.session.commit()
    return task


# --- due work (called by the deadline command) -------------------------------------------------------


def _system_task(task_id: int) -> tuple[Task, Process, Walker]:
    task = db.session.get(Task, task_id)
    if task is None:
        raise NotYourTask()
    process = _lock_process(task.process_id)
    db.session.refresh(task)
    if task.status != OPEN or task.kind != APPROVAL or process.status != RUNNING:
        raise TaskClosed()
    return task, process, Walker(process, load_route(process))


def auto_decide(task_id: int, action: str, *, reason: str = "deadline passed") -> Task:
    """Approve or reject a task on the system's behalf (a deadline's ``on_timeout``); commits.

    Raises ``TaskClosed`` when it was decided meanwhile, so running due work twice is harmless.
    """
    if action not in ("approve", "reject"):
        raise InvalidDecision(_("The system can only approve or reject."))
    with transaction():
        task, _process, walker = _system_task(task_id)
        if action == "approve":
            walker.approve(task, None, reason, None)
        else:
            walker.reject(task, None, reason, None)
        walker.save()
        _audit_decision(task, walker.record, None, action, reason=reason)
    return task


def escalate(task_id: int) -> Task | None:
    """Move an overdue task to the step's ``escalate_to`` person; the new task (None: nobody); commits."""
    with transaction():
        task, _process, walker = _system_task(task_id)
        step = walker.route.steps.get(task.step_key)
        specs = step.deadline.escalate_to if step is not None and step.deadline is not None else ()
        candidates = [
            user
            for _, user in approvers.resolve_specs(
                specs, walker.record, walker.submitter, form=walker.form, context=walker.context
            )
            if user.id not in (walker.submitter.id, task.assignee_id)
        ]
        if not candidates:
            db.session.rollback()
            return None
        new = walker.transfer(task, None, candidates[0], None, action="escalate")
        walker.save()
    return new
