"""Whom an administrator administers: everything, or a department and everything below it.

The administrator role held organisation-wide administers the whole organisation. Held for a
department (a role grant limited to it), it makes a *delegated administrator*: they administer
that department, its sub-departments and the people in them, and nothing else. Every
administration path (pages and API) asks here before it reads or changes anything; what is out
of scope is answered exactly like what does not exist (404), so nothing is revealed.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from ..extensions import db
from .models import ADMINISTRATOR, ApiToken, Department, Role, RoleAssignment, User, in_force


@dataclass(frozen=True)
class AdminScope:
    """``everything``, or the ids of the departments administered (each root and all below it)."""

    everything: bool
    department_ids: frozenset[int]
    root_ids: frozenset[int]

    def covers_department(self, department_id: int | None) -> bool:
        if self.everything:
            return True
        return department_id is not None and department_id in self.department_ids

    def covers_user(self, user: User) -> bool:
        # A person with no department belongs to the whole organisation: full administrators only.
        return self.covers_department(user.department_id)

    def covers_grant(self, assignment: RoleAssignment) -> bool:
        """A grant is within reach when its holder is, and so is the department it is limited to
        (an organisation-wide grant reaches beyond any department: full administrators only)."""
        if self.everything:
            return True
        return self.covers_user(assignment.user) and self.covers_department(assignment.department_id)


def _tree() -> dict[int, int | None]:
    """Every department's parent, read in one statement (the tree is small)."""
    rows = db.session.execute(select(Department.id, Department.parent_id))
    return {ident: parent for ident, parent in rows}


def subtree_ids(root_ids: set[int], tree: dict[int, int | None] | None = None) -> set[int]:
    """``root_ids`` and every department below them (cycles cannot loop: each id is visited once)."""
    tree = _tree() if tree is None else tree
    children: dict[int | None, list[int]] = {}
    for child, parent in tree.items():
        children.setdefault(parent, []).append(child)
    found: set[int] = set()
    stack = [root for root in root_ids if root in tree]
    while stack:
        node = stack.pop()
        if node in found:
            continue
        found.add(node)
        stack.extend(children.get(node, ()))
    return found


def scope_of(user: object) -> AdminScope | None:
    """What ``user`` administers, or None when they administer nothing (read fresh on every call,
    so a grant or a move takes effect on the next request)."""
    if not getattr(user, "is_authenticated", False) or not getattr(user, "active", False):
        return None
    user_id = getattr(user, "id", None)
    rows = db.session.execute(
        select(RoleAssignment.department_id)
        .join(Role, Role.id == RoleAssignment.role_id)
        .where(RoleAssignment.user_id == user_id, Role.key == ADMINISTRATOR, in_force())
    ).scalars()
    limited: set[int] = set()
    for department_id in rows:
        if department_id is None:
            return AdminScope(True, frozenset(), frozenset())
        limited.add(department_id)
    if not limited:
        return None
    return AdminScope(False, frozenset(subtree_ids(limited)), frozenset(limited))


def department_in(scope: AdminScope, department_id: int | None) -> Department | None:
    """The department, when it exists and is in scope (else None: the caller answers 404)."""
    if department_id is None or not scope.covers_department(department_id):
        return None
    return db.session.get(Department, department_id)


def user_in(scope: AdminScope, user_id: int | None) -> User | None:
    user = db.session.get(User, user_id) if user_id is not None else None
    return user if user is not None and scope.covers_user(user) else None


def grant_in(scope: AdminScope, grant_id: int | None) -> RoleAssignment | None:
    grant = db.session.get(RoleAssignment, grant_id) if grant_id is not None else None
    return grant if grant is not None and scope.covers_grant(grant) else None


def token_in(scope: AdminScope, token_id: int | None) -> ApiToken | None:
    token = db.session.get(ApiToken, token_id) if token_id is not None else None
    return token if token is not None and scope.covers_user(token.user) else None


def role_in(scope: AdminScope, role_id: int | None) -> Role | None:
    """Roles are read by every administrator (to grant them); see ``may_define_roles`` for changes."""
    return db.session.get(Role, role_id) if role_id is not None else None


def may_define_roles(scope: AdminScope) -> bool:
    """Creating and renaming roles changes them for the whole organisation: full administrators only."""
    return scope.everything
