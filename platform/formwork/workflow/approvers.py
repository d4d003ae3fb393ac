"""Who must act on a step: approver specs resolved against the organisation and the record.

Every look-up goes through ``org.directory``, which returns only active people, so a
route never waits on someone who has left. The order of the result is the order of
the specs (then the directory's order by user name); a person appears once.

Self-approval (the submitter among the resolved approvers), per step or route:

* ``skip`` (default) — the submitter is removed;
* ``send_up`` — the submitter is replaced by the nearest department head above them who is
  not them (for a ``department_head`` spec of ``levels`` L: the head L+1 levels up, and so on);
* ``allow`` — the submitter stays;
* ``forbid`` — the request cannot start (``StartRefused``).

Nobody left (``no_approver``): ``skip`` (the step is skipped), ``fallback`` (the step's, else
the route's, fallback approvers, the submitter removed), ``refuse`` (``StartRefused``).
``refuse`` refuses only while the request starts (``at_start``). A step reached later that
finds nobody must not undo the decision that reached it: it goes to the fallback approvers,
else to the administrators (holders of the ``administrator`` role, the submitter removed);
only when there is nobody at all is the decision refused.

Hand-overs: an approval that reached a person by transfer, escalation, delegation, an added
signer or as an out-of-office stand-in never counts as "already approved" at a later step
(trail ``not_auto_approved``). When it settled its step (transfer, escalation, stand-in,
signer after) the person is left out of the later step, so that one decision cannot pass a
second control step: the step goes to its other people; with nobody left, to the fallback, else
to the administrators (the person left out of those too), else the decision that reached it is
refused. After advice (a delegate's opinion, a signer before) the person is simply asked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Iterable

from flask_babel import gettext as _
from sqlalchemy import select

from ..expressions import ExpressionError, compile_expression
from ..extensions import db
from ..forms.state import evaluate_state
from ..forms.validation import runtime_values
from ..org import directory
from ..org.models import Department, User
from ..plugins import current_registry
from ..records.access import ADMINISTRATOR  # its holders take a step that finds nobody mid-route
from ..routes.model import ApproverSpec, RouteModel, Step
from .errors import StartRefused

MAX_LEVELS = 20  # deepest department tree walked when sending up


@dataclass
class Resolution:
    """The people who must act on a step, and what the rules changed on the way (for the trail)."""

    users: list[User]
    notes: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    skipped: bool = False  # nobody resolved and the rule is ``skip``


def _active_user(user_id: Any) -> User | None:
    if isinstance(user_id, bool) or not isinstance(user_id, int):
        return None
    user = db.session.get(User, user_id)
    return user if user is not None and user.active else None


def _department(code: str) -> Department | None:
    return db.session.scalar(select(Department).where(Department.code == code))


def _field_value(record: Any, field_key: str, form: Any) -> list[User]:
    """A user field names the user; a department field names its head; a list names several."""
    value = (record.data or {}).get(field_key)
    field_model = form.field(field_key) if form is not None else None
    is_department = field_model is not None and field_model.type.name == "department"
    values = value if isinstance(value, list) else [value]
    users: list[User] = []
    for item in values:
        if is_department:
            department = db.session.get(Department, item) if isinstance(item, int) else None
            head = directory.department_head(department)
            if head is not None:
                users.append(head)
        else:
            user = _active_user(item)
            if user is not None:
                users.append(user)
    return users


def _expression_users(spec: ApproverSpec, record: Any, form: Any, context: dict[str, Any]) -> list[User]:
    """Evaluate ``spec.value`` on the record: a user id, or a list of user ids."""

    if form is None or not spec.value:
        return []
    try:
        compiled = compile_expression(spec.value, form.type_env, current_registry().functions)
        state = evaluate_state(form, runtime_values(form, record.data), context=context)
        result = compiled.evaluate(state.values, None, context)
    except ExpressionError:
        return []
    items = result if isinstance(result, list) else [result]
    users = []
    for item in items:
        if isinstance(item, Decimal) and item == item.to_integral_value():
            item = int(item)
        user = _active_user(item)
        if user is not None:
            users.append(user)
    return users


def resolve_spec(
    spec: ApproverSpec, record: Any, submitter: User, *, form: Any, context: dict[str, Any]
) -> list[User]:
    """The active people one spec names (may be empty)."""
    if spec.kind == "user":
        user = db.session.scalar(select(User).where(User.username == spec.value))
        return [user] if user is not None and user.active else []
    if spec.kind == "role":
        department = None
        if spec.department:
            department = _department(spec.department)
        elif spec.scope == "submitter_department":
            department = submitter.department
        if (spec.department or spec.scope == "submitter_department") and department is None:
            return []
        return directory.users_with_role(spec.value or "", department)
    if spec.kind == "manager":
        manager = directory.manager_of(submitter)
        return [manager] if manager is not None else []
    if spec.kind == "department_head":
        if spec.department:
            department = _department(spec.department)
            head = directory.department_head(department.up(max(0, spec.levels)) if department else None)
        else:
            head = directory.head_levels_up(submitter, max(0, spec.levels))
        return [head] if head is not None else []
    if spec.kind == "field":
        return _field_value(record, spec.value or "", form)
    if spec.kind == "expression":
        return _expression_users(spec, record, form, context)
    return []


def _unique(users: Iterable[User]) -> list[User]:
    seen: set[int] = set()
    result = []
    for user in users:
        if user.id not in seen:
            seen.add(user.id)
            result.append(user)
    return result


def head_above(submitter: User, start_level: int) -> User | None:
    """The nearest department head from ``start_level`` upwards who is not the submitter."""
    for level in range(max(0, start_level), MAX_LEVELS):
        if submitter.department is None or submitter.department.up(level) is None:
            return None
        head = directory.head_levels_up(submitter, level)
        if head is not None and head.id != submitter.id:
            return head
    return None


def resolve_specs(
    specs: Iterable[ApproverSpec], record: Any, submitter: User, *, form: Any, context: dict[str, Any]
) -> list[tuple[ApproverSpec, User]]:
    pairs: list[tuple[ApproverSpec, User]] = []
    for spec in specs:
        pairs.extend(
            (spec, user) for user in resolve_spec(spec, record, submitter, form=form, context=context)
        )
    return pairs


def resolve_step(
    step: Step,
    route: RouteModel,
    record: Any,
    submitter: User,
    *,
    form: Any,
    context: dict[str, Any],
    at_start: bool = True,
    excluded: dict[int, tuple[str, str, bool]] | None = None,
) -> Resolution:
    """Apply the step's approver specs, the self-approval rule and the no-approver rule.

    ``at_start`` is False for a step reached by a later transition (see the module's notes).
    ``excluded``: people whose approval of an earlier step reached them by hand-over (id → (step,
    how, decisive)); that decision must not settle this step too: after a decisive one they are
    left out of it, after advice they are asked again (see the module's notes)."""
    rule = step.self_approval or route.self_approval
    notes: list[tuple[str, dict[str, Any]]] = []
    users: list[User] = []
    for spec, user in resolve_specs(step.approvers, record, submitter, form=form, context=context):
        if user.id != submitter.id or rule == "allow":
            users.append(user)
            continue
        if rule == "forbid":
            raise StartRefused(
                _(
                    'Step "%(step)s" would ask the submitter to approve their own request, '
                    "which this route forbids.",
                    step=step.key,
                )
            )
        if rule == "send_up":
            start = spec.levels + 1 if spec.kind == "department_head" and not spec.department else 0
            head = head_above(submitter, start)
            notes.append(("sent_up", {"from": submitter.id, "to": head.id if head else None}))
            if head is not None:
                users.append(head)
        else:
            notes.append(("self_skipped", {"user": submitter.id}))
    users = _unique(users)
    handed = excluded or {}
    excluded = {uid: why for uid, why in handed.items() if why[2]}
    left_out = [user for user in users if user.id in excluded]
    for user in users:
        if user.id in handed:
            step_key, how, decisive = handed[user.id]
            reason = "hand-over" if decisive else "advice"
            notes.append(
                ("not_auto_approved", {"user": user.id, "decided_at": step_key, "by": how, "reason": reason})
            )
    users = [user for user in users if user.id not in excluded]
    if users:
        return Resolution(users, notes)
    no_approver = step.no_approver or route.no_approver
    if no_approver == "skip" and not left_out:
        # Skipping a step whose only people were left out would let the handed decision pass it
        # after all: such a step goes to the fallback, else the administrators, like a late step.
        return Resolution([], notes, skipped=True)
    if left_out:
        at_start = False
    if no_approver == "fallback" or not at_start:
        specs = step.fallback or route.fallback
        fallback = _unique(
            user
            for _, user in resolve_specs(specs, record, submitter, form=form, context=context)
            if (user.id != submitter.id or rule == "allow") and user.id not in excluded
        )
        if fallback:
            notes.append(("fallback", {"users": [u.id for u in fallback]}))
            return Resolution(fallback, notes)
    if not at_start:
        admins = [
            user
            for user in directory.users_with_role(ADMINISTRATOR)
            # has_role: held organisation-wide (a delegated administrator of one department is not asked)
            if user.id != submitter.id and user.id not in excluded and user.has_role(ADMINISTRATOR)
        ]
        if admins:
            notes.append(
                ("sent_to_administrators", {"reason": "no approver found", "users": [u.id for u in admins]})
            )
            return Resolution(admins, notes)
        raise StartRefused(
            _(
                'Nobody can approve step "%(step)s" and there is no administrator to send it to; '
                "ask an administrator to fix the organisation or the route.",
                step=step.key,
            )
        )
    raise StartRefused(
        _('Nobody can approve step "%(step)s": no approver was found for this request.', step=step.key)
    )


def resolve_cc(step: Step, record: Any, submitter: User, *, form: Any, context: dict[str, Any]) -> list[User]:
    """CC recipients of a step (the submitter is told of the outcome anyway, so never copied)."""
    return _unique(
        user
        for _, user in resolve_specs(step.cc, record, submitter, form=form, context=context)
        if user.id != submitter.id
    )
