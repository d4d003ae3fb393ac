"""Who may do what now: the actions the holder of a task may take, the earlier steps a request may
be returned to, and whether its submitter may still withdraw it. The pages offer exactly these
controls and the API lists them; the runtime checks them again when the decision is made."""

from __future__ import annotations

from ..i18n import current_locale_tag, localized
from ..records.models import Record
from .errors import InvalidDecision
from .models import APPROVAL, OPEN, RUNNING, WAITING, Task
from .runtime import BEFORE, DELEGATE, Walker, load_route, pending_delegate
from .service import current_process, withdraw_refusal

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
    if task.status == WAITING:
        return (RECALL,) if pending_delegate(task, task.process.state) is not None else ()
    if task.status != OPEN:
        return ()
    if task.kind != APPROVAL:
        return ("comment",)  # a copy for information (抄送) is read, not decided
    return OPINION_ACTIONS if task_type(task) in (DELEGATE, BEFORE) else ALL_ACTIONS


def return_targets(task: Task) -> list[tuple[str, str]]:
    """Earlier steps this task may return the request to (on the path that led to it)."""
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


def can_withdraw(record: Record) -> bool:
    """Whether the submitter may still take the request back (running, and ``withdraw`` allows it)."""
    process = current_process(record)
    return (
        process is not None
        and process.status == RUNNING
        and withdraw_refusal(process, load_route(process)) is None
    )
