"""Every change an administrator makes to the organisation, one function per change.

The pages (``org.admin_views``) and the API (``api.admin``) call these and nothing else, so a
rule — the scope of a delegated administrator, a refused cycle, what leaving does — is written
once and holds on both paths. Each function takes the acting administrator first, checks that
what it touches is within their scope (``OutOfScope``: answer 404, as for what does not exist),
refuses bad input with ``AdminRefused`` (the field and why), changes rows in the caller's
transaction (the caller commits, or rolls back on any exception) and marks what it changed as
changed by an administrator, so that loading the organisation file again leaves it alone.

Changes the layers above must follow (a leaver's open tasks, a new head's waiting requests)
are announced through ``on_leave`` / ``on_head_change`` hooks that the wiring registers, so the
organisation never imports the workflow.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, select

from ..extensions import db
from . import admin_input as read
from . import clock, grants, tokens, users
from .admin_input import AdminRefused, OutOfScope
from .admin_scope import AdminScope, department_in, grant_in, scope_of, subtree_ids, token_in, user_in
from .models import ADMINISTRATOR, Department, Role, RoleAssignment, User

__all__ = ["AdminRefused", "OutOfScope"]

NAME_LENGTH = 200

# (leaver, who takes over their work or None, acting administrator) -> None; may raise AdminRefused.
LeaveHook = Callable[[User, User | None, User], None]
# (department, old head, new head, acting administrator) -> None.
HeadHook = Callable[[Department, User | None, User | None, User], None]
_LEAVE_HOOKS: dict[str, LeaveHook] = {}
_HEAD_HOOKS: dict[str, HeadHook] = {}


def on_leave(name: str, hook: LeaveHook) -> None:
    """Run ``hook`` in the transaction of every leave (registering a name again replaces it)."""
    _LEAVE_HOOKS[name] = hook


def on_head_change(name: str, hook: HeadHook) -> None:
    """Run ``hook`` in the transaction of every change of a department's head."""
    _HEAD_HOOKS[name] = hook


def head_hooks() -> dict[str, HeadHook]:
    """The hooks of a change of head, for a bulk change (an import) that sets heads itself."""
    return dict(_HEAD_HOOKS)


# ---- scope -------------------------------------------------------------------------------------


def scope(actor: Any) -> AdminScope:
    """The actor's scope; OutOfScope when they administer nothing (every admin path then is a 404)."""
    found = scope_of(actor)
    if found is None:
        raise OutOfScope()
    return found


def _department(actor: User, department_id: int) -> tuple[AdminScope, Department]:
    where = scope(actor)
    department = department_in(where, department_id)
    if department is None:
        raise OutOfScope()
    return where, department


def _user(actor: User, user_id: int) -> tuple[AdminScope, User]:
    where = scope(actor)
    user = user_in(where, user_id)
    if user is None:
        raise OutOfScope()
    return where, user


def find_department(actor: User, department_id: int) -> Department:
    return _department(actor, department_id)[1]


def find_user(actor: User, user_id: int) -> User:
    return _user(actor, user_id)[1]


def find_grant(actor: User, grant_id: int) -> RoleAssignment:
    grant = grant_in(scope(actor), grant_id)
    if grant is None:
        raise OutOfScope()
    return grant


def find_token(actor: User, token_id: int) -> Any:
    token = token_in(scope(actor), token_id)
    if token is None:
        raise OutOfScope()
    return token


def find_role(actor: User, role_id: int) -> Role:
    scope(actor)
    role = db.session.get(Role, role_id)
    if role is None:
        raise OutOfScope()
    return role


def _changed(*rows: Department | User | Role) -> None:
    now = clock.now()
    for row in rows:
        row.admin_changed_at = now


def _names(values: dict[str, Any]) -> tuple[str, str]:
    name_zh = read.text(values.get("name_zh"), "name_zh", max_length=NAME_LENGTH) or ""
    name_en = read.text(values.get("name_en"), "name_en", max_length=NAME_LENGTH) or ""
    return name_zh, name_en


# ---- departments -------------------------------------------------------------------------------


def create_department(actor: User, values: dict[str, Any]) -> Department:
    """A new department under ``parent`` (required for a delegated administrator)."""
    where = scope(actor)
    code = read.matching(
        values.get("code"),
        "code",
        read.DEPARTMENT_CODE,
        _("A code is letters, digits, - and _, such as SALES-EAST."),
        max_length=64,
    )
    name_zh, name_en = _names(values)
    parent = read.department(where, values.get("parent"), "parent", required=not where.everything)
    if db.session.scalar(select(Department.id).where(Department.code == code)) is not None:
        raise AdminRefused(field="code", message=_("The code %(code)s is taken.", code=code))
    department = Department(code=code, name_zh=name_zh, name_en=name_en, parent=parent, active=True)
    db.session.add(department)
    _changed(department)
    db.session.flush()
    return department


def rename_department(actor: User, department_id: int, values: dict[str, Any]) -> Department:
    department = find_department(actor, department_id)
    department.name_zh, department.name_en = _names(values)
    _changed(department)
    return department


def move_department(actor: User, department_id: int, parent_value: Any) -> Department:
    """Put the department under another one; never under itself or a department below it."""
    where, department = _department(actor, department_id)
    parent = read.department(where, parent_value, "parent", required=not where.everything)
    if department.id in where.root_ids:
        # Its parent is outside the delegated scope: moving it would move it out of sight.
        raise AdminRefused(
            field="parent",
            message=_("Only an administrator of the whole organisation can move this department."),
        )
    if parent is not None and parent.id in subtree_ids({department.id}):
        raise AdminRefused(
            field="parent",
            message=_("%(name)s is below this department: that would make a circle.", name=parent.name_zh),
        )
    department.parent = parent
    _changed(department)
    return department


def set_department_head(actor: User, department_id: int, head_value: Any) -> Department:
    """Name the head (empty: none). Open tasks that wait on the head of this department go to the new one."""
    where, department = _department(actor, department_id)
    head = read.person(where, head_value, "head", required=False)
    _set_head(actor, department, head)
    return department


def _set_head(actor: User, department: Department, head: User | None) -> None:
    old = department.head
    if old is not None and head is not None and old.id == head.id:
        return
    department.head = head
    _changed(department)
    db.session.flush()
    for hook in _HEAD_HOOKS.values():
        hook(department, old, head, actor)


def deactivate_department(actor: User, department_id: int) -> Department:
    """Close a department that nobody works in any more and that has no open sub-departments."""
    department = find_department(actor, department_id)
    people = db.session.scalar(
        select(func.count())
        .select_from(User)
        .where(User.department_id == department.id, User.active.is_(True))
    )
    if people:
        raise AdminRefused(
            field="department",
            message=_("%(n)s active people still work in this department: move them first.", n=people),
        )
    children = db.session.scalar(
        select(func.count())
        .select_from(Department)
        .where(Department.parent_id == department.id, Department.active.is_(True))
    )
    if children:
        raise AdminRefused(
            field="department",
            message=_(
                "This department still has %(n)s open sub-departments: move or close them first.", n=children
            ),
        )
    department.active = False
    _changed(department)
    return department


# ---- people ------------------------------------------------------------------------------------


def create_user(actor: User, values: dict[str, Any]) -> User:
    """A new person; a delegated administrator places them in a department they administer."""
    where = scope(actor)
    username = read.matching(
        values.get("username"),
        "username",
        read.USERNAME,
        _("A user name is lower-case letters, digits, '.', '-' and '_', starting with a letter or digit."),
        max_length=80,
    )
    display_name = read.text(values.get("display_name"), "display_name", max_length=NAME_LENGTH) or ""
    email = read.email(values.get("email"))
    department = read.department(where, values.get("department"), "department", required=not where.everything)
    manager = read.person(where, values.get("manager"), "manager", required=False)
    password = values.get("password") or None
    if password is not None:
        _check_password(password)
    if users.user_by_username(username) is not None:
        raise AdminRefused(field="username", message=_("The user name %(name)s is taken.", name=username))
    user = users.create_user(
        username,
        display_name=display_name,
        department_code=department.code if department else None,
        manager_username=manager.username if manager else None,
        password=password,
        email=email,
    )
    _changed(user)
    return user


def _check_password(password: Any, field: str = "password") -> str:
    if not isinstance(password, str) or "\x00" in password or len(password) > 200:
        raise AdminRefused(field, _("Enter a password of at most 200 characters."))
    if len(password) < users.MIN_PASSWORD_LENGTH:
        raise AdminRefused(
            field, _("The password must have at least %(n)s characters.", n=users.MIN_PASSWORD_LENGTH)
        )
    return password


def edit_user(actor: User, user_id: int, values: dict[str, Any]) -> User:
    """Change a person's name and e-mail address."""
    user = find_user(actor, user_id)
    user.display_name = read.text(values.get("display_name"), "display_name", max_length=NAME_LENGTH) or ""
    user.email = read.email(values.get("email"))
    _changed(user)
    return user


def headed(user: User) -> list[Department]:
    return list(
        db.session.scalars(select(Department).where(Department.head_id == user.id).order_by(Department.code))
    )


def _hand_on_headships(
    actor: User, where: AdminScope, user: User, new_head_value: Any, keep: set[int]
) -> None:
    """The departments ``user`` heads (but those in ``keep``) get the head the administrator named."""
    heads_of = [department for department in headed(user) if department.id not in keep]
    if not heads_of:
        return
    if read.is_blank(new_head_value):
        names = ", ".join(department.name_zh for department in heads_of)
        raise AdminRefused(
            field="new_head",
            message=_(
                "%(person)s heads %(departments)s: name the new head.",
                person=user.display_name,
                departments=names,
            ),
        )
    new_head = read.person(where, new_head_value, "new_head")
    for department in heads_of:
        if not where.covers_department(department.id):
            raise AdminRefused(
                field="new_head",
                message=_(
                    "%(person)s heads a department you do not administer; ask an administrator of it.",
                    person=user.display_name,
                ),
            )
        _set_head(actor, department, new_head)


def move_user(actor: User, user_id: int, department_value: Any, new_head_value: Any = None) -> User:
    """Move a person to another department. Where they head a department (other than the one
    they move to), the administrator names its new head (``new_head``: may be the person, who
    then stays head). The new scope applies from the person's next request."""
    where, user = _user(actor, user_id)
    department = read.department(where, department_value, "department")
    assert department is not None
    if not user.active:
        raise AdminRefused(field="department", message=_("%(name)s has left.", name=user.display_name))
    if department.id != user.department_id:
        _hand_on_headships(actor, where, user, new_head_value, keep={department.id})
        user.department = department
    _changed(user)
    return user


def set_manager(actor: User, user_id: int, manager_value: Any) -> User:
    """Name the person's manager (empty: none); never someone who reports to them."""
    where, user = _user(actor, user_id)
    manager = read.person(where, manager_value, "manager", required=False)
    if manager is not None:
        seen: set[int] = set()
        node: User | None = manager
        while node is not None and node.id not in seen:
            if node.id == user.id:
                raise AdminRefused(
                    field="manager",
                    message=_(
                        "%(name)s reports to %(person)s: that would make a circle.",
                        name=manager.display_name,
                        person=user.display_name,
                    ),
                )
            seen.add(node.id)
            node = node.manager
    user.manager = manager
    _changed(user)
    return user


def reset_password(actor: User, user_id: int, password: Any) -> User:
    """Set a new password; every session of the person ends."""
    user = find_user(actor, user_id)
    if not user.active:
        raise AdminRefused(field="password", message=_("%(name)s has left.", name=user.display_name))
    users.set_password(user, _check_password(password))
    _changed(user)
    return user


def leave(actor: User, user_id: int, successor_value: Any = None, new_head_value: Any = None) -> int:
    """The person leaves (离职): sign-in, sessions and tokens end at once; departments they head get
    the new head named; their open tasks go to ``successor`` (default: their manager) and
    delegations to and from them end (hooks); history and drafts stay. Returns tokens revoked."""
    where, user = _user(actor, user_id)
    if user.id == actor.id:
        raise AdminRefused(
            field="user", message=_("You cannot record your own leaving; ask another administrator.")
        )
    if not user.active:
        raise AdminRefused(field="user", message=_("%(name)s has already left.", name=user.display_name))
    successor = read.person(where, successor_value, "successor", required=False)
    if successor is None and user.manager is not None and user.manager.active:
        successor = user.manager
    if successor is not None and successor.id == user.id:
        raise AdminRefused(field="successor", message=_("Name someone other than the person leaving."))
    _hand_on_headships(actor, where, user, new_head_value, keep=set())
    for hook in _LEAVE_HOOKS.values():
        hook(user, successor, actor)
    revoked = users.leave(user)
    _changed(user)
    return revoked


# ---- roles and grants --------------------------------------------------------------------------


def grant(actor: User, values: dict[str, Any]) -> RoleAssignment:
    """Give a person a role, optionally limited to a department and until a date, with the reason.
    A delegated administrator grants only within their departments: never organisation-wide (e.g.
    a full administrator). A grant that conflicts with the person's other roles (segregation of
    duties) needs an override reason, recorded with it."""
    where = scope(actor)
    user = read.person(where, values.get("user"), "user")
    assert user is not None
    role = read.role(values.get("role"))
    department = read.department(where, values.get("department"), "department", required=not where.everything)
    until = read.day(values.get("until"), "until")
    reason = read.text(values.get("reason"), "reason", max_length=grants.MAX_REASON, required=False)
    override = read.text(
        values.get("override_reason"), "override_reason", max_length=grants.MAX_REASON, required=False
    )
    try:
        assignment = grants.grant_role(
            user, role, department, until=until, reason=reason, by=actor, override_reason=override
        )
    except grants.GrantRefused as exc:
        raise AdminRefused(field="override_reason", message=str(exc)) from None
    except ValueError as exc:
        raise AdminRefused(field="until", message=str(exc)) from None
    _changed(user)
    db.session.flush()
    return assignment


def revoke(actor: User, grant_id: int, reason: Any = None) -> RoleAssignment:
    """Take a role back. Nobody takes their own administrator role away (another administrator does)."""
    assignment = find_grant(actor, grant_id)
    if assignment.user_id == actor.id and assignment.role.key == ADMINISTRATOR:
        raise AdminRefused(
            field="grant",
            message=_("You cannot take away your own administrator role; ask another administrator."),
        )
    user = assignment.user
    why = read.text(reason, "reason", max_length=grants.MAX_REASON, required=False)
    grants.revoke_role(assignment, by=actor, reason=why)
    _changed(user)
    db.session.flush()
    return assignment


def create_role(actor: User, values: dict[str, Any]) -> Role:
    if not scope(actor).everything:
        raise OutOfScope()
    key = read.matching(
        values.get("key"),
        "key",
        read.ROLE_KEY,
        _("A role key is lower-case letters, digits and _, starting with a letter."),
        max_length=64,
    )
    if db.session.scalar(select(Role.id).where(Role.key == key)) is not None:
        raise AdminRefused(field="key", message=_("The key %(key)s is taken.", key=key))
    name_zh, name_en = _names(values)
    role = Role(
        key=key,
        name_zh=name_zh,
        name_en=name_en,
        description=read.text(values.get("description"), "description", max_length=1000, required=False),
    )
    db.session.add(role)
    _changed(role)
    db.session.flush()
    return role


def rename_role(actor: User, role_id: int, values: dict[str, Any]) -> Role:
    role = find_role(actor, role_id)
    if not scope(actor).everything:
        raise OutOfScope()
    role.name_zh, role.name_en = _names(values)
    role.description = read.text(values.get("description"), "description", max_length=1000, required=False)
    _changed(role)
    return role


# ---- API tokens --------------------------------------------------------------------------------


def revoke_token(actor: User, token_id: int) -> Any:
    """Revoke a token of anyone in scope (idempotent)."""
    token = find_token(actor, token_id)
    if token.revoked_at is None:
        token.revoked_at = clock.now()
    return token


def create_own_token(actor: User, values: dict[str, Any]) -> str:
    """A token for the administrator themselves; the plaintext is returned once and never stored."""
    scope(actor)
    name = read.text(values.get("name"), "name", max_length=NAME_LENGTH) or "token"
    return tokens.create_token(actor, name, read.days(values.get("days")))
