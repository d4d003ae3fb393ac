"""Running a route's actions on completion (``on_approved`` / ``on_rejected``): granting and revoking roles.

They run inside ``Walker.finish``, so in the transaction of the decision that ends the request: the
grant and the decision are written together or not at all. A refused grant (a segregation-of-duties
conflict, an end date already past, a role that no longer exists) refuses the decision itself with
``InvalidDecision`` (422) and the caller's rollback leaves everything as it was.

Idempotent: what was done is kept in the process state (``state["actions"][outcome]``) and a process
that already ran its actions for an outcome never runs them again; ``grants.grant_role`` itself
extends rather than duplicates a grant already held. Each action done is a trail entry
(``role_granted`` / ``role_revoked``, or ``role_not_held`` when there was nothing to revoke) whose
details name the role, the person (``to``), the end date and the department.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from ..extensions import db
from ..forms.field_types import FieldValueError, parse_date
from ..org import grants
from ..org.models import Department, Role, User
from ..routes.model import RouteAction
from .errors import InvalidDecision

GRANTED, REVOKED, NOT_HELD = "role_granted", "role_revoked", "role_not_held"


def run(walker: Any, outcome: str, actions: tuple[RouteAction, ...]) -> None:
    """Run ``actions`` for the process's ``outcome`` (approved / rejected) once; see the module doc."""
    if not actions:
        return
    done = walker.state.setdefault("actions", {})
    if outcome in done:
        return
    results = []
    for action in actions:
        results.append(_run_one(walker, action))
    done[outcome] = results


def _value(walker: Any, key: str | None) -> Any:
    return (walker.record.data or {}).get(key) if key else None


def _role(walker: Any, action: RouteAction) -> Role:
    key = action.role or _value(walker, action.role_field)
    role = db.session.scalar(select(Role).where(Role.key == key)) if isinstance(key, str) and key else None
    if role is None:
        raise InvalidDecision(
            _('The request names no role that exists ("%(role)s"); it cannot be completed.', role=key or "")
        )
    return role


def _person(walker: Any, action: RouteAction) -> User:
    if action.to_field is None:
        return walker.submitter
    raw = _value(walker, action.to_field)
    person = db.session.get(User, raw) if isinstance(raw, int) and not isinstance(raw, bool) else None
    if person is None:
        raise InvalidDecision(_("The request names nobody to give the role to; it cannot be completed."))
    return person


def _department(walker: Any, action: RouteAction) -> Department | None:
    if action.department is not None:
        found = db.session.scalar(select(Department).where(Department.code == action.department))
    elif action.department_field is not None:
        raw = _value(walker, action.department_field)
        found = (
            db.session.get(Department, raw) if isinstance(raw, int) and not isinstance(raw, bool) else None
        )
    else:
        return None
    if found is None or not found.active:
        raise InvalidDecision(_("The department the role is limited to no longer exists."))
    return found


def _until(walker: Any, action: RouteAction) -> date | None:
    if action.until_field is None:
        return None
    raw = _value(walker, action.until_field)
    try:
        return parse_date(raw) if isinstance(raw, str) and raw else None
    except (FieldValueError, ValueError, TypeError):
        return None


def _reason(walker: Any, action: RouteAction) -> str:
    reference = walker.record.voucher_number or f"#{walker.record.id}"
    text = _value(walker, action.reason_field)
    return f"{reference}: {text}" if isinstance(text, str) and text.strip() else reference


def _details(role: Role, person: User, department: Department | None, **extra: Any) -> dict[str, Any]:
    return {
        "role": role.key,
        "role_name": {"zh-CN": role.name_zh, "en": role.name_en},
        "to": person.id,
        "department": department.code if department is not None else None,
        **extra,
    }


def _run_one(walker: Any, action: RouteAction) -> dict[str, Any]:
    role, person, department = _role(walker, action), _person(walker, action), _department(walker, action)
    if action.kind == "grant_role":
        return _grant(walker, action, role, person, department)
    return _revoke(walker, action, role, person, department)


def _grant(
    walker: Any, action: RouteAction, role: Role, person: User, department: Department | None
) -> dict[str, Any]:
    until = _until(walker, action)
    if action.until_field is not None and until is None:
        raise InvalidDecision(_("The request gives no end date for the role; it cannot be completed."))
    if not person.active:
        raise InvalidDecision(
            _("%(name)s has left; the role cannot be given to them.", name=person.display_name)
        )
    try:
        assignment = grants.grant_role(
            person, role, department, until=until, reason=_reason(walker, action), by=walker.actor
        )
    except grants.GrantRefused as exc:
        raise InvalidDecision(
            _("The role cannot be granted: %(why)s", why="; ".join(exc.conflicts) or str(exc))
        ) from None
    except (ValueError, LookupError) as exc:
        raise InvalidDecision(_("The role cannot be granted: %(why)s", why=str(exc))) from None
    details = _details(role, person, department, until=until.isoformat() if until else None)
    walker.trail(GRANTED, actor=walker.actor, details=details)
    return {**details, "assignment": assignment.id}


def _revoke(
    walker: Any, action: RouteAction, role: Role, person: User, department: Department | None
) -> dict[str, Any]:
    # Without a department every grant of the role goes; with one, only the grant limited to it.
    held = [
        a
        for a in list(person.role_assignments)
        if a.role_id == role.id and (department is None or a.department_id == department.id)
    ]
    details = _details(role, person, department)
    for assignment in held:
        grants.revoke_role(assignment, by=walker.actor, reason=_reason(walker, action))
    walker.trail(REVOKED if held else NOT_HELD, actor=walker.actor, details=details)
    return {**details, "revoked": len(held)}
