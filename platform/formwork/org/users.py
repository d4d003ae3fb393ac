"""Changes to people: creating users, passwords, roles and leaving the company."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from sqlalchemy import select

from ..audit import actions, trail
from ..extensions import db
from . import clock, grants, sessions, tokens
from .models import Department, Role, RoleAssignment, User

MIN_PASSWORD_LENGTH = 8


class OrgError(ValueError):
    """A request that does not fit the organisation (unknown department, duplicate user, ...)."""


def user_by_username(username: str) -> User | None:
    return db.session.scalar(select(User).where(User.username == username.strip().lower()))


def department_by_code(code: str) -> Department | None:
    return db.session.scalar(select(Department).where(Department.code == code))


def role_by_key(key: str) -> Role | None:
    return db.session.scalar(select(Role).where(Role.key == key))


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise OrgError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")


def create_user(
    username: str,
    *,
    display_name: str,
    department_code: str | None = None,
    manager_username: str | None = None,
    role_keys: Iterable[str] = (),
    password: str | None = None,
    email: str | None = None,
    locale: str | None = None,
) -> User:
    """Add a user (without a password unless one is given); the caller commits."""
    username = username.strip().lower()
    if not username:
        raise OrgError("the user name is empty")
    if user_by_username(username) is not None:
        raise OrgError(f"user {username!r} already exists")
    user = User(
        username=username, display_name=display_name or username, email=email, locale=locale, active=True
    )
    if department_code:
        department = department_by_code(department_code)
        if department is None:
            raise OrgError(f"no department with code {department_code!r}")
        user.department = department
    if manager_username:
        manager = user_by_username(manager_username)
        if manager is None:
            raise OrgError(f"no user {manager_username!r} to be the manager")
        user.manager = manager
    if password is not None:
        check_password_strength(password)
        user.set_password(password)
    db.session.add(user)
    db.session.flush()  # the id the audit entries name
    trail.append(
        actions.USER_CREATE,
        object_type="user",
        object_id=user.id,
        department_id=user.department_id,
        details={"username": username, "department": department_code, "manager": manager_username},
    )
    for key in role_keys:
        grant_role(user, key)
    db.session.flush()
    return user


def grant_role(
    user: User,
    role_key: str,
    department: Department | None = None,
    *,
    until: date | None = None,
    reason: str | None = None,
    override_reason: str | None = None,
) -> RoleAssignment:
    """Give ``user`` a role (idempotent; ``org.grants``); the caller commits."""
    role = role_by_key(role_key)
    if role is None:
        raise OrgError(f"no role {role_key!r}")
    return grants.grant_role(
        user, role, department, until=until, reason=reason, override_reason=override_reason
    )


def revoke_role(user: User, role_key: str, department: Department | None = None) -> bool:
    """Take a role (for ``department``, or the unlimited one) from ``user``; False when they did not
    hold it. The caller commits."""
    department_id = department.id if department is not None else None
    for assignment in list(user.role_assignments):
        if assignment.role.key == role_key and assignment.department_id == department_id:
            grants.revoke_role(assignment)
            return True
    return False


def set_password(user: User, password: str) -> None:
    """Set a new password and end every session of ``user`` (whoever knew the old one is out).

    The caller commits."""
    check_password_strength(password)
    user.set_password(password)
    sessions.end_all(user)
    trail.append(
        actions.USER_SET_PASSWORD, object_type="user", object_id=user.id, department_id=user.department_id
    )


def leave(user: User) -> int:
    """Mark ``user`` as having left: sessions and tokens stop working at once. Returns tokens revoked."""
    user.active = False
    if user.left_at is None:
        user.left_at = clock.now()
    sessions.end_all(user)
    revoked = tokens.revoke_user_tokens(user)
    trail.append(
        actions.USER_LEAVE,
        object_type="user",
        object_id=user.id,
        department_id=user.department_id,
        details={"username": user.username, "tokens_revoked": revoked},
    )
    return revoked
