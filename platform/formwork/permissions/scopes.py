"""Data scopes: which records a person may see (or act on), as SQL and for one record in Python.

A *basis* is one grant applied through one of the person's holdings of its role (a
person holding ``finance_reviewer`` twice, for two departments, has two bases for a
finance-reviewer grant). A record is in scope when some basis for the operation reaches it:

- the grant's scope: ``own`` (the person's own records), ``own_department`` (records of the
  department the role is held for — the person's own for a role held organisation-wide),
  ``department_tree`` (that department and every one below it), listed departments
  (optionally with those below), ``all``;
- a role assigned *for a department* reaches only that department and below, whatever the scope;
- ``status``: only records in those states; ``except_departments``: never those departments
  or any below them; ``filter``: an expression over the record and ``$user``.

``records_filter`` builds one SQL condition over ``records`` (OR of the bases), with the
departments as plain id lists: the person (``Subject.load``) and the department tree
(``OrgTree.load``, one query of the ``departments`` table) are read for each request and
never cached, so a move or a re-parented department counts from the next request on, and
the statement is the one a person would write by hand over the same indexes (a recursive
query inside every list statement measured three times slower, in SQLAlchemy's handling
of the larger statement rather than in the database). ``bases_seeing`` answers the same
question for one record in Python (detail pages, field rights, explain); the tests hold
both to the same answers.

Custom filters need the expression language's SQL back end: ``CustomFilterBackend`` is the
seam. Until one is registered (``use_custom_filter_backend``) a list query whose scope
needs a filter raises ``CustomFilterNotWired`` — it never falls back to filtering rows in
Python.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Protocol

from sqlalchemy import ColumnElement, and_, false, or_, true

from ..records.models import Record
from .filters import Filter
from .model import EVERYONE, Grant, PolicySet
from .subject import Holding, OrgTree, RecordFacts, Subject, record_values, user_values

# A list reads a department scope over this many departments or fewer one department at a time
# (``basis_sql_parts``): each an index range in date order, rather than a sort of all of them.
SPLIT_DEPARTMENTS = 12


class CustomFilterNotWired(RuntimeError):
    """A scope with a ``filter`` was asked for as SQL before an SQL back end was registered."""

    def __init__(self, grant: Grant):
        self.grant = grant
        super().__init__(
            f"the data scope of {grant.origin.describe()} has a filter"
            f" ({grant.filter.source if grant.filter else ''!r})"
            " and no SQL back end for filters is registered (permissions.scopes.use_custom_filter_backend)"
        )


class CustomFilterBackend(Protocol):
    """Compiles a checked filter to a condition over ``records`` (``Record.data`` for fields).

    ``user`` holds the ``$user`` values (see ``subject.user_values``; computed for this
    request), ``form_key`` the form whose fields the filter reads (``"*"`` for none).
    ``$record.status`` / ``department`` / ``owner`` / ``created_at`` / ``submitted_at`` are
    the ``records`` columns of the same names (``owner`` is ``owner_id``, ``department``
    ``department_id``). Must refuse (raise) rather than approximate.
    """

    def __call__(
        self, condition: Filter, *, user: Mapping[str, Any], form_key: str
    ) -> ColumnElement[bool]: ...


_backend: CustomFilterBackend | None = None


def use_custom_filter_backend(backend: CustomFilterBackend | None) -> None:
    """Register (or, with None, remove) the SQL back end for filters; called by the app's wiring."""
    global _backend
    _backend = backend


@dataclass(frozen=True)
class Basis:
    grant: Grant
    holding: Holding


def bases(subject: Subject, policies: PolicySet, operation: str = "view") -> list[Basis]:
    """Every (grant, holding) pair of ``subject`` whose grant allows ``operation``.

    A grant naming a department applies to holdings anchored there: a role held for it, the
    head of it (``department_head``), a member of it (``everyone``, or a role held
    organisation-wide by someone in it). Department codes are compared in SQL and Python
    through ``OrgTree``/subqueries, so this only filters on roles and the operation.
    """
    found = []
    for grant in policies.grants:
        if not grant.allows(operation):
            continue
        for holding in subject.holdings:
            if holding.role == grant.role:
                found.append(Basis(grant, holding))
    return found


# --- SQL ---------------------------------------------------------------------------------------


def _ids(tree: OrgTree, codes: Iterable[str], below: bool) -> list[int]:
    found = {dept_id for dept_id in (tree.id_of(code) for code in codes) if dept_id is not None}
    return sorted(tree.subtree(found) if below else found)


def basis_sql(
    subject: Subject,
    basis: Basis,
    tree: OrgTree,
    *,
    form_key: str,
    backend: Any = None,
    user: Mapping[str, Any] | None = None,
) -> ColumnElement[bool] | None:
    """One basis as SQL over ``records`` (None: it can reach no record).

    Departments are plain id lists worked out from ``tree`` (read for this request), so the
    statement is the one a person would write by hand over the same indexes.
    """
    parts = basis_sql_parts(subject, basis, tree, form_key=form_key, backend=backend, user=user)
    return None if not parts else parts[0] if len(parts) == 1 else or_(*parts)


def basis_sql_parts(
    subject: Subject,
    basis: Basis,
    tree: OrgTree,
    *,
    form_key: str,
    backend: Any = None,
    user: Mapping[str, Any] | None = None,
    split_departments: int = 0,
) -> list[ColumnElement[bool]]:
    """``basis_sql`` as a list of conditions whose OR it is (empty: it reaches no record).

    A scope over up to ``split_departments`` departments becomes one condition per department
    (``department_id = d AND ...``), so a list reads each department's newest records in
    index order instead of sorting all of them; otherwise the list holds one condition."""
    grant, holding = basis.grant, basis.holding
    anchor = subject.anchor(holding)
    if grant.department is not None and (anchor is None or tree.codes.get(anchor) != grant.department):
        return []
    conditions: list[Any] = []
    scope_ids: list[int] = []  # the departments of a department scope, in its own condition
    scope = grant.scope
    assert scope is not None  # a grant allowing a record operation has a scope (model.compile_policy)
    if scope.kind == "own":
        conditions.append(Record.owner_id == subject.user_id)
    elif scope.kind in ("own_department", "department_tree"):
        if anchor is None:
            return []  # someone without a department has no department to see
        if scope.kind == "own_department":
            conditions.append(Record.department_id == anchor)
        else:
            scope_ids = sorted(tree.subtree([anchor]))
            conditions.append(Record.department_id.in_(scope_ids))
    elif scope.kind == "departments":
        scope_ids = _ids(tree, scope.departments, scope.below)
        if not scope_ids:
            return []
        conditions.append(Record.department_id.in_(scope_ids))
    if holding.limited:
        conditions.append(Record.department_id.in_(sorted(tree.subtree([anchor]))))
    if grant.statuses is not None:
        conditions.append(Record.status.in_(sorted(grant.statuses)))
    if grant.except_departments:
        excluded = _ids(tree, grant.except_departments, True)
        if excluded:
            conditions.append(or_(Record.department_id.is_(None), Record.department_id.not_in(excluded)))
    if grant.filter is not None:
        compile_sql = backend or _backend
        if compile_sql is None:
            raise CustomFilterNotWired(grant)
        values = user if user is not None else user_values(subject, tree)
        conditions.append(compile_sql(grant.filter, user=values, form_key=form_key))
    if 1 < len(scope_ids) <= split_departments:
        others = conditions[1:]  # the first is the scope's ``department_id IN (...)``
        return [and_(Record.department_id == dept_id, *others) for dept_id in scope_ids]
    return [and_(true(), *conditions)]


def records_filter(
    subject: Subject,
    policies: PolicySet,
    operation: str = "view",
    *,
    backend: Any = None,
    tree: OrgTree | None = None,
) -> ColumnElement[bool]:
    """A condition over ``records``: the records of ``policies.form_key`` ``subject`` may ``operation``.

    Use it in any ``select(Record)`` (lists, search, export, KPIs):
    ``select(Record).where(records_filter(subject, policies))``. False when no basis applies.
    ``tree`` defaults to the department tree read now (one small query). Records a person was
    asked to act on (tasks) or told about (readers) are not a matter of scopes: the caller adds
    them, as ``records.access`` does today.
    """
    parts = records_filter_parts(subject, policies, operation, backend=backend, tree=tree)
    if not parts:
        return false()
    return and_(Record.form_key == policies.form_key, or_(*parts))


def records_filter_parts(
    subject: Subject,
    policies: PolicySet,
    operation: str = "view",
    *,
    backend: Any = None,
    tree: OrgTree | None = None,
) -> list[ColumnElement[bool]]:
    """``records_filter`` as the conditions (one per basis, without the form) it is the OR of: a
    list reads each through its own index (``records.listing``). Empty when no basis applies."""
    found = bases(subject, policies, operation)
    if not found:
        return []
    tree = tree if tree is not None else OrgTree.load()
    # $user for filters, worked out once per query (only when some grant has a filter).
    user = user_values(subject, tree) if any(b.grant.filter for b in found) else None
    return [
        part
        for basis in found
        for part in basis_sql_parts(
            subject,
            basis,
            tree,
            form_key=policies.form_key,
            backend=backend,
            user=user,
            split_departments=SPLIT_DEPARTMENTS,
        )
    ]


def allowed_on_form(subject: Subject, policies: PolicySet, operation: str, tree: OrgTree) -> list[Basis]:
    """The bases that let ``subject`` ``operation`` (``create``, ``administer``) the form as a whole.

    Only the grant's role and department count here; scopes are about records.
    """
    found = []
    for basis in bases(subject, policies, operation):
        department = basis.grant.department
        anchor = subject.anchor(basis.holding)
        if department is None or (anchor is not None and tree.codes.get(anchor) == department):
            found.append(basis)
    return found


# --- one record, in Python ----------------------------------------------------------------------


def basis_reaches(subject: Subject, basis: Basis, record: RecordFacts, tree: OrgTree) -> bool:
    """Does ``basis`` reach ``record``? The same rules as ``basis_sql``, for one record."""
    return not basis_misses(subject, basis, record, tree)


def basis_misses(subject: Subject, basis: Basis, record: RecordFacts, tree: OrgTree) -> str | None:
    """Why ``basis`` does not reach ``record`` (a sentence), or None when it does."""
    grant, holding = basis.grant, basis.holding
    anchor = subject.anchor(holding)
    if grant.department is not None and (anchor is None or tree.codes.get(anchor) != grant.department):
        if grant.role == EVERYONE:
            return (
                f"the grant is for the people of {grant.department}; this person is in {_code(tree, anchor)}"
            )
        return f"the grant is for {grant.role} of {grant.department}; this one is for {_code(tree, anchor)}"
    scope = grant.scope
    if scope is None:
        return "the grant has no operation on records"
    dept = record.department_id
    if scope.kind == "own" and record.owner_id != subject.user_id:
        return "the scope is own records, and this record belongs to someone else"
    if scope.kind == "own_department" and (dept is None or dept != anchor):
        return f"the scope is own_department ({_code(tree, anchor)}), the record is of {_code(tree, dept)}"
    if scope.kind == "department_tree" and (dept is None or dept not in tree.subtree([anchor])):
        return f"the scope is {_code(tree, anchor)} and below, the record is of {_code(tree, dept)}"
    if scope.kind == "departments":
        listed = {tree.id_of(code) for code in scope.departments} - {None}
        allowed = tree.subtree(listed) if scope.below else listed
        if dept is None or dept not in allowed:
            return f"the scope is {scope.describe()}, the record is of {_code(tree, dept)}"
    if holding.limited and (dept is None or dept not in tree.subtree([anchor])):
        return (
            f"the role is held for {_code(tree, anchor)} only (and below), "
            f"the record is of {_code(tree, dept)}"
        )
    if grant.statuses is not None and record.status not in grant.statuses:
        return f"only records that are {', '.join(sorted(grant.statuses))}; this one is {record.status}"
    if grant.except_departments and dept is not None:
        excluded = tree.subtree({tree.id_of(code) for code in grant.except_departments} - {None})
        if dept in excluded:
            never = ", ".join(grant.except_departments)
            return f"never records of {never} (and below); this one is of {_code(tree, dept)}"
    if grant.filter is not None:
        context = {"user": user_values(subject, tree), "record": record_values(record)}
        if not grant.filter.test(record.values, context):
            return f"the filter {grant.filter.source!r} is not true for this record"
    return None


def bases_seeing(
    subject: Subject, policies: PolicySet, record: RecordFacts, tree: OrgTree, operation: str = "view"
) -> list[Basis]:
    """The bases through which ``subject`` may ``operation`` this record (empty: out of scope)."""
    if record.form_key != policies.form_key:
        return []
    return [b for b in bases(subject, policies, operation) if basis_reaches(subject, b, record, tree)]


def _code(tree: OrgTree, dept_id: int | None) -> str:
    if dept_id is None:
        return "no department"
    return tree.codes.get(dept_id, f"department {dept_id}")
