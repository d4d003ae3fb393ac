"""Checking an onboarding file against the organisation: every problem, and what would change.

The whole organisation the checks need (codes, user names, roles, grants) is read once, in a
handful of statements, into a ``Snapshot``; every row is then checked in memory, so 10,000 rows
cost no more queries than ten. Rows may refer to each other in any order (a department's parent
or a person's manager further down the file); the final trees are checked for circles.

A delegated administrator's reach applies row by row: a department or person outside it reads
exactly like one that does not exist, as on every other administration path. A reference to
something outside it is accepted only where it is what is already there (the parent of their
own top department, a manager in another department), so that their own export imports again
unchanged.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any, Hashable, TypeVar

from flask_babel import gettext as _
from sqlalchemy import select

from ...extensions import db
from .. import grants
from ..admin_input import DEPARTMENT_CODE, EMAIL, ROLE_KEY, USERNAME
from ..admin_scope import AdminScope
from ..models import Department, Role, RoleAssignment, User
from .files import DEPARTMENTS, GRANTS, USERS, Problem, Row, Sheets

CREATE, UPDATE, UNCHANGED = "create", "update", "unchanged"
LIMITS = {
    "code": 64,
    "name_zh": 200,
    "name_en": 200,
    "parent": 64,
    "head": 80,
    "username": 80,
    "display_name": 200,
    "email": 254,
    "department": 64,
    "manager": 80,
    "active": 10,
    "role": 64,
}
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
YES = {"", "yes", "y", "true", "1", "是", "在职"}
NO = {"no", "n", "false", "0", "否", "离职"}


@dataclass(frozen=True)
class DepartmentRow:
    id: int
    code: str
    name_zh: str
    name_en: str
    parent_id: int | None
    head_id: int | None
    active: bool


@dataclass(frozen=True)
class UserRow:
    id: int
    username: str
    display_name: str
    email: str | None
    department_id: int | None
    manager_id: int | None
    active: bool


@dataclass
class Snapshot:
    """The organisation as the checks need it, read in one go."""

    departments: dict[str, DepartmentRow]
    department_code: dict[int, str]
    users: dict[str, UserRow]
    username: dict[int, str]
    roles: dict[str, int]
    grants: set[tuple[int, int, int | None]]

    @classmethod
    def load(cls) -> "Snapshot":
        departments = {
            row.code: DepartmentRow(*row)
            for row in db.session.execute(
                select(
                    Department.id,
                    Department.code,
                    Department.name_zh,
                    Department.name_en,
                    Department.parent_id,
                    Department.head_id,
                    Department.active,
                )
            )
        }
        users = {
            row.username: UserRow(*row)
            for row in db.session.execute(
                select(
                    User.id,
                    User.username,
                    User.display_name,
                    User.email,
                    User.department_id,
                    User.manager_id,
                    User.active,
                )
            )
        }
        return cls(
            departments=departments,
            department_code={row.id: code for code, row in departments.items()},
            users=users,
            username={row.id: name for name, row in users.items()},
            roles={key: ident for key, ident in db.session.execute(select(Role.key, Role.id))},
            grants={
                (user_id, role_id, department_id)
                for user_id, role_id, department_id in db.session.execute(
                    select(RoleAssignment.user_id, RoleAssignment.role_id, RoleAssignment.department_id)
                )
            },
        )


@dataclass
class Change:
    """One row's effect: created, updated (``fields``: column -> (before, after)) or unchanged."""

    section: str
    line: int
    key: str
    action: str
    fields: dict[str, tuple[str, str]] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "section": self.section,
            "line": self.line,
            "key": self.key,
            "action": self.action,
            "fields": {name: {"before": old, "after": new} for name, (old, new) in self.fields.items()},
        }


@dataclass
class DepartmentWant:
    code: str
    name_zh: str
    name_en: str
    parent: str | None
    head: str | None


@dataclass
class UserWant:
    username: str
    display_name: str
    email: str | None
    department: str | None
    manager: str | None


@dataclass
class Plan:
    """What importing the file would do, or the problems that stop it (then it does nothing)."""

    token: str
    problems: list[Problem] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    departments: dict[str, DepartmentWant] = field(default_factory=dict)
    users: dict[str, UserWant] = field(default_factory=dict)
    grants: list[tuple[str, str, str | None]] = field(default_factory=list)
    snapshot: Snapshot | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    def counts(self) -> dict[str, dict[str, int]]:
        found = {section: {CREATE: 0, UPDATE: 0, UNCHANGED: 0} for section in (DEPARTMENTS, USERS, GRANTS)}
        for change in self.changes:
            found[change.section][change.action] += 1
        return found

    def changed(self) -> list[Change]:
        return [change for change in self.changes if change.action != UNCHANGED]

    def as_json(self, limit: int | None = None) -> dict[str, Any]:
        changed = self.changed()
        return {
            "token": self.token,
            "ok": self.ok,
            "counts": self.counts(),
            "problems": [problem.as_json() for problem in self.problems],
            "changes": [change.as_json() for change in changed[:limit]],
            "changes_total": len(changed),
        }


def token_of(data: bytes) -> str:
    """What names exactly this file: the page and the API apply only the file that was checked."""
    return hashlib.sha256(data).hexdigest()


K = TypeVar("K", bound=Hashable)


def on_circles(parents: dict[K, K | None]) -> set[K]:
    """The nodes that lie on a circle of ``parents`` (each node visited once: linear time)."""
    state: dict[K, int] = {}  # 1: on the current path, 2: done
    circled: set[K] = set()
    for start in parents:
        path: list[K] = []
        node: K | None = start
        while node is not None and node in parents and state.get(node) is None:
            state[node] = 1
            path.append(node)
            node = parents[node]
        if node is not None and state.get(node) == 1:
            circled.update(path[path.index(node) :])
        for visited in path:
            state[visited] = 2
    return circled


class _Checker:
    def __init__(self, scope: AdminScope, sheets: Sheets, snapshot: Snapshot, plan: Plan):
        self.scope = scope
        self.sheets = sheets
        self.snap = snapshot
        self.plan = plan
        self.file_departments: dict[str, Row] = {}
        self.file_users: dict[str, Row] = {}
        self.held: set[tuple[str, str, str | None]] = set()

    # ---- cells -----------------------------------------------------------------------------

    def problem(self, section: str, row: Row, column: str, message: str) -> None:
        self.plan.problems.append(Problem(section, row.line, column, message))

    def cell(self, section: str, row: Row, column: str, *, required: bool = False) -> str | None:
        """The trimmed text of a cell, or None when empty; a problem (and None) when it is unusable."""
        raw = row.values.get(column, "")
        value = raw.strip()
        if _CONTROL.search(value):
            self.problem(
                section,
                row,
                column,
                _("The cell contains a control character (such as NUL or a line break)."),
            )
            return None
        if not value:
            if required:
                self.problem(section, row, column, _("This field is required."))
            return None
        if len(value) > LIMITS[column]:
            self.problem(section, row, column, _("At most %(n)s characters.", n=LIMITS[column]))
            return None
        return value

    def optional(self, section: str, row: Row, column: str, current: str | None) -> str | None:
        """An optional cell; when the section has no such column at all, what is there stays (a
        file of user names and e-mail addresses does not take everyone out of their department)."""
        if column not in self.sheets.columns.get(section, ()):
            return current
        return self.cell(section, row, column)

    def pattern(self, section: str, row: Row, column: str, pattern: re.Pattern[str], why: str) -> str | None:
        value = self.cell(section, row, column, required=True)
        if value is not None and not pattern.match(value):
            self.problem(section, row, column, why)
            return None
        return value

    # ---- references ------------------------------------------------------------------------

    def department_ref(
        self, section: str, row: Row, column: str, code: str | None, current_id: int | None
    ) -> str | None:
        """The code of a department reference (None: none, or a problem noted). One outside
        scope or closed is accepted only when it is what the row already has."""
        current = self.snap.department_code.get(current_id) if current_id is not None else None
        if code is None:
            if not self.scope.everything and current is not None:
                self.problem(section, row, column, _("Choose a department."))
                return None
            return None
        if code == current:
            return code
        if code in self.file_departments:
            return code
        found = self.snap.departments.get(code)
        if found is None or not self.scope.covers_department(found.id):
            self.problem(section, row, column, _("No such department: %(code)s.", code=code))
            return None
        if not found.active:
            self.problem(section, row, column, _("This department is closed."))
            return None
        return code

    def person_ref(
        self, section: str, row: Row, column: str, name: str | None, current_id: int | None
    ) -> str | None:
        """The user name a reference to a person names (None: none, or a problem noted): someone
        in the file, or active and in scope."""
        if name is None:
            return None
        name = name.lower()
        current = self.snap.username.get(current_id) if current_id is not None else None
        if name == current:
            return name
        if name in self.file_users:
            return name
        found = self.snap.users.get(name)
        if found is None or not self.scope.covers_department(found.department_id):
            self.problem(section, row, column, _("No such person: %(name)s.", name=name))
            return None
        if not found.active:
            self.problem(section, row, column, _("%(name)s has left.", name=found.display_name))
            return None
        return name

    # ---- sections --------------------------------------------------------------------------

    def index(self) -> None:
        """Which codes and user names the file defines (first occurrence; repeats are problems)."""
        for section, seen, column in (
            (DEPARTMENTS, self.file_departments, "code"),
            (USERS, self.file_users, "username"),
        ):
            for row in self.sheets.rows[section]:
                key = row.values.get(column, "").strip()
                key = key.lower() if column == "username" else key
                if not key:
                    continue
                if key in seen:
                    self.problem(
                        section,
                        row,
                        column,
                        _("%(key)s is already on line %(line)s.", key=key, line=seen[key].line),
                    )
                else:
                    seen[key] = row

    def departments(self) -> None:
        snap, scope = self.snap, self.scope
        parents: dict[str, str | None] = {
            code: snap.department_code.get(row.parent_id) if row.parent_id else None
            for code, row in snap.departments.items()
        }
        lines: dict[str, Row] = {}
        for row in self.sheets.rows[DEPARTMENTS]:
            code = self.pattern(
                DEPARTMENTS,
                row,
                "code",
                DEPARTMENT_CODE,
                _("A code is letters, digits, - and _, such as SALES-EAST."),
            )
            if code is None or self.file_departments.get(code) is not row:
                continue
            existing = snap.departments.get(code)
            if existing is not None and not scope.covers_department(existing.id):
                self.problem(DEPARTMENTS, row, "code", _("No such department: %(code)s.", code=code))
                continue
            before = len(self.plan.problems)
            name_zh = self.cell(DEPARTMENTS, row, "name_zh", required=True)
            name_en = self.cell(DEPARTMENTS, row, "name_en", required=True)
            parent_code = self.optional(
                DEPARTMENTS,
                row,
                "parent",
                snap.department_code.get(existing.parent_id or 0) if existing else None,
            )
            current_parent = existing.parent_id if existing else None
            if parent_code is None and existing is None and not scope.everything:
                self.problem(DEPARTMENTS, row, "parent", _("Choose a department."))
            parent = self.department_ref(DEPARTMENTS, row, "parent", parent_code, current_parent)
            if (
                existing is not None
                and existing.id in scope.root_ids
                and parent != snap.department_code.get(current_parent or 0)
            ):
                self.problem(
                    DEPARTMENTS,
                    row,
                    "parent",
                    _("Only an administrator of the whole organisation can move this department."),
                )
            head = self.person_ref(
                DEPARTMENTS,
                row,
                "head",
                self.optional(
                    DEPARTMENTS, row, "head", snap.username.get(existing.head_id or 0) if existing else None
                ),
                existing.head_id if existing else None,
            )
            if len(self.plan.problems) != before or name_zh is None or name_en is None:
                continue
            parents[code] = parent
            lines[code] = row
            want = DepartmentWant(code, name_zh, name_en, parent, head)
            if existing is None:
                self.plan.changes.append(Change(DEPARTMENTS, row.line, code, CREATE))
                self.plan.departments[code] = want
                continue
            fields = _differences(
                {
                    "name_zh": existing.name_zh,
                    "name_en": existing.name_en,
                    "parent": snap.department_code.get(existing.parent_id or 0),
                    "head": snap.username.get(existing.head_id or 0),
                },
                {"name_zh": name_zh, "name_en": name_en, "parent": parent, "head": head},
            )
            self.plan.changes.append(
                Change(DEPARTMENTS, row.line, code, UPDATE if fields else UNCHANGED, fields)
            )
            if fields:
                self.plan.departments[code] = want
        for code in sorted(on_circles(parents)):
            if code in lines:
                self.problem(
                    DEPARTMENTS,
                    lines[code],
                    "parent",
                    _("The parents of %(code)s go round in a circle.", code=code),
                )

    def users(self) -> None:
        snap = self.snap
        managers: dict[str, str | None] = {
            name: snap.username.get(row.manager_id) if row.manager_id else None
            for name, row in snap.users.items()
        }
        lines: dict[str, Row] = {}
        for row in self.sheets.rows[USERS]:
            raw = row.values.get("username", "").strip().lower()
            if raw and self.file_users.get(raw) is not row:
                continue
            row.values["username"] = raw
            username = self.pattern(
                USERS,
                row,
                "username",
                USERNAME,
                _(
                    "A user name is lower-case letters, digits, '.', '-' and '_', starting with a letter or digit."  # noqa: E501
                ),
            )
            if username is None:
                continue
            existing = snap.users.get(username)
            if existing is not None and not self.scope.covers_department(existing.department_id):
                self.problem(USERS, row, "username", _("No such person: %(name)s.", name=username))
                continue
            before = len(self.plan.problems)
            display_name = self.cell(USERS, row, "display_name", required=True)
            email = self.optional(USERS, row, "email", existing.email if existing else None)
            if email is not None and not EMAIL.match(email):
                self.problem(USERS, row, "email", _("Enter an e-mail address such as name@example.com."))
            code = self.optional(
                USERS,
                row,
                "department",
                snap.department_code.get(existing.department_id or 0) if existing else None,
            )
            if code is None and existing is None and not self.scope.everything:
                self.problem(USERS, row, "department", _("Choose a department."))
            department = self.department_ref(
                USERS, row, "department", code, existing.department_id if existing else None
            )
            manager = self.person_ref(
                USERS,
                row,
                "manager",
                self.optional(
                    USERS, row, "manager", snap.username.get(existing.manager_id or 0) if existing else None
                ),
                existing.manager_id if existing else None,
            )
            if manager == username:
                self.problem(USERS, row, "manager", _("A person cannot be their own manager."))
            active = (self.optional(USERS, row, "active", None) or "").lower()
            if "active" not in self.sheets.columns.get(USERS, ()) and existing is not None:
                active = "yes" if existing.active else "no"
            if active not in YES | NO:
                self.problem(USERS, row, "active", _("Enter yes or no."))
            elif (active in YES) != (existing.active if existing else True):
                message = (
                    _("Record a leaving on the person's page: it hands on their work.")
                    if active in NO
                    else _("A person who has left does not come back by import.")
                )
                self.problem(USERS, row, "active", message)
            if len(self.plan.problems) != before or display_name is None:
                continue
            managers[username] = manager
            lines[username] = row
            want = UserWant(username, display_name, email, department, manager)
            if existing is None:
                self.plan.changes.append(Change(USERS, row.line, username, CREATE))
                self.plan.users[username] = want
                continue
            fields = _differences(
                {
                    "display_name": existing.display_name,
                    "email": existing.email,
                    "department": snap.department_code.get(existing.department_id or 0),
                    "manager": snap.username.get(existing.manager_id or 0),
                },
                {"display_name": display_name, "email": email, "department": department, "manager": manager},
            )
            self.plan.changes.append(
                Change(USERS, row.line, username, UPDATE if fields else UNCHANGED, fields)
            )
            if fields:
                self.plan.users[username] = want
        for name in sorted(on_circles(managers)):
            if name in lines:
                self.problem(
                    USERS,
                    lines[name],
                    "manager",
                    _("The managers of %(name)s go round in a circle.", name=name),
                )

    def grants(self) -> None:
        seen: dict[tuple[str, str, str | None], int] = {}
        for row in self.sheets.rows[GRANTS]:
            # A grant already held (and within reach) stays as it is, even one of a person who has
            # left or limited to a closed department: an export of them imports unchanged.
            key = self._held(row)
            if key is None:
                key = self._new_grant(row)
            if key is None:
                continue
            username, role, department = key
            if key in seen:
                self.problem(
                    GRANTS, row, "role", _("This grant is already on line %(line)s.", line=seen[key])
                )
                continue
            seen[key] = row.line
            held = key in self.held
            if not held and self._conflicts(row, username, role):
                continue
            label = f"{username}: {role}" + (f" ({department})" if department else "")
            self.plan.changes.append(Change(GRANTS, row.line, label, UNCHANGED if held else CREATE))
            if not held:
                self.plan.grants.append(key)

    def _conflicts(self, row: Row, username: str, role: str) -> bool:
        """A new grant joining a pair of incompatible roles (segregation of duties) is refused:
        such a grant needs an administrator's override reason, given on the person's page."""
        snap = self.snap
        keys = {ident: key for key, ident in snap.roles.items()}
        user = snap.users.get(username)
        held = {
            keys[role_id] for user_id, role_id, _d in snap.grants if user is not None and user_id == user.id
        }
        held |= {other for name, other, _d in self.plan.grants if name == username}
        conflicts = grants.conflicts_between(held, role)
        if conflicts:
            self.problem(
                GRANTS,
                row,
                "role",
                _(
                    "This role may not be held with the person's other roles (%(conflicts)s); grant it on "
                    "the person's page with an override reason.",
                    conflicts="; ".join(conflicts),
                ),
            )
        return bool(conflicts)

    def _held(self, row: Row) -> tuple[str, str, str | None] | None:
        snap = self.snap
        username = row.values.get("username", "").strip().lower()
        role = row.values.get("role", "").strip()
        code = row.values.get("department", "").strip() or None
        user = snap.users.get(username)
        dept = snap.departments.get(code) if code is not None else None
        if user is None or role not in snap.roles or (code is not None and dept is None):
            return None
        if not self.scope.covers_department(user.department_id):
            return None
        if not self.scope.everything and (dept is None or not self.scope.covers_department(dept.id)):
            return None
        if (user.id, snap.roles[role], dept.id if dept else None) not in snap.grants:
            return None
        self.held.add((username, role, code))
        return (username, role, code)

    def _new_grant(self, row: Row) -> tuple[str, str, str | None] | None:
        before = len(self.plan.problems)
        username = (self.cell(GRANTS, row, "username", required=True) or "").lower() or None
        if username is not None:
            username = self.person_ref(GRANTS, row, "username", username, None)
        role = self.pattern(GRANTS, row, "role", ROLE_KEY, _("No such role."))
        if role is not None and role not in self.snap.roles:
            self.problem(GRANTS, row, "role", _("No such role."))
        code = self.cell(GRANTS, row, "department")
        if code is None and not self.scope.everything:
            self.problem(GRANTS, row, "department", _("Choose a department."))
        department = self.department_ref(GRANTS, row, "department", code, None)
        if len(self.plan.problems) != before or username is None or role is None:
            return None
        return (username, role, department)


def _differences(before: dict[str, str | None], after: dict[str, str | None]) -> dict[str, tuple[str, str]]:
    return {
        name: (before[name] or "", after[name] or "")
        for name in after
        if (before[name] or "") != (after[name] or "")
    }


def check(scope: AdminScope, sheets: Sheets, data: bytes, snapshot: Snapshot | None = None) -> Plan:
    """Every problem of the file and, when there are none, what importing it changes."""
    plan = Plan(token=token_of(data), problems=list(sheets.problems))
    plan.snapshot = snapshot or Snapshot.load()
    checker = _Checker(scope, sheets, plan.snapshot, plan)
    checker.index()
    checker.departments()
    checker.users()
    checker.grants()
    plan.problems.sort(key=_problem_order)
    return plan


_ORDER: dict[str, int] = {DEPARTMENTS: 0, USERS: 1, GRANTS: 2}


def _problem_order(problem: Problem) -> tuple[int, int, str]:
    return (_ORDER.get(problem.section, 3), problem.line, problem.column)
