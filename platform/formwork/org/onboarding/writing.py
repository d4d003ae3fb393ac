"""Writing a checked plan: a few set-based statements, whatever the number of rows.

New departments and people are inserted in one statement each, then every reference among them
(parents, heads, managers — which may point at rows of the same file) is set in one bulk UPDATE
by primary key, then the grants are inserted. The caller's transaction holds it all: any failure
rolls every row back. New people get no password (an administrator sets one, or they use the
password flow): hashing one per person would also cost seconds per thousand.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select, update

from ...audit import actions, trail
from ...extensions import db
from .. import clock
from ..models import Department, RoleAssignment, User
from ..people import search_key
from .check import CREATE, UPDATE, Plan
from .files import DEPARTMENTS, USERS


def _ids(column_key: Any, column_id: Any) -> dict[str, int]:
    return {key: ident for key, ident in db.session.execute(select(column_key, column_id))}


def write(
    actor: User | None, plan: Plan, *, file_name: str = "", head_hooks: dict[str, Any] | None = None
) -> None:
    """Apply ``plan`` (checked, without problems) in the caller's transaction."""
    assert plan.ok and plan.snapshot is not None
    snap = plan.snapshot
    now = clock.now()
    new_departments = [want for want in plan.departments.values() if want.code not in snap.departments]
    if new_departments:
        db.session.execute(
            insert(Department),
            [
                {
                    "code": want.code,
                    "name_zh": want.name_zh,
                    "name_en": want.name_en,
                    "active": True,
                    "created_at": now,
                    "admin_changed_at": now,
                }
                for want in new_departments
            ],
        )
    department_id = (
        _ids(Department.code, Department.id)
        if plan.departments
        else {code: row.id for code, row in snap.departments.items()}
    )

    def dept(code: str | None) -> int | None:
        return department_id[code] if code is not None else None

    new_users = [want for want in plan.users.values() if want.username not in snap.users]
    if new_users:
        db.session.execute(
            insert(User),
            [
                {
                    "username": want.username,
                    "display_name": want.display_name,
                    "email": want.email,
                    "department_id": dept(want.department),
                    "password_hash": None,
                    "active": True,
                    "created_at": now,
                    "admin_changed_at": now,
                    "search_key": search_key(want.username, want.display_name),
                }
                for want in new_users
            ],
        )
    user_id = (
        _ids(User.username, User.id) if new_users else {name: row.id for name, row in snap.users.items()}
    )

    def person(name: str | None) -> int | None:
        return user_id[name] if name is not None else None

    if plan.departments:
        db.session.execute(
            update(Department),
            [
                {
                    "id": department_id[want.code],
                    "name_zh": want.name_zh,
                    "name_en": want.name_en,
                    "parent_id": dept(want.parent),
                    "head_id": person(want.head),
                    "admin_changed_at": now,
                }
                for want in plan.departments.values()
            ],
        )
    if plan.users:
        db.session.execute(
            update(User),
            [
                {
                    "id": user_id[want.username],
                    "display_name": want.display_name,
                    "email": want.email,
                    "department_id": dept(want.department),
                    "manager_id": person(want.manager),
                    "search_key": search_key(want.username, want.display_name),
                    "admin_changed_at": now,
                }
                for want in plan.users.values()
            ],
        )
    if plan.grants:
        roles = snap.roles
        db.session.execute(
            insert(RoleAssignment),
            [
                {
                    "user_id": user_id[username],
                    "role_id": roles[role],
                    "department_id": dept(code),
                    "granted_at": now,
                    "granted_by_id": actor.id if actor is not None else None,
                }
                for username, role, code in plan.grants
            ],
        )
    # Objects already in the session (the administrator, a department on the page) read again.
    db.session.expire_all()
    _follow_heads(actor, plan, department_id, head_hooks or {})
    _audit(actor, plan, department_id, user_id, file_name)


def _follow_heads(
    actor: User | None, plan: Plan, department_id: dict[str, int], hooks: dict[str, Any]
) -> None:
    """A department whose head the file changed: the old head's waiting tasks go to the new one."""
    assert plan.snapshot is not None
    for want in plan.departments.values():
        old_row = plan.snapshot.departments.get(want.code)
        if old_row is None or old_row.head_id is None:
            continue
        department = db.session.get(Department, department_id[want.code])
        if department is None or department.head_id == old_row.head_id:
            continue
        old = db.session.get(User, old_row.head_id)
        for hook in hooks.values():
            hook(department, old, department.head, actor)


def _audit(
    actor: User | None, plan: Plan, department_id: dict[str, int], user_id: dict[str, int], file_name: str
) -> None:
    """One entry per change (as the pages write them) and one for the import as a whole."""
    who: Any = actor
    for change in plan.changes:
        if change.section == DEPARTMENTS and change.action in (CREATE, UPDATE):
            trail.append(
                actions.DEPARTMENT_CREATE if change.action == CREATE else actions.DEPARTMENT_CHANGE,
                actor=who,
                object_type="department",
                object_id=department_id[change.key],
                department_id=department_id[change.key],
                details={"code": change.key, "changes": _fields(change.fields), "import": plan.token[:16]},
            )
    changed_fields = {
        change.key: change.fields for change in plan.changes if change.section == USERS and change.fields
    }
    for want in plan.users.values():
        snap_row = plan.snapshot.users.get(want.username) if plan.snapshot else None
        trail.append(
            actions.USER_CREATE if snap_row is None else actions.USER_CHANGE,
            actor=who,
            object_type="user",
            object_id=user_id[want.username],
            department_id=department_id.get(want.department or "") if want.department else None,
            details={
                "username": want.username,
                "department": want.department,
                "manager": want.manager,
                **(
                    {"changes": _fields(changed_fields[want.username])}
                    if want.username in changed_fields
                    else {}
                ),
                "import": plan.token[:16],
            },
        )
    for username, role, code in plan.grants:
        trail.append(
            actions.ROLE_GRANT,
            actor=who,
            object_type="user",
            object_id=user_id[username],
            details={"username": username, "role": role, "department": code, "import": plan.token[:16]},
        )
    trail.append(
        actions.ORG_IMPORT,
        actor=who,
        object_type="import",
        object_id=plan.token[:16],
        details={"file": file_name[:200], "sha256": plan.token, "counts": plan.counts()},
    )


def _fields(fields: dict[str, tuple[str, str]]) -> dict[str, Any]:
    return {name: {"before": old, "after": new} for name, (old, new) in fields.items()}
