"""What a route may refer to in the organisation: users, roles, departments — and who holds what.

The route compiler asks these questions when a definition is checked, so a route
can never name a role or user that does not exist, and a step that can resolve to
nobody is caught before it is published. ``DatabaseOrg`` answers from the
database; ``None`` (no application) skips the organisation checks.
"""

from __future__ import annotations

from typing import Protocol

from sqlalchemy import func, select

from ..extensions import db
from ..org.directory import department_head
from ..org.models import Department, Role, RoleAssignment, User


class OrgLookup(Protocol):
    def user_status(self, username: str) -> str | None:
        """``"active"``, ``"inactive"`` or None (no such user)."""

    def role_exists(self, key: str) -> bool: ...

    def department_exists(self, code: str) -> bool: ...

    def role_may_be_empty(self, key: str, *, submitter_department: bool, department: str | None) -> bool:
        """Can holders of ``key`` (covering the submitter's department / ``department``) be nobody?"""

    def head_may_be_missing(self, levels: int, department: str | None) -> bool:
        """Can "the head ``levels`` up" (of ``department``, else of some submitter's department) be nobody?"""


class DatabaseOrg:
    """``OrgLookup`` on the current database session."""

    def user_status(self, username: str) -> str | None:
        active = db.session.scalar(select(User.active).where(User.username == username))
        if active is None:
            return None
        return "active" if active else "inactive"

    def role_exists(self, key: str) -> bool:
        return bool(db.session.scalar(select(func.count()).select_from(Role).where(Role.key == key)))

    def department_exists(self, code: str) -> bool:
        return self._department(code) is not None

    @staticmethod
    def _department(code: str) -> Department | None:
        return db.session.scalar(
            select(Department).where(Department.code == code, Department.active.is_(True))
        )

    def role_may_be_empty(self, key: str, *, submitter_department: bool, department: str | None) -> bool:
        scopes = list(
            db.session.scalars(
                select(RoleAssignment.department_id)
                .join(Role, Role.id == RoleAssignment.role_id)
                .join(User, User.id == RoleAssignment.user_id)
                .where(Role.key == key, User.active.is_(True))
            )
        )
        if not scopes:
            return True
        if None in scopes:  # an organisation-wide holder covers every department
            return False
        if department is not None:
            dept = self._department(department)
            covering = {dept.id, *(d.id for d in dept.ancestors())} if dept is not None else set()
            return not covering.intersection(scopes)
        # Holders only for some departments: a submitter elsewhere finds nobody.
        return True

    def head_may_be_missing(self, levels: int, department: str | None) -> bool:

        if department is not None:
            dept = self._department(department)
            return department_head(dept.up(levels) if dept is not None else None) is None
        if db.session.scalar(
            select(func.count()).select_from(User).where(User.active.is_(True), User.department_id.is_(None))
        ):
            return True  # someone without a department has no head at all
        used = db.session.scalars(
            select(Department).where(
                Department.active.is_(True),
                Department.id.in_(select(User.department_id).where(User.active.is_(True))),
            )
        )
        return any(department_head(dept.up(levels)) is None for dept in used)
