"""The permission review report (定期权限审计): who may see, mask, write, approve, export, print and
administer which form — the effective result of the published definitions — with the grant behind
each line.

Pure computation over what is already loaded: the published policies (compiled once per version),
the published routes, the department tree (one statement) and the role assignments of the people on
the page (one statement for all of them, whatever their number). Nothing is read per person or per
record. Each line names the role, the assignment (its id, the department it is limited to, when and
by whom it was granted, and its expiry when assignments have one) and where the grant is written.

**Conflicts (segregation of duties).** ``review(..., conflicts=...)`` takes rows of declared
incompatible roles a person holds (``ConflictRow``); the report and its exports render them in
their own section. This module does not decide what conflicts: ``conflict_rows`` turns the pairs
declared in the permission definitions (``duties.declared_pairs``) into rows, and an empty list
renders nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import aliased

from ..definitions import store
from ..extensions import db
from ..org.models import Role, RoleAssignment, User, in_force
from ..routes.model import Step
from ..routes.store import current_route
from .model import DEPARTMENT_HEAD, EVERYONE, RECORD_OPERATIONS, FieldRule, Grant, PolicySet, Right
from .published import current_policies
from .subject import OrgTree

#: The lines of the report, in this order for each person and form.
OPERATIONS = ("view", "mask", "write", "edit", "approve", "export", "print", "create", "administer")


@dataclass(frozen=True)
class Holding:
    """One way a person holds a role, with the assignment behind it (None: built in)."""

    role: str
    department_id: int | None = None  # the department it is held for (None: the person's own)
    limited: bool = False
    assignment_id: int | None = None
    granted_at: datetime | None = None
    granted_by: str | None = None
    expires_at: datetime | None = None


@dataclass(frozen=True)
class Person:
    id: int
    username: str
    display_name: str
    department_id: int | None
    holdings: tuple[Holding, ...]


@dataclass(frozen=True)
class ReviewRow:
    user_id: int
    username: str
    form: str
    operation: str  # one of OPERATIONS
    scope: str  # own / own_department of X / department_tree of X / all / ...
    detail: str  # fields masked or written, route steps approved
    role: str
    assignment_id: int | None
    department_limit: str | None  # the code of the department the assignment is limited to
    granted_at: datetime | None
    granted_by: str | None
    expires_at: datetime | None
    source: str  # where the grant or rule is written


@dataclass(frozen=True)
class ConflictRow:
    """A person holding roles declared incompatible (segregation of duties)."""

    user_id: int
    username: str
    title: str
    roles: tuple[str, ...]
    assignment_ids: tuple[int, ...] = ()


@dataclass
class Review:
    rows: list[ReviewRow] = field(default_factory=list)
    conflicts: list[ConflictRow] = field(default_factory=list)
    people: list[Person] = field(default_factory=list)  # everyone reviewed, by user name


def people(user_ids: Sequence[int]) -> list[Person]:
    """The people with every role they hold, in two statements (people, then every assignment)."""
    if not user_ids:
        return []
    users = list(
        db.session.execute(
            select(User.id, User.username, User.display_name, User.department_id)
            .where(User.id.in_(sorted(set(user_ids))))
            .order_by(User.username)
        )
    )
    granter = aliased(User)
    columns: list[Any] = [
        RoleAssignment.user_id,
        RoleAssignment.id,
        Role.key,
        RoleAssignment.department_id,
        RoleAssignment.granted_at,
        granter.username,
        RoleAssignment.expires_at,
    ]
    held: dict[int, list[Holding]] = {}
    rows = db.session.execute(
        select(*columns)
        .join(Role, Role.id == RoleAssignment.role_id)
        .outerjoin(granter, granter.id == RoleAssignment.granted_by_id)
        .where(
            RoleAssignment.user_id.in_(sorted(set(user_ids))), in_force()
        )  # an expired grant gives nothing
        .order_by(RoleAssignment.id)
    )
    for row in rows:
        held.setdefault(row[0], []).append(
            Holding(
                role=row[2],
                department_id=row[3],
                limited=row[3] is not None,
                assignment_id=row[1],
                granted_at=row[4],
                granted_by=row[5],
                expires_at=row[6],
            )
        )
    return [
        Person(u.id, u.username, u.display_name or u.username, u.department_id, tuple(held.get(u.id, ())))
        for u in users
    ]


def _holdings(person: Person, tree: OrgTree) -> list[Holding]:
    headed = [dept for dept, head in tree.heads.items() if head == person.id]
    return [
        Holding(EVERYONE),
        *person.holdings,
        *(Holding(DEPARTMENT_HEAD, dept) for dept in sorted(headed)),
    ]


def _anchor(person: Person, holding: Holding) -> int | None:
    return holding.department_id if holding.department_id is not None else person.department_id


def _scope_text(grant: Grant, person: Person, holding: Holding, tree: OrgTree) -> str:
    if grant.scope is None:
        return "form"
    anchor = tree.codes.get(_anchor(person, holding) or 0)
    text = grant.scope.describe()
    if grant.scope.kind in ("own_department", "department_tree") and anchor:
        text += f" of {anchor}"
    if holding.limited and grant.scope.kind in ("all", "departments") and anchor:
        text += f", within {anchor} and below"
    if grant.statuses:
        text += f"; only {', '.join(sorted(grant.statuses))}"
    if grant.except_departments:
        text += f"; never {', '.join(grant.except_departments)}"
    if grant.filter is not None:
        text += f"; where {grant.filter.source}"
    return text


def _row(
    person: Person,
    form: str,
    operation: str,
    scope: str,
    detail: str,
    holding: Holding,
    source: str,
    tree: OrgTree,
) -> ReviewRow:
    return ReviewRow(
        user_id=person.id,
        username=person.username,
        form=form,
        operation=operation,
        scope=scope,
        detail=detail,
        role=holding.role,
        assignment_id=holding.assignment_id,
        department_limit=tree.codes.get(holding.department_id)
        if holding.limited and holding.department_id
        else None,
        granted_at=holding.granted_at,
        granted_by=holding.granted_by,
        expires_at=holding.expires_at,
        source=source,
    )


def _approves(step: Step, person: Person, holding: Holding, tree: OrgTree) -> bool:
    for spec in step.approvers:
        if (
            spec.kind == "role"
            and spec.value == holding.role
            and holding.role not in (EVERYONE, DEPARTMENT_HEAD)
        ):
            if spec.department is None or not holding.limited:
                return True
            wanted = tree.id_of(spec.department)
            if wanted is not None and wanted in tree.subtree([holding.department_id]):
                return True
        if spec.kind == "department_head" and holding.role == DEPARTMENT_HEAD:
            if spec.department is None or tree.id_of(spec.department) == holding.department_id:
                return True
        if spec.kind == "user" and spec.value == person.username and holding.role == EVERYONE:
            return True
    return False


def _masked_fields(policies: PolicySet, role: str) -> list[tuple[str, FieldRule]]:
    """The fields a holder of ``role`` reads masked through it, in any state and at any step: as
    ``field_rights.role_right`` decides (the role's own last matching rule, else everyone's), over
    the rules that hold always (a rule for some states or steps only is not the standing answer)."""
    always = [r for r in policies.field_rules if r.statuses is None and r.steps is None]
    named = sorted({f for r in always if r.right == Right.MASKED for f in r.fields})
    found = []
    for path in named:
        for tier in (role, EVERYONE) if role != EVERYONE else (EVERYONE,):
            chosen = None
            for rule in always:
                if tier in rule.roles and rule.covers(path):
                    chosen = rule  # the last matching rule wins
            if chosen is not None:
                if chosen.right == Right.MASKED:
                    found.append((path, chosen))
                break
    return found


def rows_for(
    person: Person, form: str, policies: PolicySet, steps: Iterable[Step], tree: OrgTree
) -> list[ReviewRow]:
    """Every line of one person on one form."""
    found: list[ReviewRow] = []
    holdings = _holdings(person, tree)
    steps = list(steps)
    for holding in holdings:
        anchor_code = tree.codes.get(_anchor(person, holding) or 0)
        for grant in policies.grants:
            if grant.role != holding.role:
                continue
            if grant.department is not None and grant.department != anchor_code:
                continue
            ops = set(grant.operations)
            if ops & RECORD_OPERATIONS:
                ops.add("view")
            ops.discard("approve")  # approving is the route's: the steps below
            scope = _scope_text(grant, person, holding, tree)
            for operation in sorted(ops, key=OPERATIONS.index):
                found.append(_row(person, form, operation, scope, "", holding, grant.origin.describe(), tree))
        if any(
            r.operation == "view" and r.role == holding.role and r.assignment_id == holding.assignment_id
            for r in found
        ):
            masked = _masked_fields(policies, holding.role)
            if masked:
                detail = ", ".join(path for path, _ in masked)
                source = "; ".join(sorted({rule.origin.describe() for _, rule in masked}))
                found.append(_row(person, form, "mask", "", detail, holding, source, tree))
        for rule in policies.field_rules:
            if holding.role not in rule.roles or rule.right != Right.WRITE:
                continue
            detail = ", ".join(rule.fields)
            if rule.steps:
                detail += f" (step {', '.join(sorted(rule.steps))})"
            if rule.statuses:
                detail += f" (while {', '.join(sorted(rule.statuses))})"
            found.append(_row(person, form, "write", "", detail, holding, rule.origin.describe(), tree))
        for step in steps:
            if _approves(step, person, holding, tree):
                name = step.name.get("en") or step.key
                found.append(
                    _row(
                        person,
                        form,
                        "approve",
                        "",
                        f"{step.key} ({name})",
                        holding,
                        f"route of {form}, {step.pointer}",
                        tree,
                    )
                )
    found.sort(key=lambda r: (OPERATIONS.index(r.operation), r.role, r.assignment_id or 0))
    return found


def published_forms() -> list[str]:
    return sorted(d.key for d in store.current_versions("form"))


def review(
    user_ids: Sequence[int],
    forms: Sequence[str] | None = None,
    *,
    operation: str | None = None,
    conflicts: Sequence[ConflictRow] = (),
) -> Review:
    """The report for these people on these forms (None: every published form).

    ``conflicts``: segregation-of-duties rows to render with it (see the module's docstring)."""
    tree = OrgTree.load()
    all_policies = current_policies()
    keys = list(forms) if forms is not None else published_forms()
    per_form = []
    for key in keys:
        found = current_route(key)
        steps = list(found[1].steps.values()) if found is not None else []
        per_form.append((key, PolicySet.of(key, all_policies), steps))
    result = Review(conflicts=[c for c in conflicts if c.user_id in set(user_ids)])
    result.people = people(user_ids)
    for person in result.people:
        for key, policies, steps in per_form:
            for row in rows_for(person, key, policies, steps, tree):
                if operation is None or row.operation == operation:
                    result.rows.append(row)
    return result


def conflict_rows(pairs: Iterable[tuple[str, Sequence[str]]], user_ids: Sequence[int]) -> list[ConflictRow]:
    """The people among ``user_ids`` who hold every role of a declared pair (``(title, roles)``)."""
    pairs = list(pairs)
    if not pairs:
        return []
    rows = []
    for person in people(user_ids):
        held: dict[str, list[int]] = {}
        for holding in person.holdings:
            held.setdefault(holding.role, []).append(holding.assignment_id or 0)
        for title, roles in pairs:
            if all(role in held for role in roles):
                ids = tuple(sorted(i for role in roles for i in held[role]))
                rows.append(ConflictRow(person.id, person.username, title, tuple(roles), ids))
    return rows
