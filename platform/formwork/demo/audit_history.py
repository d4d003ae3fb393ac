"""A few months of plausible audit history for the demo: sign-ins, publishes, role grants, requests
created and decisions, spread over the past ``days`` business days.

Written through the audit trail's own ``append`` (``at=`` back-dated), so the entries form the same
hash chain as live ones and ``formwork audit verify`` passes. The chain is in id order and the
history is in the past, so it is written only into an empty trail (before any live entry: the
trail stays in time order); on a trail that already has entries it writes nothing. Deterministic
(a fixed seed): the same organisation gives the same history, apart from the dates.

The requests named here are history only: their entries carry a reference (``EC-0001``) rather
than a record id, so they are never mistaken for records of the database.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select

from .. import business_time
from ..audit import actions, trail
from ..audit.models import AuditEntry
from ..extensions import db, transaction
from ..org.models import Department, RoleAssignment, User

#: The definitions the demo publishes (``./dev demo`` publishes the current ones afterwards).
PUBLISHED = (
    ("form", "expense_claim"),
    ("form", "purchase_request"),
    ("route", "expense_claim"),
    ("route", "purchase_request"),
    ("permission", "all_forms"),
    ("permission", "expense_claim"),
    ("permission", "purchase_request"),
)
FORMS = {
    "expense_claim": ("EC", "Travel to the customer"),
    "purchase_request": ("PR", "Laptops for the team"),
}
DEFAULT_DAYS = 90


@dataclass(order=True)
class _Event:
    at: datetime
    seq: int
    action: str = field(compare=False)
    kwargs: dict[str, Any] = field(compare=False, default_factory=dict)


class _Plan:
    def __init__(self) -> None:
        self.events: list[_Event] = []

    def add(self, at: datetime, action: str, **kwargs: Any) -> None:
        self.events.append(_Event(at, len(self.events), action, kwargs))


def _at(day: date, hour: int, minute: int) -> datetime:
    """A business-time moment of ``day``, in UTC (as the trail stores it)."""
    return business_time.from_local(datetime.combine(day, time(hour % 24, minute % 60)))


def _address(rng: random.Random) -> str:
    return f"10.20.{rng.randint(1, 9)}.{rng.randint(10, 250)}"


def plan(days: int = DEFAULT_DAYS, *, seed: int = 2026) -> list[_Event]:
    """The history's events in time order, every one before now."""
    rng = random.Random(seed)
    users = list(db.session.scalars(select(User).where(User.active.is_(True)).order_by(User.id)))
    if not users:
        return []
    by_name = {u.username: u for u in users}
    admin = by_name.get("admin") or users[0]
    heads = {d.id: d.head for d in db.session.scalars(select(Department))}
    reviewers = [
        a.user for a in db.session.scalars(select(RoleAssignment)) if a.role.key == "finance_reviewer"
    ]
    today = business_time.today()
    start = today - timedelta(days=days)
    events = _Plan()
    # The set-up: the definitions published and the roles granted on the first day.
    for minute, (kind, key) in enumerate(PUBLISHED):
        events.add(
            _at(start, 10, minute * 3),
            actions.DEFINITION_PUBLISH,
            actor=admin,
            object_type=kind,
            object_id=key,
            details={"kind": kind, "key": key, "version": 1},
            address=_address(rng),
        )
    for index, grant in enumerate(db.session.scalars(select(RoleAssignment).order_by(RoleAssignment.id))):
        events.add(
            _at(start, 11, index),
            actions.ROLE_GRANT,
            actor=admin,
            object_type="user",
            object_id=grant.user_id,
            department_id=grant.user.department_id,
            details={
                "username": grant.user.username,
                "role": grant.role.key,
                "department": grant.department.code if grant.department else None,
            },
            address=_address(rng),
        )
    counter = 0
    day = start + timedelta(days=1)
    while day < today:
        if day.weekday() < 5:  # working days
            for user in users:
                if rng.random() < 0.6:
                    signed_in = _at(day, 8 + rng.randint(0, 1), rng.randint(0, 59))
                    address = _address(rng)
                    if rng.random() < 0.04:  # a mistyped password first
                        events.add(
                            signed_in - timedelta(minutes=1),
                            actions.SIGN_IN_FAILED,
                            actor=user,
                            actor_label=user.username,
                            object_type="user",
                            object_id=user.id,
                            department_id=user.department_id,
                            details={"reason": "password"},
                            address=address,
                        )
                    events.add(
                        signed_in,
                        actions.SIGN_IN,
                        actor=user,
                        object_type="user",
                        object_id=user.id,
                        department_id=user.department_id,
                        address=address,
                    )
                    if rng.random() < 0.15:
                        counter += 1
                        _request(events, rng, user, heads, reviewers, day, counter, address)
                    if rng.random() < 0.5:
                        events.add(
                            _at(day, 17 + rng.randint(0, 1), rng.randint(0, 59)),
                            actions.SIGN_OUT,
                            actor=user,
                            object_type="user",
                            object_id=user.id,
                            department_id=user.department_id,
                            address=address,
                        )
            if day == start + timedelta(days=days // 2):  # a policy revised half-way through
                events.add(
                    _at(day, 15, 0),
                    actions.DEFINITION_PUBLISH,
                    actor=admin,
                    object_type="permission",
                    object_id="expense_claim",
                    details={"kind": "permission", "key": "expense_claim", "version": 2},
                    address=_address(rng),
                )
        day += timedelta(days=1)
    now = business_time.now()
    return sorted(e for e in events.events if e.at < now)


def _request(
    events: _Plan,
    rng: random.Random,
    user: User,
    heads: dict[int, Any],
    reviewers: list[User],
    day: date,
    number: int,
    address: str,
) -> None:
    """A request created, then decided by the department head and (for a claim) finance."""
    form = rng.choice(sorted(FORMS))
    prefix, title = FORMS[form]
    reference = f"{prefix}-{number:04d}"
    created = _at(day, 10 + rng.randint(0, 5), rng.randint(0, 59))
    amount = rng.randrange(200, 60000, 50)
    common = {"object_type": "record", "object_id": reference, "department_id": user.department_id}
    events.add(
        created,
        actions.RECORD_CREATE,
        actor=user,
        details={"form": form, "status": "submitted", "title": title, "amount": str(amount)},
        address=address,
        **common,
    )
    deciders: list[tuple[str, Any]] = []
    head = heads.get(user.department_id or 0)
    if head is not None and head.id != user.id:
        deciders.append(("department_head", head))
    if form == "expense_claim" and reviewers:
        deciders.append(("finance_review", rng.choice(reviewers)))
    moment = created
    for step, decider in deciders:
        moment += timedelta(hours=rng.randint(2, 30))
        decision = "approve" if rng.random() < 0.85 else "return"
        events.add(
            moment,
            actions.TASK_DECIDE,
            actor=decider,
            details={"form": form, "step": step, "decision": decision},
            address=_address(rng),
            **common,
        )
        if decision != "approve":
            break


def write_history(days: int = DEFAULT_DAYS, *, seed: int = 2026) -> int:
    """Write the history into an empty trail; the number of entries written (0: the trail had entries)."""
    if db.session.scalar(select(func.count()).select_from(AuditEntry)):
        return 0
    events = plan(days, seed=seed)
    with transaction():
        for event in events:
            trail.append(event.action, at=event.at, **event.kwargs)
    return len(events)
