"""Departments (a tree), users, roles and role assignments, API tokens, login throttling."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any, Iterator

from flask_login import UserMixin
from sqlalchemy import Boolean, ColumnElement, ForeignKey, Integer, String, UniqueConstraint, or_
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from ..business_time import as_utc
from ..db_types import Timestamp, utcnow
from ..extensions import Model

# The role that administers the organisation. Held organisation-wide it is the system's
# administrator; held for a department it makes a delegated administrator of that department and
# everything below it (org.administration), and nothing more: see ``User.role_keys``.
ADMINISTRATOR = "administrator"


class Department(Model):
    __tablename__ = "departments"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), index=True)
    # use_alter: departments and users reference each other.
    head_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", use_alter=True))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(Timestamp(), default=utcnow)
    # Set when an administrator changes it in the browser or the API: the organisation file no
    # longer overwrites it (see docs/administration.md, "The organisation file and the browser").
    admin_changed_at: Mapped[datetime | None] = mapped_column(Timestamp())

    parent: Mapped["Department | None"] = relationship(remote_side="Department.id", back_populates="children")
    children: Mapped[list["Department"]] = relationship(back_populates="parent")
    head: Mapped["User | None"] = relationship(foreign_keys=[head_id], post_update=True)

    def name(self, locale: str | None = None) -> str:
        return self.name_en if (locale or "").startswith("en") else self.name_zh

    def ancestors(self) -> Iterator["Department"]:
        """Parent, grandparent, ... up to the root (guarded against cycles)."""
        seen = {self.id}
        node = self.parent
        while node is not None and node.id not in seen:
            seen.add(node.id)
            yield node
            node = node.parent

    def up(self, levels: int) -> "Department | None":
        """The department ``levels`` steps up the tree (0 is this one)."""
        if levels == 0:
            return self
        for depth, node in enumerate(self.ancestors(), start=1):
            if depth == levels:
                return node
        return None

    def descendants(self) -> Iterator["Department"]:
        stack = list(self.children)
        seen = {self.id}
        while stack:
            node = stack.pop()
            if node.id in seen:
                continue
            seen.add(node.id)
            yield node
            stack.extend(node.children)


class User(UserMixin, Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    password_hash: Mapped[str | None] = mapped_column(String(256))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), index=True)
    manager_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    # False once the person has left: sign-in, tokens and sessions stop working at once.
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    left_at: Mapped[datetime | None] = mapped_column(Timestamp())
    locale: Mapped[str | None] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(Timestamp(), default=utcnow)
    # What a person picker finds them by: name, user name, pinyin and initials (org.people keeps it).
    search_key: Mapped[str | None] = mapped_column(String(300))
    # As for departments: changed by an administrator, so the organisation file leaves it alone.
    admin_changed_at: Mapped[datetime | None] = mapped_column(Timestamp())

    department: Mapped[Department | None] = relationship(foreign_keys=[department_id])
    # post_update: two people can become each other's manager in one change (a swap) without a flush cycle.
    manager: Mapped["User | None"] = relationship(
        remote_side="User.id", foreign_keys=[manager_id], post_update=True
    )
    role_assignments: Mapped[list["RoleAssignment"]] = relationship(
        back_populates="user", cascade="all, delete-orphan", foreign_keys="RoleAssignment.user_id"
    )

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return bool(self.active)

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        if not self.password_hash:
            return False
        return check_password_hash(self.password_hash, password)

    def role_keys(self) -> set[str]:
        """The roles the person holds. The administrator role counts only when held
        organisation-wide: a delegated administrator (the role limited to a department)
        administers people there, and is not an administrator of everything else."""
        now = utcnow()
        return {
            assignment.role.key
            for assignment in self.role_assignments
            if (assignment.department_id is None or assignment.role.key != ADMINISTRATOR)
            and assignment.in_force(now)
        }

    def has_role(self, key: str) -> bool:
        return key in self.role_keys()


class Role(Model):
    __tablename__ = "roles"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(String(1000))
    admin_changed_at: Mapped[datetime | None] = mapped_column(Timestamp())

    def name(self, locale: str | None = None) -> str:
        return self.name_en if (locale or "").startswith("en") else self.name_zh


class RoleAssignment(Model):
    """A role held by a user, optionally limited to one department (e.g. finance reviewer of Sales)."""

    __tablename__ = "role_assignments"
    __table_args__ = (UniqueConstraint("user_id", "role_id", "department_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    role_id: Mapped[int] = mapped_column(ForeignKey("roles.id"), index=True)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    granted_at: Mapped[datetime] = mapped_column(Timestamp(), default=utcnow)
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # A time-limited grant (optionally "until a date"): it stops counting at this instant, and
    # the due work removes it (``org.grants.expire_due``). None: until revoked.
    expires_at: Mapped[datetime | None] = mapped_column(Timestamp())
    reason: Mapped[str | None] = mapped_column(String(500))

    user: Mapped[User] = relationship(back_populates="role_assignments", foreign_keys=[user_id])
    # Loaded with the assignment: a person's role keys (asked on most requests) in one statement.
    role: Mapped[Role] = relationship(lazy="joined")
    department: Mapped[Department | None] = relationship()

    def in_force(self, now: datetime | None = None) -> bool:
        """Whether the grant counts at ``now`` (default: this instant)."""
        if self.expires_at is None:
            return True
        return as_utc(self.expires_at) > (now or utcnow())


def in_force(now: Any = None) -> ColumnElement[bool]:
    """``RoleAssignment.in_force`` as a condition, for the statements that read grants (``now``: a
    bound parameter for statements built once; default this instant)."""
    return or_(
        RoleAssignment.expires_at.is_(None), RoleAssignment.expires_at > (utcnow() if now is None else now)
    )


class RoleGrantEvent(Model):
    """The history of role grants: each grant, extension, revocation and expiry, by whom and why
    (the grant itself goes when revoked or expired; its story stays)."""

    __tablename__ = "role_grant_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int | None] = mapped_column(Integer)  # no key: the grant may be gone
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    role_id: Mapped[int] = mapped_column(ForeignKey("roles.id"))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    event: Mapped[str] = mapped_column(String(20))  # granted, extended, revoked, expired
    until: Mapped[datetime | None] = mapped_column(Timestamp())
    by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str | None] = mapped_column(String(500))
    override_reason: Mapped[str | None] = mapped_column(String(500))
    at: Mapped[datetime] = mapped_column(Timestamp(), default=utcnow)


def hash_token(token: str) -> str:
    # Tokens are long random strings, so a fast hash is enough (no dictionary to attack).
    return hashlib.sha256(token.encode()).hexdigest()


class ApiToken(Model):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(Timestamp(), default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(Timestamp())
    revoked_at: Mapped[datetime | None] = mapped_column(Timestamp())
    last_used_at: Mapped[datetime | None] = mapped_column(Timestamp())

    user: Mapped[User] = relationship()


class SignInSession(Model):
    """One signed-in browser session, so that signing out (here or everywhere) really ends it.

    The session cookie carries a random key; only its SHA-256 digest is stored, like API
    tokens. A request whose cookie names no row is signed out, whichever worker serves it.
    """

    __tablename__ = "sign_in_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(Timestamp(), default=utcnow)


class LoginThrottle(Model):
    """Failed sign-ins per user name, in the database so every worker sees the same count."""

    __tablename__ = "login_throttles"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(Timestamp())
    last_failure_at: Mapped[datetime | None] = mapped_column(Timestamp())
