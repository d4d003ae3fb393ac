"""Organisation look-ups that approval routes and permissions build on.

Every function returns only active people: a route never waits on someone who has left.
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Iterable, Iterator

from sqlalchemy import bindparam, select

from ..extensions import db
from .models import Department, Role, RoleAssignment, User


def _active(user: User | None) -> User | None:
    return user if user is not None and user.active else None


def department_head(department: Department | None) -> User | None:
    """The department's head, or None when it has none or the head has left."""
    return _active(department.head) if department is not None else None


def head_levels_up(user: User, levels: int) -> User | None:
    """Head of the department ``levels`` steps above the user's own (0 = the user's own department).

    For alice in Sales: 0 → bob (head of Sales), 1 → dave (head of Head Office), 2 → None.
    """
    if levels < 0:
        raise ValueError("levels must be zero or more")
    if user.department is None:
        return None
    return department_head(user.department.up(levels))


def manager_of(user: User) -> User | None:
    """The user's direct manager, or None when there is none or the manager has left."""
    return _active(user.manager)


def _holders(roles: Any, *columns: Any) -> Any:
    """Active holders of the roles ``roles`` selects, as ``(User, assignment department id, *columns)``."""
    return (
        select(User, RoleAssignment.department_id, *columns)
        .join(RoleAssignment, RoleAssignment.user_id == User.id)
        .join(Role, Role.id == RoleAssignment.role_id)
        .where(roles, User.active.is_(True))
        .order_by(User.username)
    )


# Built once: routes resolve role holders on most steps they activate.
_ROLE_HOLDERS = _holders(Role.key == bindparam("role_key"))


# Role holders already read for the work in hand (see ``role_holders_known``): role key -> rows.
_KNOWN_HOLDERS: ContextVar[dict[str, list[tuple[User, int | None]]] | None] = ContextVar(
    "formwork_known_role_holders", default=None
)


def role_holders_statement(*columns: Any) -> Any:
    """Active holders of any of the roles bound as ``role_keys`` (expanding), as rows of
    ``(User, assignment department id, role key, *columns)``, ordered by user name."""
    return _holders(Role.key.in_(bindparam("role_keys", expanding=True)), Role.key, *columns)


@contextmanager
def role_holders_known(
    rows: Iterable[tuple[User, int | None, str]], role_keys: Iterable[str]
) -> Iterator[None]:
    """Within the block, ``users_with_role`` answers for ``role_keys`` from ``rows`` (read with
    ``role_holders_statement``) instead of asking the database again: a step's approvers and
    copies are then found with one query for all their roles."""
    known: dict[str, list[tuple[User, int | None]]] = {key: [] for key in role_keys}
    for user, scope, key, *_ in rows:
        if key in known:
            known[key].append((user, scope))
    token = _KNOWN_HOLDERS.set(known)
    try:
        yield
    finally:
        _KNOWN_HOLDERS.reset(token)


def users_with_role(role_key: str, department: Department | None = None) -> list[User]:
    """Active users holding ``role_key``, ordered by user name.

    With ``department``, only holders whose assignment covers it: an organisation-wide
    assignment, one for that department, or one for a department above it.
    """
    covering: set[int | None] | None = None
    if department is not None:
        covering = {None, department.id, *(d.id for d in department.ancestors())}
    users: list[User] = []
    known = _KNOWN_HOLDERS.get()
    rows = known.get(role_key) if known is not None else None
    if rows is None:
        rows = [(user, scope) for user, scope in db.session.execute(_ROLE_HOLDERS, {"role_key": role_key})]
    for user, scope in rows:
        if covering is not None and scope not in covering:
            continue
        if user not in users:
            users.append(user)
    return users


def members(department: Department, *, include_sub_departments: bool = False) -> list[User]:
    """Active users of the department (and, if asked, of every department below it)."""
    ids = {department.id}
    if include_sub_departments:
        ids.update(d.id for d in department.descendants())
    return list(
        db.session.scalars(
            select(User).where(User.department_id.in_(ids), User.active.is_(True)).order_by(User.username)
        )
    )
