"""What running requests do when the organisation changes under them (joiners, movers, leavers).

* Someone leaves (离职): each of their open approval tasks (and each waiting for a delegate's
  advice) is handed to their successor — their manager, or whom the administrator named — with a
  ``hand_over`` entry in the request's trail; out-of-office delegations to and from them end.
  Their history and drafts stay as they are.
* A department gets a new head: open tasks that the old head holds because a step asks for "the
  head of" that department go to the new head (trail ``new_head``). A task the old head holds for
  another reason (they are also the finance reviewer, say) stays with them.

Both run inside the administrator's change (``org.administration`` calls them through the hooks
the wiring registers), so the change and its consequences commit together or not at all.
"""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import or_, select, update

from ..db_types import utcnow
from ..extensions import db
from ..org.admin_input import AdminRefused
from ..org.models import Department, User
from . import approvers
from .models import APPROVAL, OPEN, RUNNING, WAITING, Delegation, Process, Task
from .runtime import Walker, load_route

HAND_OVER = "hand_over"
NEW_HEAD = "new_head"


def _open_tasks_of(user: User) -> list[Task]:
    return list(
        db.session.scalars(
            select(Task)
            .join(Process, Process.id == Task.process_id)
            .where(
                Task.assignee_id == user.id,
                Task.kind == APPROVAL,
                Task.status.in_((OPEN, WAITING)),
                Process.status == RUNNING,
            )
            .order_by(Task.id)
        )
    )


def _walker(task: Task, actor: User) -> Walker:
    # The process row locked, as for any decision: a concurrent decision waits or finds the task gone.
    process = db.session.execute(
        select(Process)
        .where(Process.id == task.process_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()
    db.session.refresh(task)
    return Walker(process, load_route(process), actor=actor)


def hand_over_on_leave(leaver: User, successor: User | None, actor: User) -> None:
    """Give the leaver's open tasks to ``successor`` and end delegations to and from the leaver."""
    tasks = _open_tasks_of(leaver)
    if tasks and successor is None:
        raise AdminRefused(
            field="successor",
            message=_(
                "%(name)s has %(n)s open tasks and no manager: name who takes them over.",
                name=leaver.display_name,
                n=len(tasks),
            ),
        )
    for task in tasks:
        assert successor is not None
        walker = _walker(task, actor)
        if task.status not in (OPEN, WAITING):
            continue  # decided meanwhile
        if walker.submitter.id == successor.id:
            raise AdminRefused(
                field="successor",
                message=_(
                    "%(name)s submitted request %(record)s, one of the tasks to hand over: "
                    "name someone else.",
                    name=successor.display_name,
                    record=walker.record.id,
                ),
            )
        walker.transfer(task, actor, successor, None, action=HAND_OVER)
        walker.save()
    now = utcnow()
    db.session.execute(
        update(Delegation)
        .where(
            or_(Delegation.user_id == leaver.id, Delegation.delegate_id == leaver.id),
            Delegation.cancelled_at.is_(None),
            Delegation.ends_at > now,
        )
        .values(cancelled_at=now)
        .execution_options(synchronize_session=False)
    )


def follow_new_head(department: Department, old: User | None, new: User | None, actor: User) -> None:
    """Open tasks the old head holds as "head of" a department go to the new head."""
    if old is None or new is None or not new.active:
        return
    for task in _open_tasks_of(old):
        walker = _walker(task, actor)
        step = walker.route.steps.get(task.step_key)
        if step is None or task.status not in (OPEN, WAITING) or walker.submitter.id == new.id:
            continue
        heads: set[int] = set()
        for spec in step.approvers:
            if spec.kind == "department_head":
                found = approvers.resolve_spec(
                    spec, walker.record, walker.submitter, form=walker.form, context=walker.context
                )
                heads.update(user.id for user in found)
        # The step now names the new head instead of the old one: this task waited on the head.
        if new.id in heads and old.id not in heads:
            walker.transfer(task, actor, new, None, action=NEW_HEAD)
            walker.save()
