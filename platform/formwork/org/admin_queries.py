"""What the administration lists show: people, departments, roles and tokens within an
administrator's scope, searched and a page at a time."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import joinedload

from ..extensions import db
from ..input_limits import NUL
from .admin_scope import AdminScope
from .models import ApiToken, Department, Role, RoleAssignment, User

T = TypeVar("T")
MAX_SEARCH = 50


@dataclass
class Page(Generic[T]):
    items: list[T]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def _needle(text: str | None) -> str:
    return (text or "").replace(NUL, "").strip().lower()[:MAX_SEARCH]


def _page(stmt: Select, page: int, per_page: int) -> Page[Any]:
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    items = list(db.session.scalars(stmt.limit(per_page).offset((page - 1) * per_page)).unique())
    return Page(items, total, page, per_page)


def _in_scope(stmt: Select, scope: AdminScope, column: Any) -> Select:
    if scope.everything:
        return stmt
    return stmt.where(column.in_(sorted(scope.department_ids)))


def users(scope: AdminScope, text: str | None, page: int, per_page: int, *, left: bool = False) -> Page[User]:
    """People in scope, found by name, user name, pinyin or department; active ones unless ``left``."""
    stmt = (
        select(User)
        .outerjoin(Department, Department.id == User.department_id)
        .options(joinedload(User.department), joinedload(User.manager))
        .where(User.active.is_(not left))
        .order_by(User.username)
    )
    stmt = _in_scope(stmt, scope, User.department_id)
    needle = _needle(text)
    if needle:
        stmt = stmt.where(
            or_(
                User.search_key.contains(needle, autoescape=True),
                func.lower(func.coalesce(User.email, "")).contains(needle, autoescape=True),
                Department.name_zh.contains(needle, autoescape=True),
                func.lower(Department.name_en).contains(needle, autoescape=True),
            )
        )
    return _page(stmt, page, per_page)


def departments(
    scope: AdminScope, text: str | None, page: int, per_page: int
) -> Page[tuple[int, Department]]:
    """Departments in scope, in tree order (each after its parent), found by code or name."""
    every = list(db.session.scalars(select(Department).options(joinedload(Department.head))))
    ordered = tree_order(every)
    needle = _needle(text)
    chosen = [
        (depth, department)
        for depth, department in ordered
        if scope.covers_department(department.id)
        and (
            not needle
            or needle in department.code.lower()
            or needle in department.name_zh.lower()
            or needle in department.name_en.lower()
        )
    ]
    start = (page - 1) * per_page
    return Page(chosen[start : start + per_page], len(chosen), page, per_page)


def tree_order(departments: list[Department]) -> list[tuple[int, Department]]:
    """(depth, department) with every department after its parent, siblings by code."""
    by_parent: dict[int | None, list[Department]] = {}
    ids = {department.id for department in departments}
    for department in departments:
        parent = department.parent_id if department.parent_id in ids else None
        by_parent.setdefault(parent, []).append(department)
    result: list[tuple[int, Department]] = []
    seen: set[int] = set()
    stack = [(0, d) for d in sorted(by_parent.get(None, []), key=lambda d: d.code, reverse=True)]
    while stack:
        depth, department = stack.pop()
        if department.id in seen:
            continue
        seen.add(department.id)
        result.append((depth, department))
        children = sorted(by_parent.get(department.id, []), key=lambda d: d.code, reverse=True)
        stack.extend((depth + 1, child) for child in children)
    return result


def department_choices(scope: AdminScope) -> list[tuple[int, Department]]:
    """Open departments in scope, in tree order: the options of a department select."""
    every = list(db.session.scalars(select(Department)))
    return [
        (depth, department)
        for depth, department in tree_order(every)
        if department.active and scope.covers_department(department.id)
    ]


def roles(text: str | None, page: int, per_page: int) -> Page[Role]:
    stmt = select(Role).order_by(Role.key)
    needle = _needle(text)
    if needle:
        stmt = stmt.where(
            or_(
                Role.key.contains(needle, autoescape=True),
                Role.name_zh.contains(needle, autoescape=True),
                func.lower(Role.name_en).contains(needle, autoescape=True),
            )
        )
    return _page(stmt, page, per_page)


def all_roles() -> list[Role]:
    return list(db.session.scalars(select(Role).order_by(Role.key)))


def grants_of(scope: AdminScope, user: User) -> list[tuple[RoleAssignment, bool]]:
    """The person's grants, each with whether this administrator may revoke it."""
    rows = db.session.scalars(
        select(RoleAssignment)
        .where(RoleAssignment.user_id == user.id)
        .options(joinedload(RoleAssignment.department))
        .order_by(RoleAssignment.id)
    ).unique()
    return [(grant, scope.covers_grant(grant)) for grant in rows]


def tokens(
    scope: AdminScope, text: str | None, page: int, per_page: int, *, user_id: int | None = None
) -> Page[ApiToken]:
    """API tokens of people in scope (newest first), found by the token's name or its holder."""
    stmt = (
        select(ApiToken)
        .join(User, User.id == ApiToken.user_id)
        .options(joinedload(ApiToken.user))
        .order_by(ApiToken.id.desc())
    )
    stmt = _in_scope(stmt, scope, User.department_id)
    if user_id is not None:
        stmt = stmt.where(ApiToken.user_id == user_id)
    needle = _needle(text)
    if needle:
        stmt = stmt.where(
            or_(
                func.lower(ApiToken.name).contains(needle, autoescape=True),
                User.search_key.contains(needle, autoescape=True),
            )
        )
    return _page(stmt, page, per_page)
