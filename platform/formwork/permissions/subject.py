"""The person asking (``Subject``), the record asked about (``RecordFacts``) and the department tree.

A ``Subject`` is read from the database when a request needs it — role assignments, the
person's department, the departments they head — so a move or a new head takes effect on
the next request. ``OrgTree`` is the department tree (codes, parents, heads), read likewise
once per request: list statements name the departments they reach from it as plain ids, and
answers for one record (detail, explain) walk it in Python.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Iterable, Mapping

from sqlalchemy import and_, inspect, select
from sqlalchemy.orm import InstanceState

from ..db_types import utcnow
from ..expressions import T
from ..extensions import db
from ..org.models import Department, Role, RoleAssignment, User, in_force
from ..request_memo import once, written_in_request
from .model import DEPARTMENT_HEAD, EVERYONE


@dataclass(frozen=True)
class Holding:
    """One way a person holds a role.

    ``department_id`` is the department the role is held for: the assignment's department,
    the department headed (``department_head``), or None — then the person's own department.
    ``limited``: a role assigned for a department reaches only that department and below.
    """

    role: str
    department_id: int | None = None
    limited: bool = False
    assignment_id: int | None = None


@dataclass(frozen=True)
class Subject:
    user_id: int
    username: str
    department_id: int | None
    holdings: tuple[Holding, ...]
    headed: frozenset[int] = frozenset()

    @property
    def roles(self) -> frozenset[str]:
        return frozenset(h.role for h in self.holdings)

    def anchor(self, holding: Holding) -> int | None:
        """The department a holding is anchored at (own_department, department_tree)."""
        return holding.department_id if holding.department_id is not None else self.department_id

    @classmethod
    def load(cls, user: Any, tree: "OrgTree | None" = None) -> "Subject":
        """Read the person's roles, department and headed departments now (once per request,
        ``request_memo``; never from a cache that outlives it).

        The signed-in person arrives with their role assignments (read with the session or token):
        while the request has written no people or roles those are what the database says, and no
        statement is needed. Otherwise one query for the person and their role assignments; the
        departments they head come from ``tree`` when given (read for the same request), else from
        one more query.
        """
        user_id = int(user.id)
        return once(
            ("subject", user_id),
            lambda: cls._read(user_id, tree, user),
            tables=_PEOPLE_TABLES,
        )

    @classmethod
    def _read(cls, user_id: int, tree: "OrgTree | None", user: Any = None) -> "Subject":
        loaded = _loaded_person(user)
        if loaded is not None:
            username, department_id = loaded.username, loaded.department_id
            now = utcnow()
            held = sorted(
                ((a.role.key, a.department_id, a.id) for a in loaded.role_assignments if a.in_force(now)),
                key=lambda r: r[2],
            )
        else:
            rows = db.session.execute(
                select(
                    User.username,
                    User.department_id,
                    Role.key,
                    RoleAssignment.department_id,
                    RoleAssignment.id,
                )
                .select_from(User)
                # A grant past its end counts no more, even before the due work removes it.
                .outerjoin(RoleAssignment, and_(RoleAssignment.user_id == User.id, in_force()))
                .outerjoin(Role, Role.id == RoleAssignment.role_id)
                .where(User.id == user_id)
                .order_by(RoleAssignment.id)
            ).all()
            if not rows:
                raise LookupError(f"no user with id {user_id}")
            username, department_id = rows[0].username, rows[0].department_id
            held = [(key, dept, assignment) for _, _, key, dept, assignment in rows if key is not None]
        holdings = [Holding(EVERYONE)]
        for key, dept, assignment_id in held:
            holdings.append(Holding(key, dept, dept is not None, assignment_id))
        if tree is not None:
            headed = sorted(dept_id for dept_id, head in tree.heads.items() if head == user_id)
        else:
            headed = list(
                db.session.scalars(
                    select(Department.id).where(Department.head_id == user_id).order_by(Department.id)
                )
            )
        holdings.extend(Holding(DEPARTMENT_HEAD, department_id) for department_id in headed)
        return cls(user_id, username, department_id, tuple(holdings), frozenset(headed))


_PEOPLE_TABLES = ("users", "role_assignments", "roles", "departments")


def _loaded_person(user: Any) -> User | None:
    """``user`` as loaded for this request with its role assignments, when that is still current."""
    person = user._get_current_object() if hasattr(user, "_get_current_object") else user
    if not isinstance(person, User):
        return None
    state: InstanceState[User] = inspect(person)
    if state.session is None or "role_assignments" in state.unloaded or state.expired_attributes:
        return None
    if written_in_request(_PEOPLE_TABLES):
        return None
    return person


@dataclass(frozen=True)
class OrgTree:
    """Departments by id: parent and code, read once for an answer computed in Python."""

    parents: Mapping[int, int | None]
    codes: Mapping[int, str]
    children: Mapping[int, tuple[int, ...]] = field(default_factory=dict)
    heads: Mapping[int, int | None] = field(default_factory=dict)

    @classmethod
    def load(cls) -> "OrgTree":
        """The tree as it is now, read once per request (``request_memo``)."""
        return once("department tree", cls._read, tables=("departments",))

    @classmethod
    def _read(cls) -> "OrgTree":
        rows = db.session.execute(
            select(Department.id, Department.parent_id, Department.code, Department.head_id)
        ).all()
        return cls.of((r.id, r.parent_id, r.code, r.head_id) for r in rows)

    @classmethod
    def of(cls, rows: Iterable[tuple[int, int | None, str, int | None]]) -> "OrgTree":
        parents: dict[int, int | None] = {}
        codes: dict[int, str] = {}
        heads: dict[int, int | None] = {}
        children: dict[int, list[int]] = {}
        for dept_id, parent_id, code, head_id in rows:
            parents[dept_id] = parent_id
            codes[dept_id] = code
            heads[dept_id] = head_id
            if parent_id is not None:
                children.setdefault(parent_id, []).append(dept_id)
        return cls(parents, codes, {k: tuple(sorted(v)) for k, v in children.items()}, heads)

    def id_of(self, code: str) -> int | None:
        for dept_id, known in self.codes.items():
            if known == code:
                return dept_id
        return None

    def below(self, dept_id: int | None) -> set[int]:
        """Every department under ``dept_id`` (not itself), guarded against cycles."""
        found: set[int] = set()
        stack = list(self.children.get(dept_id, ())) if dept_id is not None else []
        while stack:
            node = stack.pop()
            if node in found or node == dept_id:
                continue
            found.add(node)
            stack.extend(self.children.get(node, ()))
        return found

    def subtree(self, dept_ids: Iterable[int | None]) -> set[int]:
        """The departments and everything below them."""
        result: set[int] = set()
        for dept_id in dept_ids:
            if dept_id is not None:
                result.add(dept_id)
                result |= self.below(dept_id)
        return result


@dataclass(frozen=True)
class RecordFacts:
    """What the permission layer reads of one record: its columns and its typed field values."""

    id: int | None
    form_key: str
    owner_id: int | None
    department_id: int | None
    status: str
    values: Mapping[str, Any] = field(default_factory=dict)
    created_at: datetime | None = None
    submitted_at: datetime | None = None

    @classmethod
    def of(cls, record: Any, form: Any = None) -> "RecordFacts":
        """From a ``records.models.Record``; ``form`` (its compiled form) types the values."""
        data = record.data or {}
        if form is not None:
            values = {f.key: stored_value(f, data.get(f.key)) for f in form.fields}
        else:
            values = dict(data)
        return cls(
            record.id,
            record.form_key,
            record.owner_id,
            record.department_id,
            record.status,
            values,
            record.created_at,
            record.submitted_at,
        )


def stored_value(field_model: Any, raw: Any) -> Any:
    """A stored value as filters read it: typed like the field, computed fields as stored.

    SQL reads what is stored, computed fields included, so the Python answer must too (never a
    value recomputed from other fields).
    """
    if raw is None:
        return None
    if field_model.is_lines:
        if not isinstance(raw, list):
            return None
        return [
            {sub.key: stored_value(sub, row.get(sub.key)) for sub in field_model.fields}
            for row in raw
            if isinstance(row, dict)
        ]
    if not field_model.is_computed:
        return field_model.from_json(raw)
    try:
        if field_model.value_type in (T.MONEY, T.DECIMAL):
            return Decimal(str(raw))
        if field_model.value_type == T.INTEGER:
            return int(raw)
        if field_model.value_type == T.DATE:
            return date.fromisoformat(str(raw))
    except (ArithmeticError, ValueError, TypeError):
        return None  # a stored value that does not read as its type counts as empty
    return raw


def user_values(subject: Subject, tree: OrgTree) -> dict[str, Any]:
    """``$user`` for filters, computed from the subject and the tree read for this answer."""
    return {
        "id": subject.user_id,
        "username": subject.username,
        "department": subject.department_id,
        "department_descendants": sorted(tree.below(subject.department_id)),
        "managed_departments": sorted(subject.headed),
        "roles": sorted(subject.roles),
    }


def record_values(record: RecordFacts) -> dict[str, Any]:
    """``$record`` for filters."""
    return {
        "status": record.status,
        "department": record.department_id,
        "owner": record.owner_id,
        "created_at": record.created_at,
        "submitted_at": record.submitted_at,
    }
