"""What the route diagram can say about the steps still ahead of a running request: who is expected
to decide (resolved now from the organisation, so marked "expected": people may move before the
step is reached), which steps the request will certainly skip, and who each step copies.

A step is certainly skipped when its condition does not hold and reads only the request's own values
(no ``$fact`` such as a budget, which may change before the step is reached): the values of a
submitted request are fixed until it is returned, and a return draws the route again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from ..extensions import db
from ..forms.state import context_for
from ..org.models import User
from ..records.service import form_for_record
from ..routes.conditions import holding
from ..routes.model import RouteModel, Step
from . import approvers
from .errors import WorkflowError
from .models import CC, RUNNING, Process, Task


@dataclass
class StepForecast:
    expected: list[str] = field(default_factory=list)  # display names, resolved now
    skipped: bool = False  # its condition certainly does not hold
    copied: list[str] = field(default_factory=list)  # the people the step copies (抄送)


def _holding(route: RouteModel, record: Any, context: dict[str, Any]) -> set[str] | None:
    if not route.conditions:
        return set()
    try:
        return set(holding(route, record, context=context, alerts=False))
    except Exception:  # the diagram must never break a page; without an answer nothing is forecast
        return None


def forecast(
    record: Any, process: Process, route: RouteModel, states: dict[str, Any]
) -> dict[str, StepForecast]:
    """Step key → forecast, for the steps of a running request that have not started yet."""
    if process.status != RUNNING:
        return {}
    submitter = db.session.get_one(User, record.owner_id)
    context = context_for(submitter)
    try:
        form = form_for_record(record)
    except Exception:  # a form a missing plugin makes unavailable: nothing to resolve against
        return {}
    holding = _holding(route, record, context)
    copied_now: dict[str, list[str]] = {}
    for step_key, name in db.session.execute(
        select(Task.step_key, User.display_name)
        .join(User, User.id == Task.assignee_id)
        .where(Task.process_id == process.id, Task.kind == CC)
        .order_by(Task.id)
    ):
        names = copied_now.setdefault(step_key, [])
        if name not in names:
            names.append(name)
    result: dict[str, StepForecast] = {}
    for step in route.steps.values():
        status = (states.get(step.key) or {}).get("status", "pending")
        entry = StepForecast(copied=copied_now.get(step.key, []))
        if status == "pending":
            if (
                step.when
                and holding is not None
                and step.when not in holding
                and _own_values_only(route, step.when)
            ):
                entry.skipped = True
            else:
                entry.expected = _expected(step, route, record, submitter, form, context)
        if step.cc and not entry.copied and status in ("pending", "active") and not entry.skipped:
            entry.copied = _names(approvers.resolve_cc(step, record, submitter, form=form, context=context))
        result[step.key] = entry
    return result


def _own_values_only(route: RouteModel, when: str) -> bool:
    return "$" not in (route.conditions.get(when) or "$")


def _expected(
    step: Step, route: RouteModel, record: Any, submitter: User, form: Any, context: dict
) -> list[str]:
    try:
        resolution = approvers.resolve_step(
            step, route, record, submitter, form=form, context=context, at_start=False
        )
    except WorkflowError:
        return []
    return _names(resolution.users)


def _names(users: list[User]) -> list[str]:
    return [user.display_name for user in users]
